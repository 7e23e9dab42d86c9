"""A retrain run trains through the label its `faceloop/label_watermark` tag names, not further."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from assets.core.learning.model import FaceClassifier
from assets.jobs import WATERMARK_TAG
from definitions import ASSETS, CHECKS
from resources.state_store.records import LabelEvent, LabelKind
from tests.support.pipeline import local_resources_at, materialize_all
from tests.support.synthetic import fill_store

RETRAIN = [a for a in ASSETS if {key.path[-1] for key in a.keys} & {"face_classifier", "predicted_labels"}]


def test_a_label_written_after_the_sensor_read_the_log_waits_for_the_next_retrain(tmp_path):
    resources = local_resources_at(tmp_path / "home", tmp_path / "library")
    store = resources["state_store"]
    built = fill_store(store, faces=200, people=4, labels_per_person=3)
    assert materialize_all(resources).success
    unlabeled = [i for i, f in enumerate(built["face_ids"]) if f not in built["labeled"]]

    def label(i: int) -> int:
        event = LabelEvent(built["face_ids"][i], LabelKind.ASSIGN, built["persona_ids"][built["person"][i]])
        return store.append_label_events([event])[-1]

    tagged, late = label(unlabeled[0]), label(unlabeled[1])  # the sensor saw `tagged`; `late` came after
    result = materialize(
        [*RETRAIN, *CHECKS],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        tags={WATERMARK_TAG: str(tagged)},
    )
    assert result.success
    version = store.latest_model()
    assert version.label_watermark == tagged < late
    classifier = FaceClassifier.from_bytes(resources["artifact_store"].get(version.artifact_key))
    assert built["face_ids"][unlabeled[0]] in classifier.labeled_face_ids
    assert built["face_ids"][unlabeled[1]] not in classifier.labeled_face_ids
    [materialization] = result.asset_materializations_for_node("face_classifier")
    assert materialization.metadata["label_watermark"].value == tagged
