"""Sensor ticks against a persistent test instance: cursor, in-flight skip, run keys."""

from __future__ import annotations

import threading
import time

import pytest
from dagster import DagsterRunStatus, SkipReason, build_sensor_context, instance_for_test
from dagster._core.storage.dagster_run import DagsterRun

from resources.image_source.local import LocalFolderImageSource
from resources.state_store.records import LabelEvent, LabelKind, PhotoEntry
from resources.state_store.sqlite.store import SqliteStateStore
from sensors import new_labels as new_labels_module
from sensors.new_images import new_images_sensor
from sensors.new_labels import new_labels_sensor


@pytest.fixture(autouse=True)
def short_watch(monkeypatch):
    """Ticks look once unless a test says otherwise (the daemon's ticks watch for 4.5 s)."""
    monkeypatch.setattr(new_labels_module, "LABELS_WATCH_S", 0.0)


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dagster").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        yield instance


@pytest.fixture
def store(tmp_path) -> SqliteStateStore:
    return SqliteStateStore(path=str(tmp_path / "state.db"))


def add_run(instance, job_name: str, sensor_name: str, status: DagsterRunStatus) -> str:
    run = DagsterRun(job_name=job_name, status=status, tags={"dagster/sensor_name": sensor_name})
    instance.add_run(run)
    return run.run_id


def tick(sensor, instance, cursor, **resources):
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources, sensor_name=sensor.name)
    return sensor(context), context


def test_new_labels_request_a_retrain_keyed_by_the_watermark(instance, store):
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    assert isinstance(result, SkipReason)
    seqs = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1), LabelEvent("f2", LabelKind.ASSIGN, 1)])
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    [request] = result.run_requests
    assert request.run_key == f"labels-upto-{seqs[-1]}"
    assert request.tags["faceloop/retrain"] == "true"
    assert result.cursor == str(seqs[-1])


def test_labels_already_requested_do_not_retrain_again(instance, store):
    [seq] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1)])
    result, _ = tick(new_labels_sensor, instance, str(seq), state_store=store)
    assert isinstance(result, SkipReason)


def test_skips_without_advancing_the_cursor_while_a_retrain_is_in_flight(instance, store):
    [first] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1)])
    run_id = add_run(instance, "retrain_job", "new_labels_sensor", DagsterRunStatus.STARTED)
    [second] = store.append_label_events([LabelEvent("f2", LabelKind.ASSIGN, 2)])
    result, context = tick(new_labels_sensor, instance, str(first), state_store=store)
    assert isinstance(result, SkipReason) and run_id in result.skip_message
    assert context.cursor == str(first)  # nothing advanced: label #second waits, it is not lost
    instance.report_run_failed(instance.get_run_by_id(run_id))
    result, _ = tick(new_labels_sensor, instance, str(first), state_store=store)
    assert result.run_requests[0].run_key == f"labels-upto-{second}"


def test_runs_of_other_sensors_or_finished_runs_do_not_block(instance, store):
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1)])
    add_run(instance, "retrain_job", "someone_else", DagsterRunStatus.STARTED)
    add_run(instance, "retrain_job", "new_labels_sensor", DagsterRunStatus.SUCCESS)
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    assert len(result.run_requests) == 1


def test_a_tick_that_is_watching_requests_the_retrain_as_soon_as_a_label_lands(instance, store, monkeypatch):
    monkeypatch.setattr(new_labels_module, "LABELS_WATCH_S", 4.0)
    written = {}

    def label_later():
        time.sleep(0.5)
        written["at"] = time.monotonic()
        written["seq"] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1)])[-1]

    writer = threading.Thread(target=label_later)
    writer.start()
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    seen_after = time.monotonic() - written["at"]
    writer.join()
    assert result.run_requests[0].run_key == f"labels-upto-{written['seq']}"
    assert seen_after < 0.5  # one poll (0.1 s) after the write, not the next tick 5 s later


def test_a_watching_tick_with_nothing_new_ends_in_time_for_the_next_daemon_loop(instance, store, monkeypatch):
    monkeypatch.setattr(new_labels_module, "LABELS_WATCH_S", 1.0)
    started = time.monotonic()
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    assert isinstance(result, SkipReason)
    assert 0.8 <= time.monotonic() - started < 1.5
    assert new_labels_module.LABELS_WATCH_S < 5  # the daemon starts ticks every 5 s at most


def test_labels_already_in_a_classifier_version_request_no_run(instance, store):
    """After the demo's first materialization the sensor's cursor is empty, but v1 has every label."""
    [seq] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1)])
    store.add_model_version(seq, "classifiers/v1.zip", {"accuracy": 1.0})
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    assert isinstance(result, SkipReason) and f"after #{seq}" in result.skip_message
    [later] = store.append_label_events([LabelEvent("f2", LabelKind.ASSIGN, 1)])
    result, _ = tick(new_labels_sensor, instance, None, state_store=store)
    assert result.run_requests[0].tags["faceloop/label_watermark"] == str(later)


def test_new_photos_request_one_ingest_until_they_are_registered(instance, store, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "a.jpg").write_bytes(b"a")
    source = LocalFolderImageSource(root=str(library))
    result, _ = tick(new_images_sensor, instance, None, state_store=store, image_source=source)
    [request] = result.run_requests
    assert request.run_key.startswith("photos-") and request.tags["faceloop/new_photos"] == "1"
    again, _ = tick(new_images_sensor, instance, result.cursor, state_store=store, image_source=source)
    assert isinstance(again, SkipReason)  # same pending photos are never requested twice
    (entry,) = source.list_photos()
    store.register_photo(entry, "hash-a")
    done, _ = tick(new_images_sensor, instance, result.cursor, state_store=store, image_source=source)
    assert isinstance(done, SkipReason) and "no new" in done.skip_message
    (library / "b.jpg").write_bytes(b"b")
    more, _ = tick(new_images_sensor, instance, result.cursor, state_store=store, image_source=source)
    assert more.run_requests[0].run_key != request.run_key


def test_new_photos_wait_while_an_ingest_is_in_flight(instance, store, tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"a")
    source = LocalFolderImageSource(root=str(tmp_path))
    add_run(instance, "ingest_job", "new_images_sensor", DagsterRunStatus.NOT_STARTED)
    result, context = tick(new_images_sensor, instance, None, state_store=store, image_source=source)
    assert isinstance(result, SkipReason) and context.cursor is None


def test_a_photo_registered_earlier_but_changed_on_disk_is_pending_again(instance, store, tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"a")
    source = LocalFolderImageSource(root=str(tmp_path))
    (entry,) = source.list_photos()
    store.register_photo(PhotoEntry(entry.key, entry.size, entry.mtime), "hash-a")
    photo.write_bytes(b"changed content")
    result, _ = tick(new_images_sensor, instance, None, state_store=store, image_source=source)
    assert len(result.run_requests) == 1


def test_checked_labels_alone_start_no_retrain_and_a_new_label_after_them_does(instance, store):
    [assigned] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, 1)])
    [checked] = store.append_label_events([LabelEvent("f1", LabelKind.CHECK, 1)])
    result, _ = tick(new_labels_sensor, instance, str(assigned), state_store=store)
    assert not result.run_requests
    assert result.cursor == str(checked)
    [relabeled] = store.append_label_events([LabelEvent("f2", LabelKind.ASSIGN, 1)])
    result, _ = tick(new_labels_sensor, instance, result.cursor, state_store=store)
    [request] = result.run_requests
    assert request.run_key == f"labels-upto-{relabeled}"
