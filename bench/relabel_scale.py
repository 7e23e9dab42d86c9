"""Relabel at scale: seconds and peak memory of predicted_labels over N faces (SQLite store).

    .venv/bin/python -m bench.relabel_scale --faces 1000000 --json

Setup (not timed): N synthetic faces of N/200 people (unit embeddings around one centre per
person, like Dlib's), bulk-inserted into the SQLite schema (the store's one-row-per-call API would
take an hour for a million rows and is not what is measured); each face's 5 nearest neighbours,
as face_embeddings keeps them, computed exactly within its person's cluster (clusters are far
apart: cosine < 0.4 between people, > 0.9 within); 3 labels for each of 50 people; a classifier
trained and promoted, first predictions written. Then 5 new labels arrive, a new version is
trained, and the measured step runs: ``predicted_labels`` in a fresh process, timed end to end
(model load, graph load, scoring every face, writing the changed predictions), its peak RSS read
from the OS (its own address space's high-water mark). The first relabel (every prediction written)
is reported too, and the measured run's phases (load: the library with its graph, the model and
the labels; scoring; write) as the asset logs them.
Last, one more label per labeled person and ``retrain_job``'s work in one fresh process (train,
quality gate, relabel): ``retrain_and_relabel_seconds``, what a batch of labels costs at N faces
after the sensor has launched the run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.support.synthetic import SPACE

K = 5
FACES_PER_PERSON = 200
LABELED_PEOPLE = 50


def build(home: Path, faces: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    from assets.core.learning.graph import l2_normalize, nearest_neighbours
    from tests.support.pipeline import local_resources_at

    rng = np.random.default_rng(seed)
    people = max(2, faces // FACES_PER_PERSON)
    store = local_resources_at(home, home / "library")["state_store"]
    store.label_watermark()  # creates the schema
    centres = l2_normalize(rng.normal(size=(people, 128)).astype(np.float32))
    person = np.sort(rng.integers(0, people, size=faces))
    vectors = np.empty((faces, 128), dtype=np.float32)
    for start in range(0, faces, 100_000):
        stop = min(faces, start + 100_000)
        noise = rng.normal(scale=0.3 / np.sqrt(128), size=(stop - start, 128)).astype(np.float32)
        vectors[start:stop] = centres[person[start:stop]] + noise
    unit = l2_normalize(vectors)
    neighbours = np.empty((faces, K), dtype=np.int64)
    sims = np.empty((faces, K), dtype=np.float32)
    bounds = np.searchsorted(person, np.arange(people + 1))
    for p in range(people):
        lo, hi = bounds[p], bounds[p + 1]
        if hi - lo > K:
            idx, sim = nearest_neighbours(unit[lo:hi])
            neighbours[lo:hi], sims[lo:hi] = idx + lo, sim
        else:  # a tiny cluster: its nearest faces overall (exact)
            idx, sim = nearest_neighbours(unit, np.arange(lo, hi))
            neighbours[lo:hi], sims[lo:hi] = idx, sim
    face_ids = [f"{i:012d}:0" for i in range(faces)]  # sorted like the store sorts them
    with sqlite3.connect(home / "state.db") as conn:
        conn.executemany(
            "INSERT INTO images (image_id, key, status, created_at) VALUES (?, ?, 'done', 0)",
            ((f"{i:012d}", f"synthetic/{i}.jpg") for i in range(faces)),
        )
        conn.executemany(
            "INSERT INTO faces (rowid, face_id, image_id, idx, x, y, w, h, confidence)"
            " VALUES (?, ?, ?, 0, 0, 0, 9, 9, 1)",
            ((i + 1, face_ids[i], f"{i:012d}") for i in range(faces)),
        )
        conn.executemany(
            "INSERT INTO embeddings VALUES (?, ?, ?, ?, ?)",
            (
                (face_ids[i], SPACE, vectors[i].tobytes(), (neighbours[i] + 1).tobytes(), sims[i].tobytes())
                for i in range(faces)
            ),
        )
    return person, face_ids


def label(home: Path, person: np.ndarray, face_ids: list[str], per_person: int, skip: int = 0) -> None:
    from resources.state_store.records import LabelEvent, LabelKind
    from tests.support.pipeline import local_resources_at

    store = local_resources_at(home, home / "library")["state_store"]
    bounds = np.searchsorted(person, np.arange(LABELED_PEOPLE + 1))
    events = []
    for p in range(LABELED_PEOPLE):
        persona = store.ensure_persona(f"person_{p:04d}").persona_id
        for i in range(bounds[p] + skip, min(bounds[p] + skip + per_person, bounds[p + 1])):
            events.append(LabelEvent(face_ids[i], LabelKind.ASSIGN, persona, source="bench"))
    store.append_label_events(events)


def run_assets(home: Path, names: list[str]) -> dict:
    """Materialize ``names``; returns the metadata of the last one's materialization."""
    from dagster import DagsterInstance, materialize

    from definitions import ASSETS, CHECKS
    from tests.support.pipeline import local_resources_at

    selected = [a for a in ASSETS if any(key.to_user_string() in names for key in a.keys)]
    checks = CHECKS if "face_classifier" in names else []
    result = materialize(
        [*selected, *checks],
        resources=local_resources_at(home, home / "library"),
        instance=DagsterInstance.ephemeral(),
    )
    if not result.success:
        raise SystemExit(f"{names} failed")
    event = result.asset_materializations_for_node(names[-1])[-1]
    return {key: value.value for key, value in event.metadata.items()}


