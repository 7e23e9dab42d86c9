"""End to end with a real Dagster daemon: labels written through the store API (as the app
writes them) retrain and relabel by themselves, and a photo dropped in the library is ingested."""

from __future__ import annotations

import itertools
import shutil

import cv2
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from resources.state_store.records import ImageStatus, LabelEvent, LabelKind
from tests.support.daemon import running_daemon, wait_for

TIMEOUT_S = 240


def load_classifier(pipeline, version):
    from assets.core.learning.model import FaceClassifier

    return FaceClassifier.from_bytes(pipeline.resources["artifact_store"].get(version.artifact_key))


def retrain_runs(instance: DagsterInstance, statuses=None):
    return instance.get_run_records(RunsFilter(job_name="retrain_job", statuses=statuses or []))


def test_labels_and_photos_flow_through_the_daemon(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "loop")
    store = pipeline.store
    dagster_home = tmp_path / "dagster_home"
    env = {"FACELOOP_LABELS_SENSOR_INTERVAL": "1", "FACELOOP_IMAGES_SENSOR_INTERVAL": "2"}
    predictions = store.predictions()
    known = [p for p in predictions.values() if p.persona_id is not None]
    rejected, corrected, late = known[0], known[1], known[2]
    other = next(p for p in store.personas() if p.persona_id != corrected.persona_id)

    with running_daemon(pipeline.home, pipeline.library, dagster_home, env):
        instance = DagsterInstance.from_config(str(dagster_home))
        # Batch 1: a rejection and a correction, written exactly as the app writes them.
        first = store.append_label_events(
            [
                LabelEvent(rejected.face_id, LabelKind.REJECT, rejected.persona_id, source="app"),
                LabelEvent(corrected.face_id, LabelKind.ASSIGN, other.persona_id, source="app"),
            ]
        )[-1]
        trained = wait_for(
            lambda: (m := store.latest_model()) and m.label_watermark >= first and m,
            TIMEOUT_S,
            what="a retrain to train on batch 1",
        )
        # Batch 2 lands after that retrain read the log (its run is usually still finishing):
        # it cannot be in that model, so it must reach the next one by itself.
        [second] = store.append_label_events([LabelEvent(late.face_id, LabelKind.CONFIRM, late.persona_id)])
        assert trained.label_watermark < second
        update = wait_for(
            lambda: (u := store.latest_prediction_update()) and u["label_watermark"] >= second and u,
            TIMEOUT_S,
            what="predictions reflecting the late label",
        )
        assert update["label_watermark"] >= second > first
        newest = store.latest_model()
        assert newest.version > trained.version and newest.label_watermark >= second and newest.promoted
        assert late.face_id in set(load_classifier(pipeline, newest).labeled_face_ids)
        in_flight = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
        wait_for(lambda: not retrain_runs(instance, in_flight), TIMEOUT_S, what="retrain runs to finish")
        runs = retrain_runs(instance)
        assert len(runs) >= 2 and all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in runs)
        windows = sorted((r.start_time, r.end_time) for r in runs)
        assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(windows))

        after = store.predictions()
        assert after[rejected.face_id].persona_id != rejected.persona_id
        assert corrected.face_id not in after and late.face_id not in after  # human labels now

        # A new photo dropped into the library is ingested and gets a prediction.
        source_photo = next(p for p in (pipeline.library / "Tony_Blair").glob("*.jpg"))
        mirrored = pipeline.library / "new" / "tony_mirrored.jpg"
        mirrored.parent.mkdir()
        cv2.imwrite(str(mirrored), cv2.flip(cv2.imread(str(source_photo)), 1))
        image = wait_for(
            lambda: next(
                (i for i in store.images() if i.key == "new/tony_mirrored.jpg" and i.status != ImageStatus.NEW), None
            ),
            TIMEOUT_S,
            what="the new photo to be ingested",
        )
        assert image.status == ImageStatus.DONE
        face_id = f"{image.image_id}:0"
        prediction = wait_for(lambda: store.predictions().get(face_id), TIMEOUT_S, what="a prediction for it")
        names = {p.persona_id: p.name for p in store.personas()}
        assert names.get(prediction.persona_id) == "Tony_Blair"
    shutil.rmtree(tmp_path / "loop" / "library", ignore_errors=True)
