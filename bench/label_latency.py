"""Seconds from a label event being written to the predictions reflecting it, with the daemon.

    .venv/bin/python -m bench.label_latency --faces 10000 --batches 6 --json

Builds a synthetic library of N faces on the embedded default (SQLite, local files) with its face
graph stored (as ``face_embeddings`` keeps it), trains the first classifier, starts a real
``dagster-daemon`` with the checkout's instance config and default sensor intervals, waits until
it is idle, then writes label batches through the StateStore API (as the app does) and waits for
``latest_prediction_update`` to reach each batch. The breakdown comes from Dagster's own run
records and run events. ``--baseline REF`` (default: main as it landed before the 100k work, so the comparison still
means something once this work is on main) measures that git revision's code the same way in the
same run (its own library, daemon and instance), printed under ``baseline``; a baseline that fails
to run is reported there with its error, and ours is still printed.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from resources.state_store.records import LabelEvent, LabelKind
from sensors.in_flight import IN_FLIGHT
from tests.support.daemon import ROOT, running_daemon, wait_for
from tests.support.synthetic import SPACE, fill_store

TIMEOUT_S = 300
# main as it landed before the 100k work. The code before the first latency work (17f7472) no
# longer runs in today's venv: its face_classifier imports matplotlib, no longer a dependency.
# Its figures, measured while it ran, are in README's table.
DEFAULT_BASELINE = "a3e3aa8"
PHASES = (
    "sensor_tick_s",
    "queue_s",
    "launch_s",
    "definitions_load_s",
    "run_setup_s",
    "train_s",
    "quality_gate_s",
    "relabel_s",
    "run_end_s",
)


def run_phases(instance: DagsterInstance, run_id: str, written_at: float, seen_at: float) -> dict[str, float]:
    """Where the seconds of one label went, from the run's record and its event log."""
    record = instance.get_run_records(RunsFilter(run_ids=[run_id]))[0]
    marks: dict[str, float] = {}
    steps: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == DagsterEventType.RUN_STARTING:
            marks.setdefault("starting", entry.timestamp)
        elif kind == DagsterEventType.ENGINE_EVENT and (entry.message or "").startswith("Started process for run"):
            marks.setdefault("process", entry.timestamp)
        elif kind == DagsterEventType.RUN_START:
            marks.setdefault("start", entry.timestamp)
        elif kind in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS):
            steps.setdefault(entry.step_key, []).append(entry.timestamp)
    first_step = min((times[0] for times in steps.values()), default=marks["start"])
    last_step = max((times[-1] for times in steps.values()), default=marks["start"])

    def step(key: str) -> float:
        times = steps.get(key, [])
        return times[-1] - times[0] if len(times) == 2 else 0.0

    created = record.create_timestamp.timestamp()
    return {
        "sensor_tick_s": created - written_at,
        "queue_s": marks["starting"] - created,
        "launch_s": marks["process"] - marks["starting"],  # process start + importing dagster
        "definitions_load_s": marks["start"] - marks["process"],  # the code location in the run
        "run_setup_s": first_step - marks["start"],
        "train_s": step("face_classifier"),
        "quality_gate_s": step("face_classifier_classifier_quality_gate"),
        "relabel_s": step("predicted_labels"),
        "run_end_s": seen_at - last_step,  # the last step's end to the bench seeing the update
    }


def build_library(home: Path, faces: int, people: int) -> dict:
    """Synthetic faces with their neighbour lists stored, and the first classifier trained."""
    from assets.core.learning.graph import l2_normalize, nearest_neighbours
    from tests.support.pipeline import local_resources_at, materialize_all

    resources = local_resources_at(home / "home", home / "library")
    store = resources["state_store"]
    built = fill_store(store, faces, people, labels_per_person=3)
    face_ids, embeddings = store.load_embeddings(SPACE)
    positions, sims = nearest_neighbours(l2_normalize(embeddings))
    store.put_neighbours(SPACE, face_ids, np.asarray(face_ids, dtype=object)[positions], sims)
    if not materialize_all(resources).success:
        raise SystemExit("initial training failed")
    return {"store": store, **built}


