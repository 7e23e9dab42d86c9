"""SQLite state store: the embedded default, one WAL-mode file under $FACELOOP_HOME.

WAL lets the labeling app read while a run writes; writers take the lock up front
(``BEGIN IMMEDIATE``) and wait on a busy timeout instead of failing, so concurrent writers
queue rather than lose updates.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydantic import PrivateAttr

from resources.state_store.base import StateStore
from resources.state_store.records import (
    FaceRecord,
    ImageRecord,
    ImageStatus,
    LabelEvent,
    LabelKind,
    ModelVersion,
    Persona,
    PhotoEntry,
    Prediction,
    PredictionColumns,
    validate_persona_name,
)

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
CREATE TABLE IF NOT EXISTS personas (
    persona_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    merged_into INTEGER, created_at REAL);
CREATE TABLE IF NOT EXISTS label_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, face_id TEXT NOT NULL, kind TEXT NOT NULL,
    persona_id INTEGER, source TEXT NOT NULL, actor TEXT, created_at REAL NOT NULL);
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
"""

CONFIDENCE_EPSILON = 1e-4  # smaller confidence changes are not worth a write
LOAD_CHUNK = 65_536  # rows fetched at a time when loading a whole model space


class SqliteStateStore(StateStore):
    """``path`` is the database file; it and its folder are created on first use."""

    path: str
    busy_timeout_s: float = 30.0

    _local: threading.local = PrivateAttr(default_factory=threading.local)

    # -- plumbing ----------------------------------------------------------------------------
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
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
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

    # -- photos and images -------------------------------------------------------------------
    def known_photos(self) -> dict[str, tuple[int, float]]:
        return {key: (size, mtime) for key, size, mtime in self._read("SELECT key, size, mtime FROM photos")}

    def register_photo(self, entry: PhotoEntry, image_id: str | None, reason: str | None = None) -> bool:
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry.key, entry.size, entry.mtime, image_id, reason, entry.persona_hint, now),
            )
            if image_id is None:
                return False
            cursor = conn.execute(
                "INSERT OR IGNORE INTO images (image_id, key, status, import_persona, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (image_id, entry.key, ImageStatus.NEW.value, entry.persona_hint, now),
            )
            if cursor.rowcount == 0 and entry.persona_hint:
                # A duplicate may carry the label the first copy lacked; never drop it.
                conn.execute(
                    "UPDATE images SET import_persona = ? WHERE image_id = ? AND import_persona IS NULL AND status = ?",
                    (entry.persona_hint, image_id, ImageStatus.NEW.value),
                )
            return cursor.rowcount > 0

    def images(self, status: ImageStatus | None = None, limit: int | None = None) -> list[ImageRecord]:
        sql = "SELECT image_id, key, status, reason, width, height, import_persona FROM images"
        params: list = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status.value)
        sql += " ORDER BY created_at, image_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            ImageRecord(row[0], row[1], ImageStatus(row[2]), row[3], row[4], row[5], row[6])
            for row in self._read(sql, params)
        ]

    def unreadable_photos(self) -> dict[str, str]:
        return dict(self._read("SELECT key, reason FROM photos WHERE image_id IS NULL"))

    def record_detection(
        self,
        image_id: str,
        status: ImageStatus,
        *,
        reason: str | None = None,
        size: tuple[int, int] | None = None,
        faces: Sequence[FaceRecord] = (),
        label_events: Sequence[LabelEvent] = (),
    ) -> None:
        width, height = size or (None, None)
        with self._write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO faces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(f.face_id, f.image_id, f.index, *f.box, f.confidence, f.thumbnail_key, f.aligned_key) for f in faces],
            )
            conn.execute(
                "UPDATE images SET status = ?, reason = ?, width = ?, height = ?, processed_at = ? WHERE image_id = ?",
                (status.value, reason, width, height, time.time(), image_id),
            )
            self._insert_events(conn, label_events)

    # -- faces and embeddings ----------------------------------------------------------------
    _FACE_COLUMNS = "f.face_id, f.image_id, f.idx, f.x, f.y, f.w, f.h, f.confidence, f.thumbnail_key, f.aligned_key"

    @staticmethod
    def _face(row: tuple) -> FaceRecord:
        return FaceRecord(row[0], row[1], row[2], (row[3], row[4], row[5], row[6]), row[7], row[8], row[9])

    def faces(self, face_ids: Sequence[str] | None = None) -> list[FaceRecord]:
        if face_ids is None:
            rows = self._read(f"SELECT {self._FACE_COLUMNS} FROM faces f ORDER BY f.face_id")
            return [self._face(r) for r in rows]
        found = []
        ids = list(face_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found += self._read(f"SELECT {self._FACE_COLUMNS} FROM faces f WHERE f.face_id IN ({marks})", chunk)
        by_id = {row[0]: self._face(row) for row in found}
        return [by_id[i] for i in ids if i in by_id]

    def faces_missing_embedding(self, space: str, limit: int) -> list[FaceRecord]:
        rows = self._read(
            f"SELECT {self._FACE_COLUMNS} FROM faces f LEFT JOIN embeddings e"
            " ON e.face_id = f.face_id AND e.space = ? WHERE e.face_id IS NULL"
            " ORDER BY f.face_id LIMIT ?",
            (space, limit),
        )
        return [self._face(r) for r in rows]

    def put_embeddings(self, space: str, face_ids: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (face_id, space, vector) VALUES (?, ?, ?)",
                [(face_id, space, vectors[i].tobytes()) for i, face_id in enumerate(face_ids)],
            )

    def load_embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        # Streamed in chunks into one preallocated array: a million rows as Python tuples would
        # cost GBs, and one frombuffer per row costs seconds.
        count = self._read("SELECT COUNT(*) FROM embeddings WHERE space = ?", (space,))[0][0]
        if not count:
            return [], np.zeros((0, 0), dtype=np.float32)
        cursor = self._conn().execute(
            "SELECT face_id, vector FROM embeddings WHERE space = ? ORDER BY face_id", (space,)
        )
        ids: list[str] = []
        matrix: np.ndarray | None = None
        while len(ids) < count and (rows := cursor.fetchmany(min(LOAD_CHUNK, count - len(ids)))):
            if matrix is None:
                matrix = np.empty((count, len(rows[0][1]) // 4), dtype=np.float32)
            ids.extend(face_id for face_id, _ in rows)  # rows added since the count: the next call
            vectors = np.frombuffer(b"".join(vector for _, vector in rows), dtype=np.float32)
            matrix[len(ids) - len(rows) : len(ids)] = vectors.reshape(len(rows), -1)
        cursor.close()
        return ids, matrix[: len(ids)]

    def put_neighbours(self, space: str, face_ids: Sequence[str], neighbour_ids: np.ndarray, sims: np.ndarray) -> None:
        # Neighbours are kept as the faces' integer rowids: 8 bytes each instead of a 66-char id.
        wanted = sorted(set(np.asarray(neighbour_ids).ravel().tolist()))
        rowid_of: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rowid_of.update(self._read(f"SELECT face_id, rowid FROM faces WHERE face_id IN ({marks})", chunk))
        rows = []
        for face_id, neighbours, similarity in zip(face_ids, neighbour_ids, sims, strict=True):
            rowids = np.array([rowid_of.get(n, -1) for n in neighbours], dtype=np.int64)
            rows.append((rowids.tobytes(), np.asarray(similarity, np.float32).tobytes(), face_id, space))
        with self._write() as conn:
            conn.executemany(
                "UPDATE embeddings SET neighbour_rowids = ?, neighbour_sims = ? WHERE face_id = ? AND space = ?", rows
            )

    def load_neighbours(self, space: str, face_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        n = len(face_ids)
        cursor = self._conn().execute(
            "SELECT e.face_id, f.rowid, e.neighbour_rowids, e.neighbour_sims FROM embeddings e"
            " JOIN faces f ON f.face_id = e.face_id WHERE e.space = ? ORDER BY e.face_id",
            (space,),
        )
        ids: list[str] = []
        rowids: list[int] = []
        neighbour_blobs: list[bytes] = []
        sim_blobs: list[bytes] = []
        complete = True
        while complete and (rows := cursor.fetchmany(LOAD_CHUNK)):
            # Faces embedded since face_ids was read, or a face whose list is not kept (yet):
            # not this graph, the caller computes it.
            complete = len(ids) + len(rows) <= n and all(row[2] is not None for row in rows)
            if complete:
                ids.extend(row[0] for row in rows)
                rowids.extend(row[1] for row in rows)
                neighbour_blobs.append(b"".join(row[2] for row in rows))
                sim_blobs.append(b"".join(row[3] for row in rows))
        cursor.close()
        if not complete or n == 0 or ids != list(face_ids):
            return None
        neighbours = np.frombuffer(b"".join(neighbour_blobs), dtype=np.int64).reshape(n, -1)
        sims = np.frombuffer(b"".join(sim_blobs), dtype=np.float32).reshape(n, -1)
        rowid_of_row = np.asarray(rowids, dtype=np.int64)
        order = np.argsort(rowid_of_row)
        slot = np.clip(np.searchsorted(rowid_of_row[order], neighbours), 0, n - 1)
        positions = np.where(rowid_of_row[order][slot] == neighbours, order[slot], -1)
        return positions, sims

    # -- personas ----------------------------------------------------------------------------
    def ensure_persona(self, name: str) -> Persona:
        name = validate_persona_name(name)
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO personas (name, created_at) VALUES (?, ?)", (name, time.time()))
            row = conn.execute("SELECT persona_id, name, merged_into FROM personas WHERE name = ?", (name,)).fetchone()
        return Persona(*row)

    def personas(self, include_merged: bool = False) -> list[Persona]:
        sql = "SELECT persona_id, name, merged_into FROM personas"
        if not include_merged:
            sql += " WHERE merged_into IS NULL"
        return [Persona(*row) for row in self._read(sql + " ORDER BY name")]

    def rename_persona(self, persona_id: int, new_name: str) -> Persona:
        new_name = validate_persona_name(new_name)
        with self._write() as conn:
            clash = conn.execute(
                "SELECT persona_id FROM personas WHERE name = ? AND persona_id != ?", (new_name, persona_id)
            ).fetchone()
            if clash:
                raise ValueError(f"a persona named {new_name!r} already exists; merge instead")
            conn.execute("UPDATE personas SET name = ? WHERE persona_id = ?", (new_name, persona_id))
            row = conn.execute(
                "SELECT persona_id, name, merged_into FROM personas WHERE persona_id = ?", (persona_id,)
            ).fetchone()
        if row is None:
            raise KeyError(f"no persona {persona_id}")
        return Persona(*row)

    def merge_personas(self, source_id: int, target_id: int) -> None:
        if source_id == target_id:
            raise ValueError("cannot merge a persona into itself")
        with self._write() as conn:
            conn.execute("UPDATE personas SET merged_into = ? WHERE persona_id = ?", (target_id, source_id))
            # Merging changes labels: append a marker so watchers of the log see it.
            conn.execute(
                "INSERT INTO label_events (face_id, kind, persona_id, source, actor, created_at)"
                " VALUES ('', ?, ?, 'merge', NULL, ?)",
                (LabelKind.ASSIGN.value, target_id, time.time()),
            )

    # -- labels ------------------------------------------------------------------------------
    @staticmethod
    def _insert_events(conn: sqlite3.Connection, events: Sequence[LabelEvent]) -> list[int]:
        seqs = []
        for event in events:
            cursor = conn.execute(
                "INSERT INTO label_events (face_id, kind, persona_id, source, actor, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event.face_id,
                    LabelKind(event.kind).value,
                    event.persona_id,
                    event.source,
                    event.actor,
                    event.created_at or time.time(),
                ),
            )
            seqs.append(cursor.lastrowid)
        return seqs

    def append_label_events(self, events: Sequence[LabelEvent]) -> list[int]:
        with self._write() as conn:
            return self._insert_events(conn, events)

    def label_watermark(self) -> int:
        return self._read("SELECT COALESCE(MAX(seq), 0) FROM label_events")[0][0]

    def label_events(self, since: int = 0) -> list[LabelEvent]:
        rows = self._read(
            "SELECT face_id, kind, persona_id, source, actor, seq, created_at FROM label_events"
            " WHERE seq > ? AND face_id != '' ORDER BY seq",
            (since,),
        )
        return [LabelEvent(r[0], LabelKind(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]

    # -- predictions -------------------------------------------------------------------------
    def predictions(self) -> dict[str, Prediction]:
        rows = self._read(
            "SELECT face_id, persona_id, confidence, model_version, candidate_persona_id FROM predictions"
        )
        return {row[0]: Prediction(*row) for row in rows}

    def write_predictions(self, predictions: Iterable[Prediction], drop: Sequence[str] = ()) -> int:
        # The diff against the stored predictions runs inside SQLite: the new rows go into a
        # temporary table (this connection's own, outside the main file, so no lock is held while
        # it fills), then one INSERT ... SELECT writes only those that differ.
        if isinstance(predictions, PredictionColumns):
            rows = predictions.rows()
        else:
            rows = (
                (p.face_id, p.persona_id, p.confidence, p.model_version, p.candidate_persona_id) for p in predictions
            )
        conn = self._conn()
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS incoming_predictions (face_id TEXT, persona_id INTEGER,"
            " confidence REAL, model_version INTEGER, candidate_persona_id INTEGER)"
        )
        conn.execute("BEGIN")
        try:
            conn.execute("DELETE FROM temp.incoming_predictions")
            conn.executemany("INSERT INTO temp.incoming_predictions VALUES (?, ?, ?, ?, ?)", rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        wanted = list(dict.fromkeys(drop))
        with self._write() as conn:
            written = conn.execute(
                "INSERT OR REPLACE INTO predictions"
                " (face_id, persona_id, confidence, model_version, candidate_persona_id, updated_at)"
                " SELECT i.face_id, i.persona_id, i.confidence, i.model_version, i.candidate_persona_id, ?"
                " FROM temp.incoming_predictions i LEFT JOIN predictions p ON p.face_id = i.face_id"
                " WHERE p.face_id IS NULL OR p.persona_id IS NOT i.persona_id"
                " OR p.candidate_persona_id IS NOT i.candidate_persona_id OR abs(p.confidence - i.confidence) > ?",
                (time.time(), CONFIDENCE_EPSILON),
            ).rowcount
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                written += conn.execute(f"DELETE FROM predictions WHERE face_id IN ({marks})", chunk).rowcount
            conn.execute("DELETE FROM temp.incoming_predictions")
        return written

    def record_prediction_update(self, model_version: int, label_watermark: int, faces: int) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO prediction_updates (model_version, label_watermark, faces, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (model_version, label_watermark, faces, time.time()),
            )

    def latest_prediction_update(self) -> dict | None:
        rows = self._read(
            "SELECT model_version, label_watermark, faces, updated_at FROM prediction_updates ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        return dict(zip(("model_version", "label_watermark", "faces", "updated_at"), rows[0], strict=True))

    # -- classifier versions -----------------------------------------------------------------
    def add_model_version(
        self, label_watermark: int, artifact_key: str, metrics: dict, note: str | None = None
    ) -> ModelVersion:
        created = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO model_versions (label_watermark, artifact_key, metrics, created_at, note)"
                " VALUES (?, ?, ?, ?, ?)",
                (label_watermark, artifact_key, json.dumps(metrics), created, note),
            )
        return ModelVersion(cursor.lastrowid, label_watermark, artifact_key, metrics, None, False, created, note)

    def set_gate_result(self, version: int, passed: bool, promote: bool) -> None:
        with self._write() as conn:
            conn.execute("UPDATE model_versions SET passed_gate = ? WHERE version = ?", (int(passed), version))
            if promote:
                conn.execute("UPDATE model_versions SET promoted = (version = ?)", (version,))

    def model_versions(self) -> list[ModelVersion]:
        rows = self._read(
            "SELECT version, label_watermark, artifact_key, metrics, passed_gate, promoted, created_at, note"
            " FROM model_versions ORDER BY version DESC"
        )
        return [
            ModelVersion(
                r[0], r[1], r[2], json.loads(r[3]), None if r[4] is None else bool(r[4]), bool(r[5]), r[6], r[7]
            )
            for r in rows
        ]
