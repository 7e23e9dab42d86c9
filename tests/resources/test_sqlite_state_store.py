"""The SQLite store against a real file: label log semantics, idempotent ingest, cheap writes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from resources.state_store import SqliteStateStore
from resources.state_store.records import (
    FaceRecord,
    ImageStatus,
    LabelEvent,
    LabelKind,
    PhotoEntry,
    Prediction,
)


@pytest.fixture
def store(tmp_path) -> SqliteStateStore:
    return SqliteStateStore(path=str(tmp_path / "state.db"))


def face(image_id: str, index: int = 0) -> FaceRecord:
    return FaceRecord(f"{image_id}:{index}", image_id, index, (1, 2, 3, 4), 0.9, "t", "a")


def test_database_file_uses_write_ahead_logging(store):
    store.label_watermark()
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_content_under_two_names_is_one_image(store):
    assert store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "hash1")
    assert not store.register_photo(PhotoEntry("copy/a.jpg", 10, 2.0), "hash1")
    assert [i.image_id for i in store.images()] == ["hash1"]
    assert set(store.known_photos()) == {"a.jpg", "copy/a.jpg"}


def test_duplicate_keeps_a_label_the_first_copy_lacked(store):
    store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "hash1")
    store.register_photo(PhotoEntry("b.jpg", 10, 1.0, persona_hint="Ada"), "hash1")
    assert store.images()[0].import_persona == "Ada"


def test_unreadable_photo_is_remembered_with_its_reason(store):
    store.register_photo(PhotoEntry("bad.jpg", 0, 1.0), None, "permission denied")
    assert store.unreadable_photos() == {"bad.jpg": "permission denied"}
    assert store.images() == []


def test_detection_stores_faces_status_and_import_labels_atomically(store):
    store.register_photo(PhotoEntry("a.jpg", 10, 1.0, "Ada"), "img")
    ada = store.ensure_persona("Ada")
    store.record_detection(
        "img",
        ImageStatus.DONE,
        size=(640, 480),
        faces=[face("img"), face("img", 1)],
        label_events=[LabelEvent("img:0", LabelKind.ASSIGN, ada.persona_id, source="import")],
    )
    [image] = store.images()
    assert (image.status, image.width, image.height) == (ImageStatus.DONE, 640, 480)
    assert [f.face_id for f in store.faces()] == ["img:0", "img:1"]
    assert store.label_states()["img:0"].persona_id == ada.persona_id


def test_failed_detection_writes_nothing(store):
    store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "img")
    bad_event = LabelEvent("img:0", "not-a-kind", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.record_detection("img", ImageStatus.DONE, faces=[face("img")], label_events=[bad_event])
    assert store.faces() == [] and store.images()[0].status == ImageStatus.NEW


def test_label_sequence_numbers_strictly_increase(store):
    seqs = store.append_label_events([LabelEvent(f"f{i}", LabelKind.ASSIGN, 1) for i in range(5)])
    seqs += store.append_label_events([LabelEvent("f9", LabelKind.REMOVE, None)])
    assert seqs == sorted(seqs) and len(set(seqs)) == 6
    assert store.label_watermark() == seqs[-1]
    assert [e.seq for e in store.label_events(since=seqs[2])] == seqs[3:]


def test_current_label_is_derived_from_the_event_log(store):
    ada, bob = store.ensure_persona("Ada").persona_id, store.ensure_persona("Bob").persona_id
    store.append_label_events(
        [
            LabelEvent("f1", LabelKind.ASSIGN, ada),
            LabelEvent("f1", LabelKind.REJECT, ada),  # rejecting the current label clears it
            LabelEvent("f2", LabelKind.CONFIRM, bob),
            LabelEvent("f3", LabelKind.ASSIGN, ada),
            LabelEvent("f3", LabelKind.REMOVE, None),
            LabelEvent("f4", LabelKind.REJECT, bob),
            LabelEvent("f4", LabelKind.ASSIGN, bob),  # a later assign overrides a rejection
        ]
    )
    states = store.label_states()
    assert states["f1"].persona_id is None and states["f1"].rejected == {ada}
    assert states["f2"].persona_id == bob
    assert states["f3"].persona_id is None
    assert states["f4"].persona_id == bob and states["f4"].rejected == frozenset()
    assert store.label_states(upto=1)["f1"].persona_id == ada


def test_merged_persona_labels_count_for_the_target(store):
    ada, ada2 = store.ensure_persona("Ada").persona_id, store.ensure_persona("Ada L.").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada2)])
    watermark = store.label_watermark()
    store.merge_personas(ada2, ada)
    assert store.label_states()["f1"].persona_id == ada
    assert [p.name for p in store.personas()] == ["Ada"]
    assert store.label_watermark() > watermark  # watchers of the log see the merge


def test_persona_names_are_trimmed_and_validated(store):
    assert store.ensure_persona("  Ada   Lovelace ").name == "Ada Lovelace"
    assert store.ensure_persona("Ada Lovelace").persona_id == store.ensure_persona("Ada Lovelace").persona_id
    for bad in ["", "   ", "x" * 121]:
        with pytest.raises(ValueError):
            store.ensure_persona(bad)
    bob = store.ensure_persona("Bob")
    with pytest.raises(ValueError):
        store.rename_persona(bob.persona_id, "Ada Lovelace")


def test_only_changed_predictions_are_written(store):
    first = [Prediction(f"f{i}", 1, 0.9, 1) for i in range(4)]
    assert store.write_predictions(first) == 4
    second = [Prediction(f"f{i}", 1, 0.9, 2) for i in range(3)] + [Prediction("f3", None, 0.4, 2)]
    assert store.write_predictions(second) == 1
    assert store.predictions()["f3"].persona_id is None
    assert store.write_predictions([], drop=["f0", "missing"]) == 1
    assert "f0" not in store.predictions()


def test_embeddings_round_trip_per_model_space(store):
    vectors = np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32)
    store.put_embeddings("Dlib", ["b", "a", "c"], vectors)
    ids, matrix = store.load_embeddings("Dlib")
    assert ids == ["a", "b", "c"]
    np.testing.assert_array_equal(matrix[0], vectors[1])
    assert store.load_embeddings("Facenet512")[0] == []


def test_promoting_a_version_demotes_the_previous(store):
    v1 = store.add_model_version(3, "k1", {"accuracy": 0.9})
    store.set_gate_result(v1.version, True, promote=True)
    v2 = store.add_model_version(5, "k2", {"accuracy": 0.1})
    store.set_gate_result(v2.version, False, promote=False)
    assert store.promoted_model().version == v1.version
    v3 = store.add_model_version(7, "k3", {"accuracy": 0.95})
    store.set_gate_result(v3.version, True, promote=True)
    assert [m.version for m in store.model_versions() if m.promoted] == [v3.version]
    assert store.latest_model().version == v3.version


def test_concurrent_writers_lose_no_label(tmp_path):
    path = str(tmp_path / "state.db")
    SqliteStateStore(path=path).label_watermark()

    def writer(name: str) -> None:
        store = SqliteStateStore(path=path)
        for i in range(50):
            store.append_label_events([LabelEvent(f"{name}-{i}", LabelKind.ASSIGN, 1, source=name)])

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = SqliteStateStore(path=path).label_events()
    assert len(events) == 200 and len({e.seq for e in events}) == 200
