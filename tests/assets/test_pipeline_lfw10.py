"""The whole loop on real photos: lfw10, 3 labels per person, real deepface and TensorFlow."""

from __future__ import annotations

from dagster import AssetKey

from resources.state_store.records import ImageStatus, LabelEvent, LabelKind
from tests.support.pipeline import main_face_predictions, materialize_all


def test_every_photo_is_detected_and_every_face_embedded(lfw10_pipeline):
    store = lfw10_pipeline.store
    images = store.images()
    assert len(images) == 100
    assert all(image.status == ImageStatus.DONE for image in images)
    face_ids, vectors = store.load_embeddings("Dlib")
    assert len(store.faces()) == len(face_ids) >= 100
    assert vectors.shape == (len(face_ids), 128)


def test_sidecar_labels_become_import_label_events_on_the_main_face(lfw10_pipeline):
    events = lfw10_pipeline.store.label_events()
    assert len(events) == 30
    assert {e.source for e in events} == {"import"}
    assert all(e.face_id.endswith(":0") for e in events)


def test_at_least_95_percent_of_unlabeled_photos_get_the_right_persona(lfw10_pipeline):
    predicted = main_face_predictions(lfw10_pipeline)
    assert len(predicted) == 70
    right = sum(name == key.split("/")[0] for key, name in predicted.items())
    assert right / 70 >= 0.95, f"{right}/70 right"


def test_classifier_materialization_carries_metrics_and_confusion_matrix(lfw10_pipeline):
    [materialization] = lfw10_pipeline.first_result.asset_materializations_for_node("face_classifier")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["accuracy"] >= 0.9
    assert 0.5 < metadata["macro_auc"] <= 1.0
    assert metadata["held_out_faces"] == 30
    assert "| Ariel_Sharon |" in metadata["per_persona"]
    legend, picture = metadata["confusion_matrix"].split("\n\n")
    assert legend.startswith("Rows: labeled, columns: predicted.") and "**AS** Ariel_Sharon" in legend
    assert picture.startswith("![confusion matrix](data:image/png;base64,")


def test_quality_gate_passes_and_promotes_the_first_version(lfw10_pipeline):
    [evaluation] = lfw10_pipeline.first_result.get_asset_check_evaluations()
    assert evaluation.asset_key == AssetKey("face_classifier")
    assert evaluation.passed
    promoted = lfw10_pipeline.store.promoted_model()
    assert promoted is not None and promoted.version == 1 and promoted.passed_gate


def snapshot(store) -> dict:
    return {
        "images": store.images(),
        "faces": store.faces(),
        "embeddings": store.load_embeddings("Dlib")[0],
        "watermark": store.label_watermark(),
        "models": [(m.version, m.promoted) for m in store.model_versions()],
        "predictions": store.predictions(),
        "prediction_update": store.latest_prediction_update(),
    }


def test_materializing_again_adds_nothing_and_changes_nothing(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "again")
    before = snapshot(pipeline.store)
    result = materialize_all(pipeline.resources)
    assert result.success
    assert snapshot(pipeline.store) == before
    assert result.asset_materializations_for_node("face_classifier") == []  # nothing to retrain


def test_a_new_label_retrains_and_a_rejection_is_respected(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "labels")
    store = pipeline.store
    predictions = store.predictions()
    target = next(p for p in predictions.values() if p.persona_id is not None)
    assigned = next(p for p in predictions.values() if p.persona_id is not None and p.face_id != target.face_id)
    seqs = store.append_label_events(
        [
            LabelEvent(target.face_id, LabelKind.REJECT, target.persona_id, source="app"),
            LabelEvent(assigned.face_id, LabelKind.CONFIRM, assigned.persona_id, source="app"),
        ]
    )
    assert seqs == sorted(seqs) and seqs[0] > 30
    assert materialize_all(pipeline.resources).success
    latest = store.latest_model()
    assert latest.version == 2 and latest.label_watermark == seqs[-1] and latest.promoted
    after = store.predictions()
    assert after[target.face_id].persona_id != target.persona_id  # "not this persona" holds
    assert after[target.face_id].candidate_persona_id != target.persona_id
    assert assigned.face_id not in after  # a human label replaces the prediction
    assert store.latest_prediction_update()["label_watermark"] == seqs[-1]


def test_a_version_failing_the_gate_is_stored_but_the_previous_keeps_serving(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "gate")
    store = pipeline.store
    before = store.predictions()
    result = materialize_all(
        pipeline.resources,
        run_config={"ops": {"face_classifier": {"config": {"force": True, "min_accuracy": 1.01}}}},
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    versions = store.model_versions()
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].passed_gate is False and not versions[0].promoted
    assert store.promoted_model().version == 1
    assert store.predictions() == before
