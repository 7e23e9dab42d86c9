"""Cosmos DB classifier versions: one ``models`` partition with a version counter, the promoted
version's pointer, and the serving log (its own counter, so each event is one batch with its seq)."""

from __future__ import annotations

import time

from resources.state_store.cosmos.client import MODELS, plain
from resources.state_store.records import ModelVersion, ServingEvent, ServingKind


class CosmosModels:
    """Mixin of CosmosStateStore, ``ports.ModelRegistry``, and the serving log behind ``ports.ModelServing``."""

    def add_model_version(
        self, label_watermark: int, artifact_key: str, metrics: dict, note: str | None = None
    ) -> ModelVersion:
        created = time.time()
        fields = {"label_watermark": label_watermark, "artifact_key": artifact_key, "metrics": metrics, "note": note}

        def ops(version: int) -> list[tuple]:
            doc = {"id": f"version:{version}", "pk": MODELS, "type": "version", "version": version, **fields}
            return [("create", ({**doc, "passed_gate": None, "created_at": created},))]

        version = self._with_counter("models", MODELS, "version", 1, ops)
        return ModelVersion(version, label_watermark, artifact_key, metrics, None, False, created, note)

    def set_gate_result(self, version: int, passed: bool, promote: bool) -> None:
        """The serving version is one pointer document, so exactly one version is ever promoted."""

        def verdict() -> list[tuple]:
            doc = self._read("models", f"version:{version}", MODELS)
            if doc is None:
                raise KeyError(f"no model version {version}")
            ops = [
                ("replace", (doc["id"], {**plain(doc), "passed_gate": bool(passed)}), {"if_match_etag": doc["_etag"]})
            ]
            if promote:
                ops.append(("upsert", ({"id": "serving", "pk": MODELS, "version": version},)))
            return ops

        self._batch_while_current("models", MODELS, verdict)

    def model_versions(self) -> list[ModelVersion]:
        docs = self._query(
            "models", "SELECT * FROM c WHERE c.pk = @pk AND c.type = 'version'", partition_key=MODELS, pk=MODELS
        )
        serving = self._read("models", "serving", MODELS)
        promoted = serving["version"] if serving else None
        versions = [
            ModelVersion(
                d["version"],
                d["label_watermark"],
                d["artifact_key"],
                d["metrics"],
                d.get("passed_gate"),
                d["version"] == promoted,
                d["created_at"],
                d.get("note"),
            )
            for d in docs
        ]
        return sorted(versions, key=lambda m: m.version, reverse=True)

    def _serving_events(self) -> list[ServingEvent]:
        docs = self._query(
            "models", "SELECT * FROM c WHERE c.pk = @pk AND c.type = 'serving_event'", partition_key=MODELS, pk=MODELS
        )
        fields = ("version", "newest_checked", "source", "actor", "seq", "created_at")
        events = [ServingEvent(ServingKind(d["kind"]), *(d.get(f) for f in fields)) for d in docs]
        return sorted(events, key=lambda e: e.seq)

    def _append_serving_event(self, event: ServingEvent) -> int:
        created = time.time()

        def ops(seq: int) -> list[tuple]:
            doc = {
                "id": f"serving-event:{seq}",
                "pk": MODELS,
                "type": "serving_event",
                "seq": seq,
                "kind": event.kind.value,
                "version": event.version,
                "newest_checked": event.newest_checked,
                "source": event.source,
                "actor": event.actor,
                "created_at": created,
            }
            return [("create", (doc,))]

        return self._with_counter("models", MODELS, "serving_event", 1, ops)