def instance_at(dagster_home: Path, code_root: Path) -> DagsterInstance:
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(code_root / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    return DagsterInstance.from_config(str(dagster_home))


def alive(daemon: subprocess.Popen) -> bool:
    if daemon.poll() is not None:
        raise RuntimeError(f"dagster-daemon exited ({daemon.returncode}); see its daemon.log")
    return True


def wait_until_idle(instance: DagsterInstance, daemon: subprocess.Popen, settle_s: float = 6.0) -> None:
    """No run queued or running for ``settle_s`` (a baseline may start a retrain at start-up)."""
    quiet_since = time.monotonic()
    deadline = quiet_since + TIMEOUT_S
    while alive(daemon) and time.monotonic() - quiet_since < settle_s:
        if time.monotonic() > deadline:
            raise TimeoutError("the daemon never became idle")
        if instance.get_run_records(RunsFilter(statuses=IN_FLIGHT), limit=1):
            quiet_since = time.monotonic()
        time.sleep(0.2)


def measure(faces: int, batches: int, code_root: Path = ROOT, people: int = 50, per_batch: int = 5) -> dict:
    # A code server the daemon started may still be writing its instance files while they go.
    with tempfile.TemporaryDirectory(prefix="faceloop-latency-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        library = build_library(root, faces, people)
        store = library["store"]
        rng = np.random.default_rng(1)
        unlabeled = [i for i, f in enumerate(library["face_ids"]) if f not in library["labeled"]]
        samples, breakdown = [], []
        dagster_home = root / "dagster_home"
        instance = instance_at(dagster_home, code_root)  # storage created before the daemon opens it
        with running_daemon(root / "home", root / "library", dagster_home, code_root=code_root) as daemon:
            wait_until_idle(instance, daemon)
            runs_at_start = len(instance.get_run_records(RunsFilter(job_name="retrain_job")))
            for _ in range(batches):
                chosen = rng.choice(unlabeled, size=per_batch, replace=False)
                events = [
                    LabelEvent(library["face_ids"][i], LabelKind.ASSIGN, library["persona_ids"][library["person"][i]])
                    for i in chosen
                ]
                written_at = time.time()
                seq = store.append_label_events(events)[-1]
                wait_for(
                    lambda seq=seq: (
                        alive(daemon) and (u := store.latest_prediction_update()) and u["label_watermark"] >= seq
                    ),
                    TIMEOUT_S,
                    interval_s=0.05,
                    what=f"label #{seq} in the predictions",
                )
                seen_at = time.time()
                samples.append(seen_at - written_at)
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
                breakdown.append(run_phases(instance, record.dagster_run.run_id, written_at, seen_at))
                wait_until_idle(instance, daemon, settle_s=0.5)
        return {
            "p50_s": round(statistics.median(samples), 2),
            "p95_s": round(float(np.percentile(samples, 95)), 2),
            "max_s": round(max(samples), 2),
            "samples_s": [round(s, 2) for s in samples],
            "breakdown_median_s": {key: round(statistics.median(b[key] for b in breakdown), 2) for key in PHASES},
            "retrain_runs_at_start": runs_at_start,
        }


def baseline_tree(ref: str, into: Path) -> Path:
    """The code of git revision ``ref`` of this repository, unpacked (no worktree, nothing written to git)."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=10000)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help="git revision to measure side by side (default: main before the 100k work); 'none' to skip",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.batches < 5:
        parser.error("--batches must be at least 5")
    figures = {"faces": args.faces, "batches": args.batches, "labels_per_batch": 5}
    figures |= measure(args.faces, args.batches)
    if args.baseline != "none":
        with tempfile.TemporaryDirectory(prefix="faceloop-baseline-") as tmp:
            tree = baseline_tree(args.baseline, Path(tmp))
            try:
                figures["baseline"] = {"ref": args.baseline, **measure(args.faces, args.batches, code_root=tree)}
            except Exception as exc:  # an old revision that cannot run here must not cost our figures
                figures["baseline"] = {"ref": args.baseline, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
