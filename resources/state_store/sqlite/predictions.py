"""SQLite predictions: the diff against the stored ones runs inside SQLite, in one transaction."""

from __future__ import annotations

import time
from collections.abc import Iterator

from resources.state_store.base import PredictionRow
from resources.state_store.records import Prediction
from resources.state_store.rules import CONFIDENCE_EPSILON
from resources.state_store.sqlite.connection import IN_BATCH, marks

# rules.prediction_changed, as SQL over the stored row p and the incoming row i.
CHANGED = (
    "p.face_id IS NULL OR p.persona_id IS NOT i.persona_id"
    " OR p.candidate_persona_id IS NOT i.candidate_persona_id OR abs(p.confidence - i.confidence) > ?"
)


class SqlitePredictions:
    """Mixin of SqliteStateStore, ``ports.Predictions``."""

    def predictions(self) -> dict[str, Prediction]:
        rows = self._read(
            "SELECT face_id, persona_id, confidence, model_version, candidate_persona_id FROM predictions"
        )
        return {row[0]: Prediction(*row) for row in rows}

    def _write_prediction_rows(self, rows: Iterator[PredictionRow], drop: list[str]) -> int:
        # The new rows go into a temporary table (this connection's own, outside the main file, so
        # no lock is held while it fills), then one INSERT ... SELECT writes only those that differ.
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
        with self._write() as conn:
            written = conn.execute(
                "INSERT OR REPLACE INTO predictions"
                " (face_id, persona_id, confidence, model_version, candidate_persona_id, updated_at)"
                " SELECT i.face_id, i.persona_id, i.confidence, i.model_version, i.candidate_persona_id, ?"
                f" FROM temp.incoming_predictions i LEFT JOIN predictions p ON p.face_id = i.face_id WHERE {CHANGED}",
                (time.time(), CONFIDENCE_EPSILON),
            ).rowcount
            for start in range(0, len(drop), IN_BATCH):
                batch = drop[start : start + IN_BATCH]
                written += conn.execute(
                    f"DELETE FROM predictions WHERE face_id IN ({marks(len(batch))})", batch
                ).rowcount
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
