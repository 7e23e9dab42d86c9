"""Seconds from a label event being written to the predictions reflecting it, with the daemon.

    .venv/bin/python -m bench.label_latency --faces 10000 --batches 6 --json

Builds a synthetic library of N faces on the embedded default (SQLite, local files), trains the
first classifier, starts a real ``dagster-daemon`` with the project's instance config and default
sensor intervals, then writes label batches through the StateStore API (as the app does) and
waits for ``latest_prediction_update`` to reach each batch. The breakdown comes from Dagster's own
run records and step events.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter, RunsFilter

from bench.daemon import running_daemon, wait_for
from bench.synthetic import fill_store
from resources.state_store.records import LabelEvent, LabelKind

TIMEOUT_S = 300


def step_seconds(instance: DagsterInstance, run_id: str) -> dict[str, float]:
    """Wall time of each step of a run, from its STEP_START / STEP_SUCCESS events."""
    starts, ends = {}, {}
    for kind, bucket in ((DagsterEventType.STEP_START, starts), (DagsterEventType.STEP_SUCCESS, ends)):
        records = instance.get_event_records(EventRecordsFilter(event_type=kind), limit=1000)
        for record in records:
            if record.run_id == run_id:
                bucket[record.event_log_entry.step_key] = record.timestamp
    return {key: ends[key] - starts[key] for key in starts if key in ends} | {
        "_first_step_start": min(starts.values(), default=0.0),
        "_last_step_end": max(ends.values(), default=0.0),
    }


def measure(faces: int, batches: int, people: int = 50, per_batch: int = 5) -> dict:
    from bench.harness import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-latency-") as tmp:
        root = Path(tmp)
        resources = local_resources_at(root / "home", root / "library")
        store = resources["state_store"]
        built = fill_store(store, faces, people, labels_per_person=3)
        if not materialize_all(resources).success:
            raise SystemExit("initial training failed")
        rng = np.random.default_rng(1)
        unlabeled = [i for i, f in enumerate(built["face_ids"]) if f not in built["labeled"]]
        samples, breakdown = [], []
        dagster_home = root / "dagster_home"
        with running_daemon(root / "home", root / "library", dagster_home):
            instance = DagsterInstance.from_config(str(dagster_home))
            time.sleep(5)  # let the daemon come up before the clock starts
            for _ in range(batches):
                chosen = rng.choice(unlabeled, size=per_batch, replace=False)
                events = [
                    LabelEvent(built["face_ids"][i], LabelKind.ASSIGN, built["persona_ids"][built["person"][i]])
                    for i in chosen
                ]
                written_at = time.time()
                seq = store.append_label_events(events)[-1]
                wait_for(
                    lambda seq=seq: (u := store.latest_prediction_update()) and u["label_watermark"] >= seq,
                    TIMEOUT_S,
                    interval_s=0.05,
                    what=f"label #{seq} in the predictions",
                )
                samples.append(time.time() - written_at)
                record = wait_for(
                    lambda seq=seq: next(
                        (
                            r
                            for r in instance.get_run_records(RunsFilter(job_name="retrain_job"))
                            if int(r.dagster_run.tags.get("faceloop/label_watermark", 0)) >= seq and r.end_time
                        ),
                        None,
                    ),
                    TIMEOUT_S,
                    what="the retrain run to finish",
                )
                steps = step_seconds(instance, record.dagster_run.run_id)
                breakdown.append(
                    {
                        "sensor_tick_s": record.create_timestamp.timestamp() - written_at,
                        "queue_and_launch_s": record.start_time - record.create_timestamp.timestamp(),
                        "run_startup_s": steps["_first_step_start"] - record.start_time,
                        "train_s": steps.get("face_classifier", 0.0),
                        "quality_gate_s": steps.get("face_classifier_classifier_quality_gate", 0.0),
                        "relabel_s": steps.get("predicted_labels", 0.0),
                    }
                )
        samples.sort()
        return {
            "faces": faces,
            "batches": batches,
            "labels_per_batch": per_batch,
            "p50_s": round(statistics.median(samples), 2),
            "p95_s": round(float(np.percentile(samples, 95)), 2),
            "max_s": round(samples[-1], 2),
            "samples_s": [round(s, 2) for s in samples],
            "breakdown_median_s": {key: round(statistics.median(b[key] for b in breakdown), 2) for key in breakdown[0]},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=10000)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.batches < 5:
        parser.error("--batches must be at least 5")
    figures = measure(args.faces, args.batches)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
