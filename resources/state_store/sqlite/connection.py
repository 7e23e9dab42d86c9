"""SQLite plumbing: the schema (and its upgrade in place), one connection per thread, transactions."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (
    key TEXT PRIMARY KEY, size INTEGER, mtime REAL, image_id TEXT, reason TEXT,
    persona_hint TEXT, seen_at REAL);
CREATE TABLE IF NOT EXISTS images (
    image_id TEXT PRIMARY KEY, key TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    width INTEGER, height INTEGER, import_persona TEXT, created_at REAL, processed_at REAL);
CREATE INDEX IF NOT EXISTS images_status ON images(status);
CREATE TABLE IF NOT EXISTS faces (
    face_id TEXT PRIMARY KEY, image_id TEXT NOT NULL, idx INTEGER NOT NULL,
    x INTEGER, y INTEGER, w INTEGER, h INTEGER, confidence REAL,
    thumbnail_key TEXT, aligned_key TEXT);
CREATE INDEX IF NOT EXISTS faces_image ON faces(image_id);
CREATE TABLE IF NOT EXISTS embeddings (
    face_id TEXT NOT NULL, space TEXT NOT NULL, vector BLOB NOT NULL,
    neighbour_rowids BLOB, neighbour_sims BLOB,
    PRIMARY KEY (face_id, space));
CREATE TABLE IF NOT EXISTS library_writes (space TEXT PRIMARY KEY, writes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS personas (
    persona_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    merged_into INTEGER, created_at REAL);
CREATE TABLE IF NOT EXISTS label_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, face_id TEXT NOT NULL, kind TEXT NOT NULL,
    persona_id INTEGER, source TEXT NOT NULL, actor TEXT, created_at REAL NOT NULL,
    into_persona_id INTEGER, name TEXT, previous_name TEXT);
CREATE INDEX IF NOT EXISTS label_events_face ON label_events(face_id);
CREATE TABLE IF NOT EXISTS predictions (
    face_id TEXT PRIMARY KEY, persona_id INTEGER, confidence REAL NOT NULL,
    model_version INTEGER NOT NULL, candidate_persona_id INTEGER, updated_at REAL);
CREATE TABLE IF NOT EXISTS prediction_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_version INTEGER NOT NULL,
    label_watermark INTEGER NOT NULL, faces INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS model_versions (
    version INTEGER PRIMARY KEY AUTOINCREMENT, label_watermark INTEGER NOT NULL,
    artifact_key TEXT NOT NULL, metrics TEXT NOT NULL, passed_gate INTEGER,
    promoted INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS serving_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, version INTEGER,
    newest_checked INTEGER NOT NULL, source TEXT NOT NULL, actor TEXT, created_at REAL NOT NULL);
"""
# Columns added since the first schema: a database made before them gets them on first use.
ADDED_COLUMNS = {
    "label_events": {"into_persona_id": "INTEGER", "name": "TEXT", "previous_name": "TEXT"},
}


def upgrade(conn: sqlite3.Connection) -> None:
    """Add the columns an older database lacks (two processes may race to: both end up right)."""
    for table, columns in ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for column, kind in columns.items():
            if column not in present:
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise


class SqliteConnection:
    """Mixin: ``path``, ``busy_timeout_s`` and a thread-local ``_local`` come from the store."""

    path: str
    busy_timeout_s: float

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Switching a new file to WAL, and creating the schema, can fail at once with "locked"
            # (no busy wait) while other connections open the same new file: retry within the timeout.
            deadline = time.monotonic() + self.busy_timeout_s
            while True:
                try:
                    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(SCHEMA)
                    upgrade(conn)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the lock taken up front: concurrent writers queue, none is lost."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return self._conn().execute(sql, params).fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def marks(count: int) -> str:
    """``?,?,…`` for an IN list of ``count`` values."""
    return ",".join("?" * count)


IN_BATCH = 500  # values per IN list, under SQLite's variable limit
