"""Cosmos DB predictions: 32 hash buckets of ``predictions``, changed ones written as concurrent batches.

Not atomic as a whole (each bucket batch is), and safe to re-run: a rerun writes what is still
different. Prediction updates and classifier versions live in the one ``models`` partition.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence

from azure.cosmos.exceptions import CosmosResourceNotFoundError

from resources.state_store import rules
from resources.state_store.base import PredictionRow
from resources.state_store.cosmos.client import BATCH_LIMIT, MODELS, Conflict, batches
from resources.state_store.records import Prediction

PREDICTION_BUCKETS = 32  # fixed: changing it would strand documents in other buckets


def bucket_of(face_id: str) -> int:
    return int(hashlib.sha1(face_id.encode("utf-8")).hexdigest()[:8], 16) % PREDICTION_BUCKETS


class CosmosPredictions:
    """Mixin of CosmosStateStore, ``ports.Predictions``."""

    def predictions(self) -> dict[str, Prediction]:
        sql = "SELECT c.id, c.persona_id, c.confidence, c.model_version, c.candidate_persona_id FROM c"
        return {
            r["id"]: Prediction(
                r["id"], r["persona_id"], r["confidence"], r["model_version"], r["candidate_persona_id"]
            )
            for r in self._query("predictions", sql)
        }

    def _write_prediction_rows(self, rows: Iterator[PredictionRow], drop: list[str]) -> int:
        current = self.predictions()
        changed = [p for p in (Prediction(*row) for row in rows) if rules.prediction_changed(current.get(p.face_id), p)]
        dropped = [face_id for face_id in drop if face_id in current]
        self.put_prediction_docs(changed, dropped)
        return len(changed) + len(dropped)

    def put_prediction_docs(self, upserts: Sequence[Prediction], deletes: Sequence[str] = ()) -> None:
        """Write predictions as transactional batches per bucket, many buckets at once."""
        now = time.time()
        by_bucket: dict[int, list[tuple]] = defaultdict(list)
        for p in upserts:
            bucket = bucket_of(p.face_id)
            doc = {
                "id": p.face_id,
                "bucket": bucket,
                "persona_id": p.persona_id,
                "confidence": p.confidence,
                "model_version": p.model_version,
                "candidate_persona_id": p.candidate_persona_id,
                "updated_at": now,
            }
            by_bucket[bucket].append(("upsert", (doc,)))
        for face_id in deletes:
            by_bucket[bucket_of(face_id)].append(("delete", (face_id,)))
        work = [(bucket, list(batch)) for bucket, ops in by_bucket.items() for batch in batches(ops, BATCH_LIMIT)]
        self._map(lambda item: self._write_bucket(*item), work)

    def _write_bucket(self, bucket: int, ops: list[tuple]) -> None:
        try:
            self._batch("predictions", bucket, ops)
        except Conflict as exc:
            if exc.status != 404:
                raise
            # Someone else deleted one of these meanwhile: apply the rest one by one.
            container = self._c("predictions")
            for op, args in ops:
                try:
                    if op == "upsert":
                        self._retry(lambda a=args: container.upsert_item(a[0]))
                    else:
                        self._retry(lambda a=args: container.delete_item(a[0], bucket))
                except CosmosResourceNotFoundError:
                    pass

    def record_prediction_update(self, model_version: int, label_watermark: int, faces: int) -> None:
        doc = {
            "id": f"update:{time.time_ns():020d}:{uuid.uuid4().hex[:8]}",
            "pk": MODELS,
            "type": "update",
            "model_version": model_version,
            "label_watermark": label_watermark,
            "faces": faces,
            "updated_at": time.time(),
        }
        self._retry(lambda: self._c("models").create_item(doc), idempotent=False)

    def latest_prediction_update(self) -> dict | None:
        sql = "SELECT TOP 1 * FROM c WHERE c.pk = @pk AND c.type = 'update' ORDER BY c.id DESC"
        rows = self._query("models", sql, partition_key=MODELS, pk=MODELS)
        if not rows:
            return None
        return {k: rows[0][k] for k in ("model_version", "label_watermark", "faces", "updated_at")}
