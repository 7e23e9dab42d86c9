"""face_classifier and its blocking quality gate."""

import time

import numpy as np
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetObservation,
    Config,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
    asset_check,
)

from assets.core.learning.gate import gate_description, gate_verdict, is_checked
from assets.core.learning.metrics import confusion_markdown, per_persona_markdown
from assets.core.learning.training import TrainingError, train_classifier
from assets.jobs import WATERMARK_TAG
from assets.library import load_library
from resources.artifact_store.base import ArtifactStore
from resources.face_engine.base import FaceEngine
from resources.kubernetes import gpu_op_tags
from resources.state_store.base import StateStore
from resources.state_store.ports import LabelLog


class ClassifierConfig(Config):
    force: bool = False  # retrain even if no label arrived since the last version
    min_accuracy: float = 0.8  # quality gate on held-out accuracy


@asset(
    deps=["face_embeddings"],
    group_name="learn",
    compute_kind="tensorflow",
    output_required=False,
    op_tags=gpu_op_tags("face_classifier"),  # GPU pod on Kubernetes (resources/kubernetes.py)
)
def face_classifier(
    context: AssetExecutionContext,
    config: ClassifierConfig,
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
):
    """A new classifier version when labels arrived since the last one (else nothing to do).

    Every version is stored; only one that passes the blocking quality check is promoted, so a
    bad batch of labels never replaces the model that is serving.
    """
    watermark = run_label_watermark(context, state_store)
    latest = state_store.latest_model()
    if latest and latest.label_watermark >= watermark and not config.force:
        context.log.info(f"classifier v{latest.version} already includes label #{watermark}; nothing to train")
        return
    space = face_engine.embedding_space
    started = time.monotonic()
    library = load_library(state_store, space)  # predicted_labels, the run's next step, reuses this read
    states = state_store.label_states(upto=watermark)
    names = {p.persona_id: p.name for p in state_store.personas(include_merged=True)}
    try:
        result = train_classifier(library.face_ids, library.embeddings, library.graph, states, names, space, watermark)
    except TrainingError as exc:
        # Recorded as a refused version with no artifact: the promoted one keeps serving, the app
        # shows the reason, and the same labels are not retried until new ones arrive.
        metrics = {"training_error": str(exc), "accuracy": None, "gate_min_accuracy": config.min_accuracy}
        attempt = state_store.add_model_version(watermark, "", metrics, note=f"not trained: {exc}")
        state_store.set_gate_result(attempt.version, passed=False, promote=False)
        serving = state_store.serving_model()
        keeps = f"v{serving.version} keeps serving" if serving else "no classifier serves yet"
        context.log.warning(f"classifier not trained (attempt v{attempt.version}): {exc}; {keeps}")
        context.log_event(
            AssetObservation(
                asset_key=context.asset_key,
                metadata={
                    "training_error": str(exc),
                    "attempt": attempt.version,
                    "label_watermark": watermark,
                    "serving_version": serving.version if serving else None,
                },
            )
        )
        return
    key = f"classifiers/w{watermark:08d}-{int(time.time() * 1000)}.zip"
    artifact_store.put(key, result.classifier.to_bytes())
    metrics = {
        **result.metrics,
        "gate_min_accuracy": config.min_accuracy,
        "train_seconds": round(time.monotonic() - started, 3),
    }
    version = state_store.add_model_version(watermark, key, metrics)
    yield MaterializeResult(metadata=version_metadata(version.version, watermark, metrics, key))


