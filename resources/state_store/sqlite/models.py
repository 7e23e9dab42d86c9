"""SQLite classifier versions (promoting one demotes the others in the same transaction) and the serving log."""

from __future__ import annotations

import json
import time

from resources.state_store.records import ModelVersion, ServingEvent, ServingKind


class SqliteModels:
    """Mixin of SqliteStateStore, ``ports.ModelRegistry``, and the serving log behind ``ports.ModelServing``."""

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

    def _serving_events(self) -> list[ServingEvent]:
        rows = self._read(
            "SELECT kind, version, newest_checked, source, actor, seq, created_at FROM serving_events ORDER BY seq"
        )
        return [ServingEvent(ServingKind(r[0]), *r[1:]) for r in rows]

    def _append_serving_event(self, event: ServingEvent) -> int:
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO serving_events (kind, version, newest_checked, source, actor, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (event.kind.value, event.version, event.newest_checked, event.source, event.actor, time.time()),
            )
        return cursor.lastrowid
