"""The StateStore contract, run against SQLite and a real Cosmos DB protocol server alike.

Tests that take ``store``/``store_factory`` run on both backends; those that take a ``cosmos_*``
fixture pin down what only the Cosmos store has to get right (etags, batches, paging, retries).
Merges, renames and undo: test_state_store_merges_and_undo.py; the property test:
test_state_store_properties.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from azure.cosmos.exceptions import CosmosHttpResponseError
from dagster import EnvVar

from resources.state_store.cosmos import PREDICTION_BUCKETS, CosmosStateStore, bucket_of
from resources.state_store.records import (
    FaceRecord,
    ImageStatus,
    LabelEvent,
    LabelKind,
    PhotoEntry,
    Prediction,
    PredictionColumns,
)
from tests.support.threads import run_threads

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def face(image_id: str, index: int = 0) -> FaceRecord:
    return FaceRecord(f"{image_id}:{index}", image_id, index, (1, 2, 3, 4), 0.9, "t", "a")


# -- the contract, on every backend -------------------------------------------------------------
def test_same_content_under_two_names_is_one_image(store):
    assert store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "hash1")
    assert not store.register_photo(PhotoEntry("copy/a.jpg", 10, 2.0), "hash1")
    assert [i.image_id for i in store.images()] == ["hash1"]
    assert store.known_photos() == {"a.jpg": (10, 1.0), "copy/a.jpg": (10, 2.0)}


def test_duplicate_keeps_a_label_the_first_copy_lacked(store):
    store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "hash1")
    store.register_photo(PhotoEntry("b.jpg", 10, 1.0, persona_hint="Ada"), "hash1")
    assert store.images()[0].import_persona == "Ada"


def test_unreadable_photo_is_remembered_with_its_reason(store):
    store.register_photo(PhotoEntry("bad.jpg", 0, 1.0), None, "permission denied")
    assert store.unreadable_photos() == {"bad.jpg": "permission denied"}
    assert store.images() == []


def test_images_are_listed_oldest_first_filtered_by_status_and_limited(store):
    for n in range(5):
        store.register_photo(PhotoEntry(f"{n}.jpg", 10, 1.0), f"img{n}")
    store.record_detection("img1", ImageStatus.NO_FACE, reason="no face found")
    assert [i.image_id for i in store.images(ImageStatus.NEW, limit=3)] == ["img0", "img2", "img3"]
    [done] = store.images(ImageStatus.NO_FACE)
    assert (done.image_id, done.reason) == ("img1", "no face found")


def test_detection_stores_faces_status_and_import_labels_together(store):
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
    assert store.faces(["img:1", "missing:0", "img:0"]) == [face("img", 1), face("img")]
    assert store.label_states()["img:0"].persona_id == ada.persona_id


def test_failed_detection_writes_nothing(store):
    store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "img")
    bad_event = LabelEvent("img:0", "not-a-kind", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.record_detection("img", ImageStatus.DONE, faces=[face("img")], label_events=[bad_event])
    assert store.faces() == [] and store.images()[0].status == ImageStatus.NEW
    assert store.label_watermark() == 0


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
    assert [p.merged_into for p in store.personas(include_merged=True)] == [None, ada]
    assert store.label_watermark() > watermark  # watchers of the log see the merge
    assert [e.face_id for e in store.label_events()] == ["f1"]  # the marker is not a face label


def test_persona_names_are_trimmed_and_validated(store):
    assert store.ensure_persona("  Ada   Lovelace ").name == "Ada Lovelace"
    assert store.ensure_persona("Ada Lovelace").persona_id == store.ensure_persona("Ada Lovelace").persona_id
    for bad in ["", "   ", "x" * 121]:
        with pytest.raises(ValueError):
            store.ensure_persona(bad)
    bob = store.ensure_persona("Bob")
    with pytest.raises(ValueError):
        store.rename_persona(bob.persona_id, "Ada Lovelace")


def test_a_renamed_persona_frees_its_old_name(store):
    bob = store.ensure_persona("Bob")
    assert store.rename_persona(bob.persona_id, "Robert") == type(bob)(bob.persona_id, "Robert")
    assert store.ensure_persona("Robert").persona_id == bob.persona_id
    assert store.ensure_persona("Bob").persona_id != bob.persona_id
    with pytest.raises(KeyError):
        store.rename_persona(9999, "Nobody")


def test_only_changed_predictions_are_written(store):
    first = [Prediction(f"f{i}", 1, 0.9, 1) for i in range(4)]
    assert store.write_predictions(first) == 4
    second = [Prediction(f"f{i}", 1, 0.9, 2) for i in range(3)] + [Prediction("f3", None, 0.4, 2)]
    assert store.write_predictions(second) == 1
    assert store.predictions()["f3"].persona_id is None
    assert store.write_predictions([], drop=["f0", "missing"]) == 1
    assert "f0" not in store.predictions()


def test_many_predictions_round_trip_and_a_rewrite_writes_only_the_changes(store):
    many = [Prediction(f"img{i}:0", i % 7 or None, 0.5 + i / 1000, 1, i % 7) for i in range(450)]
    assert store.write_predictions(many) == 450
    assert store.predictions() == {p.face_id: p for p in many}
    again = [*many[:-5], *(Prediction(p.face_id, 3, 0.99, 2, 3) for p in many[-5:])]
    assert store.write_predictions(again, drop=[p.face_id for p in many[:10]]) == 15
    assert len(store.predictions()) == 440


def test_prediction_columns_are_written_like_prediction_objects(store):
    columns = PredictionColumns(
        face_ids=[f"img{i}:0" for i in range(6)],
        candidate_persona_ids=np.array([1, 2, 3, 1, 2, 3]),
        known=np.array([True, True, False, True, False, True]),
        confidences=np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.95]),
        model_version=4,
    )
    assert store.write_predictions(columns) == 6
    assert store.predictions() == {p.face_id: p for p in columns}
    assert store.predictions()["img2:0"] == Prediction("img2:0", None, 0.3, 4, 3)
    moved = PredictionColumns(
        columns.face_ids,
        columns.candidate_persona_ids,
        np.array([True, True, True, True, False, True]),  # img2:0 is now known
        columns.confidences + np.array([0, 0, 0, 0.00005, 0.1, 0]),  # img4:0 moved, img3:0 barely
        model_version=5,
    )
    assert store.write_predictions(moved) == 2
    assert store.predictions()["img2:0"].persona_id == 3
    assert store.predictions()["img3:0"].model_version == 4


def test_embeddings_round_trip_per_model_space(store):
    store.register_photo(PhotoEntry("a.jpg", 1, 1.0), "a")
    store.record_detection("a", ImageStatus.DONE, faces=[face("a", i) for i in range(3)])
    assert [f.face_id for f in store.faces_missing_embedding("Dlib", 10)] == ["a:0", "a:1", "a:2"]
    vectors = np.random.default_rng(0).normal(size=(2, 128)).astype(np.float32)
    store.put_embeddings("Dlib", ["a:1", "a:0"], vectors)
    ids, matrix = store.load_embeddings("Dlib")
    assert ids == ["a:0", "a:1"]
    np.testing.assert_array_equal(matrix[0], vectors[1])
    assert [f.face_id for f in store.faces_missing_embedding("Dlib", 10)] == ["a:2"]
    assert len(store.faces_missing_embedding("Facenet512", 2)) == 2
    assert store.load_embeddings("Facenet512")[0] == []


def test_library_stamp_moves_with_every_embedding_or_neighbour_write_and_only_then(store):
    face_ids = [f"img{i}:0" for i in range(3)]
    for face_id in face_ids:
        store.register_photo(PhotoEntry(f"{face_id[:-2]}.jpg", 1, 0.0), face_id[:-2])
        store.record_detection(face_id[:-2], ImageStatus.DONE, faces=[face(face_id[:-2])])
    stamps = [store.library_stamp("m")]
    store.put_embeddings("m", face_ids[:2], np.eye(2, 4, dtype=np.float32))
    stamps.append(store.library_stamp("m"))
    store.put_embeddings("m", face_ids[2:], np.eye(1, 4, dtype=np.float32))
    stamps.append(store.library_stamp("m"))
    other_space = store.library_stamp("other")
    store.put_neighbours("m", face_ids, np.array([[face_ids[(i + 1) % 3]] for i in range(3)]), np.ones((3, 1)))
    stamps.append(store.library_stamp("m"))
    assert len(set(stamps)) == len(stamps)  # each write moved it
    persona = store.ensure_persona("Ada").persona_id
    store.append_label_events([LabelEvent(face_ids[0], LabelKind.ASSIGN, persona)])
    assert store.library_stamp("m") == stamps[-1]  # labels are not the library
    assert store.library_stamp("other") == other_space  # nor is another model space


def test_face_graph_round_trips_as_row_positions_and_only_when_complete(store):
    face_ids = [f"img{i}:0" for i in range(6)]
    for face_id in face_ids:
        store.register_photo(PhotoEntry(f"{face_id[:-2]}.jpg", 1, 0.0), face_id[:-2])
        store.record_detection(face_id[:-2], ImageStatus.DONE, faces=[face(face_id[:-2])])
    store.put_embeddings("m", face_ids, np.eye(6, dtype=np.float32))
    loaded_ids, _ = store.load_embeddings("m")
    assert store.load_neighbours("m", loaded_ids) is None  # nothing linked yet: callers compute the graph
    neighbours = np.array([[face_ids[(i + 1) % 6], face_ids[(i + 3) % 6]] for i in range(6)], dtype=object)
    sims = np.tile(np.array([0.75, 0.5], dtype=np.float32), (6, 1))
    store.put_neighbours("m", face_ids[:5], neighbours[:5], sims[:5])
    assert store.load_neighbours("m", loaded_ids) is None  # one face still unlinked
    store.put_neighbours("m", face_ids[5:], neighbours[5:], sims[5:])
    positions, loaded_sims = store.load_neighbours("m", loaded_ids)
    assert positions.tolist() == [[(i + 1) % 6, (i + 3) % 6] for i in range(6)]
    np.testing.assert_allclose(loaded_sims, sims)
    assert store.load_neighbours("m", loaded_ids[:5]) is None  # a face embedded since the ids were read


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
    assert [(m.version, m.passed_gate) for m in store.model_versions()] == [(3, True), (2, False), (1, True)]
    assert store.model_versions()[1].metrics == {"accuracy": 0.1}


def test_latest_prediction_update_is_the_newest(store):
    assert store.latest_prediction_update() is None
    store.record_prediction_update(1, 10, 100)
    store.record_prediction_update(2, 12, 101)
    latest = store.latest_prediction_update()
    assert (latest["model_version"], latest["label_watermark"], latest["faces"]) == (2, 12, 101)


def test_concurrent_writers_lose_no_label(store_factory):
    store_factory().label_watermark()

    def writer(n: int) -> None:
        store = store_factory()
        for i in range(50):
            store.append_label_events([LabelEvent(f"w{n}-{i}", LabelKind.ASSIGN, 1, source=f"w{n}")])

    run_threads(writer, 4)
    events = store_factory().label_events()
    assert len(events) == 200 and sorted(e.seq for e in events) == list(range(1, 201))


def test_concurrent_creators_of_one_name_get_one_persona(store_factory):
    ids: list[int] = []
    run_threads(lambda n: ids.extend(store_factory().ensure_persona(f"Ada {i}").persona_id for i in range(5)), 3)
    assert len(set(ids)) == 5 and len(store_factory().personas()) == 5


def test_sequence_numbers_have_no_gaps_under_concurrent_appends(store_factory):
    def writer(n: int) -> None:
        store = store_factory()
        for _ in range(5):
            store.append_label_events([LabelEvent(f"w{n}", LabelKind.ASSIGN, 1)] * 30)

    run_threads(writer, 3)
    events = store_factory().label_events()
    assert [e.seq for e in events] == list(range(1, 451))
    for start in range(0, 450, 30):  # each append stays one contiguous block
        assert len({e.face_id for e in events[start : start + 30]}) == 1


def test_an_append_larger_than_one_cosmos_batch_keeps_order(store):
    seqs = store.append_label_events([LabelEvent(f"f{i}", LabelKind.ASSIGN, 1) for i in range(250)])
    assert seqs == list(range(1, 251))
    assert [e.face_id for e in store.label_events(since=200)] == [f"f{i}" for i in range(200, 250)]


# -- what only the Cosmos store has to get right (its batches, paging, retries, setup, key) ---------
def test_cosmos_interrupted_detection_rerun_records_its_labels_once(cosmos_store_factory):
    store = cosmos_store_factory()
    store.register_photo(PhotoEntry("a.jpg", 10, 1.0, "Ada"), "img")
    events = [LabelEvent("img:0", LabelKind.ASSIGN, store.ensure_persona("Ada").persona_id, source="import")]
    store._append_events(events, receipt="receipt:img")  # the run died after writing its labels
    store.record_detection("img", ImageStatus.DONE, faces=[face("img")], label_events=events)
    assert len(store.label_events()) == 1 and store.images()[0].status == ImageStatus.DONE


def test_cosmos_queries_page_through_large_results(cosmos_store_factory):
    store = cosmos_store_factory(page_size=7)
    for n in range(30):
        store.register_photo(PhotoEntry(f"p/{n}.jpg", n, float(n)), f"img{n:02d}")
    assert len(store.known_photos()) == 30
    assert [i.image_id for i in store.images()] == [f"img{n:02d}" for n in range(30)]


def test_cosmos_writes_predictions_in_bucketed_batches(cosmos_store_factory):
    store = cosmos_store_factory()
    predictions = [Prediction(f"img{i}:0", 1, 0.9, 1) for i in range(300)]
    assert len({bucket_of(p.face_id) for p in predictions}) == PREDICTION_BUCKETS
    store.write_predictions(predictions)
    rows = store._query("predictions", "SELECT c.id, c.bucket FROM c")
    assert {r["id"]: r["bucket"] for r in rows} == {p.face_id: bucket_of(p.face_id) for p in predictions}


def test_cosmos_throttling_and_unavailability_are_retried_with_back_off(cosmos_store_factory):
    store = cosmos_store_factory(max_retries=3)
    answers = iter([429, 503])

    def flaky() -> str:
        status = next(answers, None)
        if status is not None:
            raise CosmosHttpResponseError(status_code=status, message="busy")
        return "ok"

    assert store._retry(flaky) == "ok"
    with pytest.raises(CosmosHttpResponseError):
        store._retry(lambda: (_ for _ in ()).throw(CosmosHttpResponseError(status_code=400, message="bad")))


def test_cosmos_creates_its_database_and_containers_when_missing(cosmos_store_factory):
    store = cosmos_store_factory()
    assert store.label_watermark() == 0 and store.model_versions() == []
    assert cosmos_store_factory().label_watermark() == 0  # a second client finds them in place


def test_cosmos_key_never_shows_in_the_resource_repr(monkeypatch):
    monkeypatch.setenv("FACELOOP_COSMOS_KEY", "s3cret-key")
    direct = CosmosStateStore(endpoint="https://x", key="s3cret-key")
    from_env = CosmosStateStore(endpoint="https://x", key=EnvVar("FACELOOP_COSMOS_KEY"))
    assert "s3cret" not in repr(direct) and "s3cret" not in repr(from_env)
