"""Prediction writes to Cosmos DB: one request per item versus the store's bucketed batches.

    .venv/bin/python -m bench.cosmos_bulk --items 5000 --json

Runs the local Cosmos DB protocol server (tests/cosmos_server, installed with ``npm ci``), then
writes the same N prediction documents twice, each time into a fresh database: one ``upsert_item``
at a time (the baseline), and through ``CosmosStateStore.write_predictions`` (transactional
batches of up to 100 per hash bucket, several buckets at once). Both runs are checked to have
stored all N documents. Absolute figures are for the local server; the ratio is what matters.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
import warnings

from resources.state_store.cosmos import CosmosStateStore, bucket_of
from resources.state_store.records import Prediction
from tests.support.cosmos_server import LOCAL_KEY, cosmos_server


def sample_predictions(n: int) -> list[Prediction]:
    return [Prediction(f"{uuid.uuid4().hex}:0", i % 50 or None, 0.5 + (i % 97) / 200, 1, i % 50) for i in range(n)]


def measure(items: int, endpoint: str) -> dict:
    predictions = sample_predictions(items)

    def fresh_store() -> CosmosStateStore:
        return CosmosStateStore(
            endpoint=endpoint, key=LOCAL_KEY, database=f"bench-{uuid.uuid4().hex[:8]}", verify_tls=False
        )

    single = fresh_store()
    container = single._c("predictions")
    started = time.perf_counter()
    for p in predictions:
        doc = {
            "id": p.face_id,
            "bucket": bucket_of(p.face_id),
            "persona_id": p.persona_id,
            "confidence": p.confidence,
            "model_version": p.model_version,
            "candidate_persona_id": p.candidate_persona_id,
            "updated_at": time.time(),
        }
        single._retry(lambda d=doc: container.upsert_item(d))
    single_s = time.perf_counter() - started

    bulk = fresh_store()
    bulk._c("predictions")  # database and containers made before the clock starts, as for the baseline
    started = time.perf_counter()
    written = bulk.write_predictions(predictions)
    bulk_s = time.perf_counter() - started

    stored = (len(single.predictions()), len(bulk.predictions()))
    if stored != (items, items) or written != items:
        raise SystemExit(f"not every prediction was stored: {stored}, written {written}")
    unchanged_written = bulk.write_predictions(predictions)
    return {
        "items": items,
        "single_s": round(single_s, 3),
        "bulk_s": round(bulk_s, 3),
        "single_items_per_s": round(items / single_s, 1),
        "bulk_items_per_s": round(items / bulk_s, 1),
        "ratio": round(single_s / bulk_s, 2),
        "rewrite_unchanged_writes": unchanged_written,
        "max_workers": bulk.max_workers,
        "server": "@vercel/cosmosdb-server 1.0.1 (local, in memory)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    with cosmos_server() as endpoint:
        result = measure(args.items, endpoint)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
