"""SQLite photos, images and faces (ingest's writes), and the embeddings and face graph it keeps."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence

import numpy as np

from resources.state_store.base import Detection
from resources.state_store.records import FaceRecord, ImageRecord, ImageStatus, PhotoEntry
from resources.state_store.sqlite.connection import IN_BATCH, marks

LOAD_BATCH = 65_536  # rows fetched at a time when loading a whole model space


class SqlitePhotos:
    """Mixin of SqliteStateStore, ``ports.PhotoLibrary``: photos, images, detection (one transaction
    each) and the faces found."""

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

    def _record_detection(self, found: Detection) -> None:
        width, height = found.size or (None, None)
        faces = [
            (f.face_id, f.image_id, f.index, *f.box, f.confidence, f.thumbnail_key, f.aligned_key) for f in found.faces
        ]
        with self._write() as conn:
            conn.executemany("INSERT OR IGNORE INTO faces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", faces)
            conn.execute(
                "UPDATE images SET status = ?, reason = ?, width = ?, height = ?, processed_at = ? WHERE image_id = ?",
                (found.status.value, found.reason, width, height, time.time(), found.image_id),
            )
            self._insert_events(conn, found.label_events)

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
        for start in range(0, len(ids), IN_BATCH):
            batch = ids[start : start + IN_BATCH]
            found += self._read(
                f"SELECT {self._FACE_COLUMNS} FROM faces f WHERE f.face_id IN ({marks(len(batch))})", batch
            )
        by_id = {row[0]: self._face(row) for row in found}
        return [by_id[i] for i in ids if i in by_id]


class SqliteEmbeddings:
    """Mixin of SqliteStateStore, ``ports.EmbeddingLibrary``: embeddings per model space and the face graph."""

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
            self._count_library_write(conn, space)

    def load_embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        # Streamed in batches into one preallocated array: a million rows as Python tuples would
        # cost GBs, and one frombuffer per row costs seconds.
        count = self._read("SELECT COUNT(*) FROM embeddings WHERE space = ?", (space,))[0][0]
        if not count:
            return [], np.zeros((0, 0), dtype=np.float32)
        cursor = self._conn().execute(
            "SELECT face_id, vector FROM embeddings WHERE space = ? ORDER BY face_id", (space,)
        )
        ids: list[str] = []
        matrix: np.ndarray | None = None
        while len(ids) < count and (rows := cursor.fetchmany(min(LOAD_BATCH, count - len(ids)))):
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
        for start in range(0, len(wanted), IN_BATCH):
            batch = wanted[start : start + IN_BATCH]
            rowid_of.update(
                self._read(f"SELECT face_id, rowid FROM faces WHERE face_id IN ({marks(len(batch))})", batch)
            )
        rows = []
        for face_id, neighbours, similarity in zip(face_ids, neighbour_ids, sims, strict=True):
            rowids = np.array([rowid_of.get(n, -1) for n in neighbours], dtype=np.int64)
            rows.append((rowids.tobytes(), np.asarray(similarity, np.float32).tobytes(), face_id, space))
        with self._write() as conn:
            conn.executemany(
                "UPDATE embeddings SET neighbour_rowids = ?, neighbour_sims = ? WHERE face_id = ? AND space = ?", rows
            )
            self._count_library_write(conn, space)

    @staticmethod
    def _count_library_write(conn: sqlite3.Connection, space: str) -> None:
        conn.execute(
            "INSERT INTO library_writes VALUES (?, 1) ON CONFLICT(space) DO UPDATE SET writes = writes + 1", (space,)
        )

    def library_stamp(self, space: str) -> tuple:
        writes = self._read("SELECT writes FROM library_writes WHERE space = ?", (space,))
        return ("sqlite", os.path.abspath(self.path), space, writes[0][0] if writes else 0)

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
        while complete and (rows := cursor.fetchmany(LOAD_BATCH)):
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