def version_metadata(version: int, watermark: int, metrics: dict, key: str) -> dict:
    """A new version's materialization metadata: what people compare between versions in the UI."""
    picture = confusion_markdown(metrics["confusion"]) if metrics.get("confusion") else "_no held-out faces yet_"
    return plain_metadata(
        {
            "version": version,
            "label_watermark": watermark,
            "accuracy": metrics.get("accuracy"),
            "macro_f1": metrics.get("macro_f1"),
            "macro_auc": metrics.get("macro_auc"),
            "held_out_faces": metrics.get("held_out_faces", 0),
            "provisional": metrics["provisional"],
            "labeled_faces": metrics["labeled_faces"],
            "personas": metrics["personas"],
            "unknown_threshold": metrics["unknown_threshold"],
            "unknown_threshold_calibration": metrics["calibration"],
            "chance_calibration": metrics["chance_calibration"],
            "devices": ", ".join(metrics["devices"]),
            "train_seconds": metrics["train_seconds"],
            "per_persona": MetadataValue.md(per_persona_markdown(metrics.get("per_persona", {}))),
            "confusion_matrix": MetadataValue.md(picture),
            "labels_to_check": label_check_table(metrics["label_check"]),
            "artifact": key,
        }
    )


LABEL_CHECK_SCHEMA = TableSchema(
    columns=[
        TableColumn("rank", "int", description="1 = the label the model disagrees with most"),
        TableColumn("face_id", "string"),
        TableColumn("labeled_as", "string"),
        TableColumn("agreement", "float", description="leave-one-out probability of the given person"),
        TableColumn("model_says", "string", description="the person the model finds likeliest instead"),
    ]
)


def label_check_table(rows: list[dict]) -> MetadataValue:
    """The people's labels the model most disagrees with (trained without each), as a Dagster table."""
    records = [
        TableRecord(
            {
                "rank": rank,
                "face_id": row["face_id"],
                "labeled_as": row["persona"],
                "agreement": row["agreement"],
                "model_says": row["model_says"],
            }
        )
        for rank, row in enumerate(rows, start=1)
    ]
    return MetadataValue.table(records, schema=LABEL_CHECK_SCHEMA)


def run_label_watermark(context: AssetExecutionContext, state_store: LabelLog) -> int:
    """The label the run trains through: its ``faceloop/label_watermark`` tag (set by the label
    sensor) when it has one, so the tag on the run is what the version contains; else the newest."""
    tagged = context.run.tags.get(WATERMARK_TAG)
    return int(tagged) if tagged else state_store.label_watermark()


def plain_metadata(metadata: dict) -> dict:
    """Numpy scalars as Python numbers (Dagster's event log cannot serialize numpy types: a run on a
    persistent instance would fail after training, on small label sets where a metric is numpy),
    and floats rounded to 4 places (4 significant digits when smaller), as people read them."""
    return {key: rounded(value.item() if isinstance(value, np.generic) else value) for key, value in metadata.items()}


def rounded(value):
    if isinstance(value, float) and not isinstance(value, bool):
        return round(value, 4) if value == 0 or abs(value) >= 1e-3 else float(f"{value:.4g}")
    return value


@asset_check(asset=face_classifier, blocking=True, description="Promote only a classifier that is good enough.")
def classifier_quality_gate(context: AssetCheckExecutionContext, state_store: StateStore) -> AssetCheckResult:
    latest = state_store.latest_model()
    if latest is None:
        return AssetCheckResult(passed=False, description="no classifier version exists")
    accuracy = latest.metrics.get("accuracy")
    minimum = latest.metrics.get("gate_min_accuracy", 0.8)
    passed, reason = gate_verdict(latest.metrics, checked_version_serves=is_checked(state_store.promoted_model()))
    before = state_store.serving()
    state_store.set_gate_result(latest.version, passed, promote=passed)
    after = state_store.serving()  # a version that passes lifts a labeler's pin (rules.serving)
    lifted = before.pin if before.pin and not after.pin else None
    if not passed:
        context.log.warning(f"classifier v{latest.version} refused: {reason}")
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=gate_description(latest.version, passed, reason, after, lifted),
        metadata=plain_metadata(
            {
                "version": latest.version,
                "accuracy": accuracy,
                "min_accuracy": minimum,
                "provisional": passed and accuracy is None,
                "serving_version": after.model.version if after.model else None,
                "pinned": after.pinned,
                "lifted_pin": lifted.version if lifted else None,
            }
        ),
    )
