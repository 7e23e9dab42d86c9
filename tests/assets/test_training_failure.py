"""Training that cannot make a classifier, or makes one the gate refuses, leaves the promoted model
serving and says why: in the run (log, observation, check) and in the app's status."""

from __future__ import annotations

from dagster import DagsterEventType, DagsterInstance

from gradio_app.classifier import model_status, status_markdown
from gradio_app.context import AppContext
from tests.support.labels import remove_labels_except
from tests.support.pipeline import materialize_all


def app_status(pipeline) -> str:
    ctx = AppContext.from_resources(pipeline.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")
    return status_markdown(ctx)


def test_training_with_no_labeled_person_keeps_the_served_model_and_says_why(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "one-person")
    store = pipeline.store
    served, predictions = store.promoted_model(), store.predictions()
    remove_labels_except(store, {})
    instance = DagsterInstance.ephemeral()

    result = materialize_all(pipeline.resources, instance=instance)

    assert result.success
    assert result.asset_materializations_for_node("face_classifier") == []
    assert store.promoted_model() == served and store.predictions() == predictions
    attempt = store.latest_model()
    assert attempt.version == served.version + 1 and attempt.artifact_key == "" and not attempt.promoted
    assert attempt.passed_gate is False and "at least 1 persona" in attempt.note
    observations = [
        e.dagster_event.event_specific_data.asset_observation
        for e in instance.all_logs(result.run_id, of_type=DagsterEventType.ASSET_OBSERVATION)
    ]
    [observation] = [o for o in observations if o.asset_key.path == ["face_classifier"]]
    assert "at least 1 persona" in observation.metadata["training_error"].value
    warnings = [r.user_message for r in instance.all_logs(result.run_id) if r.level >= 30]
    assert any("classifier not trained" in m and "at least 1 persona" in m for m in warnings)

    status = model_status(store)
    assert status.promoted == served and "at least 1 persona" in status.training_problem
    page = app_status(pipeline)
    assert "Last training did not give a new classifier" in page and "at least 1 persona" in page
    assert f"version {served.version} keeps serving" in page

    # The same labels are not retried; a new label makes training try again.
    again = materialize_all(pipeline.resources)
    assert again.success and store.latest_model() == attempt


def test_a_version_without_held_out_faces_is_refused_with_its_reason(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "one-face-each")
    store = pipeline.store
    served = store.promoted_model()
    first, second = (p.persona_id for p in store.personas()[:2])
    remove_labels_except(store, {first: 1, second: 1})

    result = materialize_all(pipeline.resources)

    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed and "no held-out faces" in evaluation.description
    latest = store.latest_model()
    assert latest.artifact_key and latest.passed_gate is False and store.promoted_model() == served
    status = model_status(store)
    assert status.training_problem.startswith(f"version {latest.version}: no held-out faces")
    assert "faces to measure accuracy on" in app_status(pipeline)  # Markdown-escaped text


def test_no_training_problem_is_shown_while_the_newest_version_serves(lfw10_pipeline):
    status = model_status(lfw10_pipeline.store)
    assert status.latest == status.promoted and status.training_problem is None
    assert "Last training did not give" not in app_status(lfw10_pipeline)
