"""What only the SQLite store has: write-ahead logging on the real file.

The StateStore behaviours (label log, ingest, predictions, concurrent writers) are pinned down
once for every backend in test_state_store_contract.py, which runs them on SQLite too.
"""

from __future__ import annotations

import pytest

from resources.state_store import SqliteStateStore


@pytest.fixture
def store(tmp_path) -> SqliteStateStore:
    return SqliteStateStore(path=str(tmp_path / "state.db"))


def test_database_file_uses_write_ahead_logging(store):
    store.label_watermark()
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
