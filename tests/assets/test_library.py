"""The library both learning steps read: once per process while the store's stamp holds, never stale."""

from __future__ import annotations

import numpy as np

from assets.core.learning.graph import graph_from_neighbours, knn_graph, l2_normalize
from assets.library import load_library
from resources.state_store.records import FaceRecord, ImageStatus, PhotoEntry
from resources.state_store.sqlite.store import SqliteStateStore


def add_faces(store: SqliteStateStore, face_ids: list[str], vectors: np.ndarray) -> None:
    for face_id in face_ids:
        image_id = face_id[:-2]
        store.register_photo(PhotoEntry(f"{image_id}.jpg", 1, 0.0), image_id)
        store.record_detection(
            image_id, ImageStatus.DONE, faces=[FaceRecord(face_id, image_id, 0, (0, 0, 9, 9), 1.0, "", "")]
        )
    store.put_embeddings("m", face_ids, vectors)


def test_library_is_read_once_while_its_stamp_holds_and_again_after_any_write(tmp_path):
    store = SqliteStateStore(path=str(tmp_path / "state.db"))
    vectors = np.random.default_rng(0).normal(size=(8, 16)).astype(np.float32)
    face_ids = [f"img{i}:0" for i in range(8)]
    add_faces(store, face_ids[:7], vectors[:7])

    first = load_library(store, "m")  # no neighbour lists kept yet: the exact graph
    assert load_library(store, "m") is first
    assert (first.graph != knn_graph(l2_normalize(vectors[:7]))).nnz == 0

    neighbours = np.array([[face_ids[(i + 1) % 7], face_ids[(i + 2) % 7]] for i in range(7)], dtype=object)
    store.put_neighbours("m", face_ids[:7], neighbours, np.full((7, 2), 0.9, dtype=np.float32))
    linked = load_library(store, "m")  # the kept graph now, not the cached exact one
    positions = np.array([[(i + 1) % 7, (i + 2) % 7] for i in range(7)])
    assert (linked.graph != graph_from_neighbours(positions, np.full((7, 2), 0.9, np.float32))).nnz == 0

    add_faces(store, face_ids[7:], vectors[7:])  # a photo ingested between two runs
    grown = load_library(store, "m")
    assert grown.face_ids == face_ids and np.array_equal(grown.embeddings, vectors)
    assert not grown.embeddings.flags.writeable  # shared by the steps of a run

    other = SqliteStateStore(path=str(tmp_path / "other.db"))  # same space, another library
    add_faces(other, face_ids[:2], vectors[:2])
    assert load_library(other, "m").face_ids == face_ids[:2]
