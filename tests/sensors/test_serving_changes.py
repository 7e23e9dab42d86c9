"""A labeler's pin reaches the predictions through a Dagster run: the serving-changes sensor
requests a relabel, the run's predictions come from the pinned version, and the next version
that passes the quality gate lifts the pin (real Dagster instance, real SQLite store)."""

from __future__ import annotations

import numpy as np
import pytest
from dagster import DagsterRunStatus, Definitions, SkipReason, build_sensor_context, instance_for_test
from dagster._core.storage.dagster_run import DagsterRun

from assets.core.learning.model import FaceClassifier
from assets.core.learning.scoring import predict_faces
from assets.library import library_graph
from definitions import ASSETS, CHECKS, JOBS
from resources.state_store.records import LabelEvent, LabelKind
from resources.state_store.sqlite.store import SqliteStateStore
from sensors.serving_changes import serving_changes_sensor
from tests.support.pipeline import local_resources_at, materialize_all
from tests.support.synthetic import SPACE, fill_store


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield instance


def tick(instance, cursor, store):
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"state_store": store}, sensor_name=serving_changes_sensor.name
    )
    return serving_changes_sensor(context), context


def two_versions(store: SqliteStateStore) -> tuple[int, int]:
    versions = []
    for watermark in (3, 5):
        version = store.add_model_version(watermark, f"k{watermark}", {"accuracy": 0.9})
        store.set_gate_result(version.version, True, promote=True)
        versions.append(version.version)
    store.record_prediction_update(versions[1], 5, 10)
    return versions[0], versions[1]


def test_a_pin_requests_one_relabel_and_a_run_in_flight_makes_it_wait(instance, tmp_path):
    store = SqliteStateStore(path=str(tmp_path / "state.db"))
    v1, _ = two_versions(store)
    assert isinstance(tick(instance, None, store)[0], SkipReason)  # predictions come from the serving version
    seq = store.pin_model(v1, actor="ada")
    running = DagsterRun(job_name="retrain_job", status=DagsterRunStatus.STARTED)
    instance.add_run(running)
    result, context = tick(instance, None, store)
    assert isinstance(result, SkipReason) and running.run_id in result.skip_message
    assert context.cursor is None
    instance.report_run_failed(instance.get_run_by_id(running.run_id))
    result, _ = tick(instance, None, store)
    (request,) = result.run_requests
    assert request.run_key == f"serve-v{v1}-after-{seq}" and request.tags["faceloop/serving"] == "pinned"
    assert isinstance(tick(instance, result.cursor, store)[0], SkipReason)  # requested once


def test_back_to_automatic_and_a_second_pin_each_relabel_again(instance, tmp_path):
    store = SqliteStateStore(path=str(tmp_path / "state.db"))
    v1, v2 = two_versions(store)
    store.pin_model(v1)
    first, _ = tick(instance, None, store)
    store.record_prediction_update(v1, 3, 10)  # the relabel ran
    store.serve_automatically()
    back, _ = tick(instance, first.cursor, store)
    assert back.run_requests[0].tags["faceloop/serving_version"] == str(v2)
    store.record_prediction_update(v2, 5, 10)
    store.pin_model(v1)
    again, _ = tick(instance, back.cursor, store)
    assert again.run_requests[0].run_key not in {first.run_requests[0].run_key, back.run_requests[0].run_key}


def predictions_of(store, artifact_store, version) -> dict[str, tuple]:
    """What ``version`` predicts for every unlabeled face, computed directly (no Dagster)."""
    face_ids, embeddings = store.load_embeddings(SPACE)
    classifier = FaceClassifier.from_bytes(artifact_store.get(version.artifact_key))
    graph = library_graph(store, SPACE, face_ids, embeddings)
    columns = predict_faces(classifier, version.version, face_ids, embeddings, store.label_states(), graph)
    return {p.face_id: (p.persona_id, p.candidate_persona_id, p.confidence) for p in columns}


def same(stored: dict, expected: dict, tolerance: float) -> bool:
    """The same faces, people and (within ``tolerance``) confidences."""
    return stored.keys() == expected.keys() and all(
        stored[f][:2] == expected[f][:2] and abs(stored[f][2] - expected[f][2]) <= tolerance for f in stored
    )


def test_a_pin_relabels_through_a_run_with_the_pinned_version_until_a_passing_version_lifts_it(instance, tmp_path):
    resources = local_resources_at(tmp_path / "home", tmp_path / "library")
    store, artifacts = resources["state_store"], resources["artifact_store"]
    built = fill_store(store, faces=240, people=4, labels_per_person=0)
    defs = Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, resources=resources)
    given: set[int] = set()

    def label(people: range, per_person: int) -> None:
        """``per_person`` more labels for each of ``people`` (persona numbers)."""
        events = []
        for p in people:
            faces = [i for i in np.flatnonzero(built["person"] == p) if i not in given][:per_person]
            given.update(faces)
            events += [LabelEvent(built["face_ids"][i], LabelKind.ASSIGN, built["persona_ids"][p]) for i in faces]
        store.append_label_events(events)

    def retrain():
        run = defs.resolve_job_def("retrain_job").execute_in_process(instance=instance)
        assert run.success
        return run

    label(range(2), 3)  # v1 knows two of the four people, v2 all four: their predictions differ
    assert materialize_all(resources, instance=instance).success
    label(range(2, 4), 3)
    retrain()
    v1, v2 = sorted(store.model_versions(), key=lambda v: v.version)
    assert v2.promoted and store.latest_prediction_update()["model_version"] == v2.version

    store.pin_model(v1.version, actor="ada")
    result, _ = tick(instance, None, store)
    (request,) = result.run_requests
    run = defs.resolve_job_def("relabel_job").execute_in_process(instance=instance, tags=request.tags)
    assert run.success
    (materialization,) = run.asset_materializations_for_node("predicted_labels")
    assert materialization.metadata["model_version"].value == v1.version
    assert materialization.metadata["pinned"].value is True
    assert "pinned by ada" in materialization.metadata["served_by"].value
    assert store.latest_prediction_update()["model_version"] == v1.version
    stored = {f: (p.persona_id, p.candidate_persona_id, p.confidence) for f, p in store.predictions().items()}
    assert same(stored, predictions_of(store, artifacts, v1), tolerance=1.5e-4)  # a write skips < 1e-4 moves
    assert not same(stored, predictions_of(store, artifacts, v2), tolerance=1e-3)  # v2 would differ
    assert isinstance(tick(instance, result.cursor, store)[0], SkipReason)

    label(range(4), 1)
    run = retrain()  # v3 passes the gate: the pin is lifted, v3 relabels in that run
    v3 = store.latest_model()
    serving = store.serving()
    assert (serving.model.version, serving.pinned, serving.lifted_pin.version) == (v3.version, False, v1.version)
    (evaluation,) = run.get_asset_check_evaluations()
    assert evaluation.passed and "lifts the pin (v1 pinned by ada)" in evaluation.description
    assert evaluation.description.count("meets the") == 1  # the verdict said once
    assert store.latest_prediction_update()["model_version"] == v3.version
    assert isinstance(tick(instance, result.cursor, store)[0], SkipReason)
