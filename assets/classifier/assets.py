"""face_classifier and its blocking quality gate."""

import time

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.classifier.metrics import confusion_matrix_markdown, per_persona_markdown
from assets.classifier.training import TrainingError, train_classifier
from resources.artifact_store import ArtifactStore
from resources.face_engine import FaceEngine
from resources.state_store import StateStore

GPU_OP_TAGS: dict = {}  # replaced by deployment config for Kubernetes GPU steps


class ClassifierConfig(Config):
    force: bool = False  # retrain even if no label arrived since the last version
    min_accuracy: float = 0.8  # quality gate on held-out accuracy


@asset(
    deps=["face_embeddings"],
    group_name="learn",
    compute_kind="tensorflow",
    output_required=False,
    op_tags=GPU_OP_TAGS,
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
    watermark = state_store.label_watermark()
    latest = state_store.latest_model()
    if latest and latest.label_watermark >= watermark and not config.force:
        context.log.info(f"classifier v{latest.version} already includes label #{watermark}; nothing to train")
        return
    started = time.monotonic()
    try:
        result = train_classifier(state_store, face_engine.embedding_space, watermark)
    except TrainingError as exc:
        context.log.warning(f"classifier not trained: {exc}; the promoted version keeps serving")
        return
    key = f"classifiers/w{watermark:08d}-{int(time.time() * 1000)}.zip"
    artifact_store.put(key, result.classifier.to_bytes())
    metrics = {
        **result.metrics,
        "gate_min_accuracy": config.min_accuracy,
        "train_seconds": round(time.monotonic() - started, 3),
    }
    version = state_store.add_model_version(watermark, key, metrics)
    picture = (
        confusion_matrix_markdown(result.held_out_true, result.held_out_proba.argmax(axis=1), result.persona_names)
        if len(result.held_out_true)
        else "_no held-out faces yet_"
    )
    yield MaterializeResult(
        metadata={
            "version": version.version,
            "label_watermark": watermark,
            "accuracy": metrics.get("accuracy"),
            "macro_f1": metrics.get("macro_f1"),
            "macro_auc": metrics.get("macro_auc"),
            "held_out_faces": metrics.get("held_out_faces", 0),
            "labeled_faces": metrics["labeled_faces"],
            "personas": metrics["personas"],
            "knownness_threshold": metrics["knownness_threshold"],
            "devices": ", ".join(metrics["devices"]),
            "train_seconds": metrics["train_seconds"],
            "per_persona": MetadataValue.md(per_persona_markdown(metrics.get("per_persona", {}))),
            "confusion_matrix": MetadataValue.md(picture),
            "artifact": key,
        }
    )


@asset_check(asset=face_classifier, blocking=True, description="Promote only a classifier that is good enough.")
def classifier_quality_gate(context: AssetCheckExecutionContext, state_store: StateStore) -> AssetCheckResult:
    latest = state_store.latest_model()
    if latest is None:
        return AssetCheckResult(passed=False, description="no classifier version exists")
    accuracy = latest.metrics.get("accuracy")
    minimum = latest.metrics.get("gate_min_accuracy", 0.8)
    passed = accuracy is not None and accuracy >= minimum and latest.metrics.get("personas", 0) >= 2
    state_store.set_gate_result(latest.version, passed, promote=passed)
    serving = state_store.promoted_model()
    verdict = "promoted" if passed else f"not promoted; v{serving.version if serving else '-'} keeps serving"
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=f"v{latest.version}: held-out accuracy {accuracy} vs minimum {minimum}: {verdict}",
        metadata={"version": latest.version, "accuracy": accuracy, "min_accuracy": minimum},
    )
