"""What only the SQLite store has: write-ahead logging on the real file, loads in batches.

The StateStore behaviours (label log, ingest, predictions, concurrent writers) are pinned down
once for every backend in test_state_store_contract.py, which runs them on SQLite too.
"""

from __future__ import annotations

import numpy as np
import pytest

import resources.state_store.sqlite.images as sqlite_module
from resources.state_store.records import FaceRecord, ImageStatus
from resources.state_store.sqlite.store import SqliteStateStore


@pytest.fixture
def store(tmp_path) -> SqliteStateStore:
    return SqliteStateStore(path=str(tmp_path / "state.db"))


def test_database_file_uses_write_ahead_logging(store):
    store.label_watermark()
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def library_of(store: SqliteStateStore, count: int) -> tuple[list[str], np.ndarray]:
    face_ids = [f"img{i:03d}:0" for i in range(count)]
    for face_id in face_ids:
        image_id = face_id.split(":")[0]
        store.record_detection(
            image_id, ImageStatus.DONE, faces=[FaceRecord(face_id, image_id, 0, (0, 0, 9, 9), 1, "t", "a")]
        )
    vectors = np.arange(count * 4, dtype=np.float32).reshape(count, 4)
    store.put_embeddings("m", face_ids, vectors)
    return face_ids, vectors


def test_chunked_loads_give_every_row_in_face_order(store, monkeypatch):
    monkeypatch.setattr(sqlite_module, "LOAD_BATCH", 3)  # 10 rows: three full batches and a ragged one
    face_ids, vectors = library_of(store, 10)
    loaded_ids, matrix = store.load_embeddings("m")
    assert loaded_ids == face_ids
    np.testing.assert_array_equal(matrix, vectors)
    neighbours = np.array([[face_ids[(i + 1) % 10], face_ids[(i + 7) % 10]] for i in range(10)])
    sims = np.tile(np.array([0.9, 0.5], dtype=np.float32), (10, 1))
    store.put_neighbours("m", face_ids, neighbours, sims)
    positions, loaded_sims = store.load_neighbours("m", loaded_ids)
    assert positions.tolist() == [[(i + 1) % 10, (i + 7) % 10] for i in range(10)]
    np.testing.assert_array_equal(loaded_sims, sims)