def timed_run(home: Path, names: list[str]) -> dict:
    """``names`` materialized in a fresh interpreter, as a run does: its own wall time and peak RSS."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.relabel_scale", "--child", str(home), "--assets", ",".join(names)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's own peak RSS.

    Not ``getrusage``: Linux carries ``ru_maxrss`` across exec, so a child started by a parent
    holding 2 GB reports 2 GB. ``VmHWM`` belongs to the process's own address space.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(home: Path, names: list[str]) -> None:
    from tests.support.pipeline import local_resources_at

    started = time.monotonic()
    metadata = run_assets(home, names)
    seconds = time.monotonic() - started
    store = local_resources_at(home, home / "library")["state_store"]
    update = store.latest_prediction_update()
    figures = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_rss_mb(), 1)}
    figures |= {"model_version": update["model_version"], "written": metadata["written"]}
    figures |= {key: metadata[key] for key in metadata if key.startswith("seconds_")}
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--assets", default="predicted_labels", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.assets.split(","))
        return
    with tempfile.TemporaryDirectory(prefix="faceloop-relabel-") as tmp:
        home = Path(tmp)
        started = time.monotonic()
        person, face_ids = build(home, args.faces)
        label(home, person, face_ids, per_person=3)
        run_assets(home, ["face_classifier"])
        setup = time.monotonic() - started
        first = timed_run(home, ["predicted_labels"])
        label(home, person, face_ids, per_person=1, skip=3)  # new labels arrive: a new version
        run_assets(home, ["face_classifier"])
        again = timed_run(home, ["predicted_labels"])
        label(home, person, face_ids, per_person=1, skip=4)  # more labels: what retrain_job does
        retrain = timed_run(home, ["face_classifier", "predicted_labels"])
        from tests.support.pipeline import local_resources_at

        store = local_resources_at(home, home / "library")["state_store"]
        predictions = store._read("SELECT COUNT(*), SUM(persona_id IS NULL) FROM predictions")[0]
    figures = {
        "faces": args.faces,
        "labeled_people": LABELED_PEOPLE,
        "seconds": again["seconds"],
        "peak_rss_mb": again["peak_rss_mb"],
        "written": again["written"],
        "phases_s": {key.removeprefix("seconds_"): value for key, value in again.items() if key.startswith("seconds_")},
        "first_relabel_seconds": first["seconds"],
        "first_relabel_peak_rss_mb": first["peak_rss_mb"],
        "first_relabel_written": first["written"],
        "retrain_and_relabel_seconds": retrain["seconds"],
        "retrain_and_relabel_peak_rss_mb": retrain["peak_rss_mb"],
        "predictions": predictions[0],
        "unknown": predictions[1],
        "setup_seconds": round(setup, 1),
    }
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
