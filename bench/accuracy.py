"""Accuracy of the product's own pipeline on a folder-per-person photo set.

    .venv/bin/python -m bench.accuracy --images DIR --labels-per-person K [--unknown A B] --json
    .venv/bin/python -m bench.accuracy --images DIR --sweep-unknown [--strangers 2] --json
    .venv/bin/python -m bench.accuracy --images DIR --sweep-one-person --json
    .venv/bin/python -m bench.accuracy --images DIR --wrong-labels 5 --json
    .venv/bin/python -m bench.accuracy --images DIR --multi-face --json

Labels the first K photos (sorted) of each person through sidecars, runs every asset in a
temporary home, and scores the main (largest) face of every other photo. People in ``--unknown``
or under ``DIR/_unknown`` are ingested but never labeled: all their faces should be "unknown".
``--sweep-unknown`` ingests once, then for every pair of people removes their labels (label events
of kind ``remove``, as a person would) and retrains + relabels through the assets, to show how the
figures vary with which two people are unknown (``--strangers N``: the first N photos of each
unknown person are also called strangers, "don't ask again", and left out of the score);
``--sweep-one-person`` does the same with every person in turn as the only one named.
``--wrong-labels N`` gives N labels the wrong person and reports how many land in the top 10 of
the version's ranking of suspicious labels;
``--multi-face`` scores side-by-side composites of two people (bench/multi_face.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.reliability import pooled_reliability, reliability, reliability_lines
from resources.state_store.base import StateStore
from resources.state_store.records import LabelEvent, LabelKind
from tests.support.sample_library import DEFAULT_DATASET, build_library


def score(store: StateStore, keys: dict[str, list[str]], unknown_people: tuple[str, ...] = ()) -> dict:
    """Accuracy on the main face of unlabeled photos of known people; unknown recall on all faces
    of photos of unknown people."""
    names = {p.persona_id: p.name for p in store.personas(include_merged=True)}
    image_of_key = {img.key: img for img in store.images()}
    faces_by_image: dict[str, list] = {}
    for face in store.faces():
        faces_by_image.setdefault(face.image_id, []).append(face)
    predictions = store.predictions()

    def person(key: str) -> str:
        return key.split("/")[-2]

    unknown_keys = [k for k in keys["unknown"]] + [
        k for k in keys["labeled"] + keys["unlabeled"] if person(k) in unknown_people
    ]
    scored = [k for k in keys["unlabeled"] if person(k) not in unknown_people]
    right = 0
    shown: list[tuple[float, bool]] = []  # (the confidence the app shows, is the name it shows right)
    for key in scored:
        image = image_of_key.get(key)
        faces = sorted(faces_by_image.get(image.image_id, []), key=lambda f: f.index) if image else []
        prediction = predictions.get(faces[0].face_id) if faces else None
        right += bool(prediction and names.get(prediction.persona_id) == person(key))
        if prediction and prediction.candidate_persona_id is not None:
            shown.append((prediction.confidence, names.get(prediction.candidate_persona_id) == person(key)))
    set_aside = {f for f, state in store.label_states().items() if state.set_aside is not None}
    unknown_faces = [
        f
        for key in unknown_keys
        if key in image_of_key
        for f in faces_by_image.get(image_of_key[key].image_id, [])
        if f.face_id not in set_aside  # a stranger a person set aside is not predicted at all
    ]
    unknown_hits = sum(
        1 for f in unknown_faces if f.face_id in predictions and predictions[f.face_id].persona_id is None
    )
    shown += [
        (predictions[f.face_id].confidence, False)  # nobody named them: any name shown is wrong
        for f in unknown_faces
        if f.face_id in predictions and predictions[f.face_id].candidate_persona_id is not None
    ]
    model = store.promoted_model()
    return {
        "accuracy": right / len(scored) if scored else None,
        "scored_photos": len(scored),
        "images": len(image_of_key),
        "faces": sum(len(v) for v in faces_by_image.values()),
        "predicted_faces": len(predictions),
        "unknown_rate": sum(p.persona_id is None for p in predictions.values()) / max(len(predictions), 1),
        "unknown_faces": len(unknown_faces),
        "unknown_recall": unknown_hits / len(unknown_faces) if unknown_faces else None,
        "held_out_accuracy": model.metrics.get("accuracy") if model else None,
        "unknown_threshold": model.metrics.get("unknown_threshold") if model else None,
        "provisional": bool(model.metrics.get("provisional")) if model else None,
        **reliability(shown),
    }


def evaluate(images: Path, labels_per_person: int, unknown: tuple[str, ...] = ()) -> dict:
    from tests.support.pipeline import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-accuracy-") as tmp:
        home, library = Path(tmp) / "home", Path(tmp) / "library"
        os.environ.setdefault("DEEPFACE_HOME", str(home))
        keys = build_library(images, library, labels_per_person, unknown)
        resources = local_resources_at(home, library)
        started = time.monotonic()
        if not materialize_all(resources).success:
            raise SystemExit("pipeline run failed")
        figures = score(resources["state_store"], keys)
        return {
            **figures,
            "labels_per_person": labels_per_person,
            "pipeline_seconds": round(time.monotonic() - started, 2),
        }


def retrain_without(images: Path, labels_per_person: int, choices, strangers: int = 0) -> list[dict]:
    """Ingest once; then for each choice of people, remove their labels (label events of kind
    ``remove``, as a person would) in a copy of the store, retrain + relabel through the real
    assets and score with those people as the unknown ones. ``strangers``: the main faces of the
    first that many photos of each unknown person are also called strangers ("don't ask again")
    and left out of the score."""
    from dagster import DagsterInstance, materialize

    from assets.classifier import face_classifier
    from assets.predictions import predicted_labels
    from definitions import CHECKS
    from tests.support.pipeline import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-sweep-") as tmp:
        home, library = Path(tmp) / "home", Path(tmp) / "library"
        os.environ.setdefault("DEEPFACE_HOME", str(home))
        keys = build_library(images, library, labels_per_person)
        base = local_resources_at(home, library)
        if not materialize_all(base).success:
            raise SystemExit("pipeline run failed")
        people = sorted({key.split("/")[-2] for key in keys["labeled"]})
        events = base["state_store"].label_events()
        image_key = {img.image_id: img.key for img in base["state_store"].images()}
        results = []
        for unknown in choices(people):
            fork = Path(tmp) / "fork"
            shutil.rmtree(fork, ignore_errors=True)
            fork.mkdir()
            with sqlite3.connect(home / "state.db") as source, sqlite3.connect(fork / "state.db") as target:
                source.backup(target)
            resources = {**base, "state_store": local_resources_at(fork, library)["state_store"]}
            store = resources["state_store"]
            store.append_label_events(
                [
                    LabelEvent(e.face_id, LabelKind.REMOVE, None, source="bench")
                    for e in events
                    if image_key[e.face_id.split(":")[0]].split("/")[-2] in unknown
                ]
                + stranger_events(image_key, unknown, strangers)
            )
            # Only the labels changed: retrain + relabel, exactly what the label sensor runs.
            run = materialize(
                [face_classifier, predicted_labels, *CHECKS],
                resources=resources,
                instance=DagsterInstance.ephemeral(),
            )
            if not run.success:
                raise SystemExit(f"retrain failed without {unknown}")
            named = [p for p in people if p not in unknown]
            results.append({"unknown": list(unknown), "named": named, **score(store, keys, tuple(unknown))})
        return results


def stranger_events(image_key: dict[str, str], unknown, per_person: int) -> list[LabelEvent]:
    """STRANGER events for the main face of the first ``per_person`` photos of each unknown person."""
    events = []
    for person in unknown:
        photos = sorted((key, image_id) for image_id, key in image_key.items() if key.split("/")[-2] == person)
        events += [
            LabelEvent(f"{image_id}:0", LabelKind.STRANGER, None, source="bench") for _, image_id in photos[:per_person]
        ]
    return events


def summary(results: list[dict], min_accuracy: float, min_recall: float) -> dict:
    accuracy = [r["accuracy"] for r in results]
    recall = [r["unknown_recall"] for r in results]
    both = [a >= min_accuracy and u >= min_recall for a, u in zip(accuracy, recall, strict=True)]
    pooled = pooled_reliability([r["reliability"] for r in results])
    return {
        **pooled,
        "accuracy_mean": round(statistics.mean(accuracy), 4),
        "accuracy_min": round(min(accuracy), 4),
        "unknown_recall_mean": round(statistics.mean(recall), 4),
        "unknown_recall_min": round(min(recall), 4),
        "share_meeting_both_goals": round(sum(both) / len(both), 4),
    }


def sweep_unknown(images: Path, labels_per_person: int, strangers: int = 0) -> dict:
    """Every pair of people as the unknown ones; retrain + relabel through the real assets."""
    results = retrain_without(images, labels_per_person, lambda people: itertools.combinations(people, 2), strangers)
    return {
        "pairs": len(results),
        "labels_per_person": labels_per_person,
        "strangers_per_unknown_person": strangers,
        **summary(results, 0.95, 0.9),
        "per_pair": results,
    }


def sweep_one_person(images: Path, labels_per_person: int) -> dict:
    """Every person as the only one named (the others' labels removed): their other photos should
    be them (``accuracy``), every face of the others unknown (``unknown_recall``)."""
    results = retrain_without(
        images, labels_per_person, lambda people: [tuple(p for p in people if p != only) for only in people]
    )
    return {
        "choices": len(results),
        "labels_per_person": labels_per_person,
        **summary(results, 0.85, 0.9),
        "per_person": results,
    }


def wrong_labels(images: Path, labels_per_person: int, count: int) -> dict:
    """``count`` of the sidecar labels name the wrong person: where do they land in the version's
    leave-one-out ranking of suspicious labels?"""
    from tests.support.pipeline import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-wrong-labels-") as tmp:
        home, library = Path(tmp) / "home", Path(tmp) / "library"
        os.environ.setdefault("DEEPFACE_HOME", str(home))
        keys = build_library(images, library, labels_per_person)
        people = sorted({key.split("/")[-2] for key in keys["labeled"]})
        rng = random.Random(0)
        wrong = sorted(rng.sample(keys["labeled"], count))
        for key in wrong:  # each names the next person in the list instead
            true = key.split("/")[-2]
            given = people[(people.index(true) + 1) % len(people)]
            (library / key).with_suffix(".json").write_text(json.dumps({"persona": given}))
        resources = local_resources_at(home, library)
        run = materialize_all(resources)  # the gate may refuse a version trained on wrong labels
        store = resources["state_store"]
        latest = store.latest_model()
        if latest is None or not latest.artifact_key:
            raise SystemExit(f"no classifier was trained (run success: {run.success})")
        image_of_key = {img.key: img.image_id for img in store.images()}
        wrong_faces = {f"{image_of_key[key]}:0": key for key in wrong}
        ranking = [row["face_id"] for row in latest.metrics["label_check"]]
        key_of_face = {f"{image_id}:0": key for key, image_id in image_of_key.items()}
        ranks = {key: ranking.index(face) + 1 if face in ranking else None for face, key in wrong_faces.items()}
        return {
            "wrong_labels": count,
            "labeled_faces": len(keys["labeled"]),
            "wrong_labels_in_top10": sum(1 for rank in ranks.values() if rank is not None and rank <= 10),
            "wrong_label_ranks": ranks,
            "top10": [key_of_face.get(face, face) for face in ranking[:10]],
            "held_out_accuracy": latest.metrics.get("accuracy"),
            "passed_gate": latest.passed_gate,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--labels-per-person", type=int, default=3)
    parser.add_argument("--unknown", nargs="*", default=[], help="people to treat as never labeled")
    parser.add_argument("--sweep-unknown", action="store_true", help="every pair of people as the unknown ones")
    parser.add_argument("--sweep-one-person", action="store_true", help="every person as the only one named")
    parser.add_argument("--wrong-labels", type=int, default=0, help="this many labels name the wrong person")
    parser.add_argument("--multi-face", action="store_true", help="side-by-side composites of two people")
    parser.add_argument(
        "--strangers", type=int, default=0, help="--sweep-unknown: this many faces per unknown person called strangers"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.sweep_unknown:
        figures = sweep_unknown(args.images, args.labels_per_person, args.strangers)
    elif args.sweep_one_person:
        figures = sweep_one_person(args.images, args.labels_per_person)
    elif args.wrong_labels:
        figures = wrong_labels(args.images, args.labels_per_person, args.wrong_labels)
    elif args.multi_face:
        from bench.multi_face import evaluate_multi_face

        figures = evaluate_multi_face(args.images, args.labels_per_person)
    else:
        figures = evaluate(args.images, args.labels_per_person, tuple(args.unknown))
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            if name not in ("per_pair", "per_person", "reliability", "expected_calibration_error"):
                print(f"{name:26s} {value}")
        if "reliability" in figures:
            print("\n".join(reliability_lines(figures)))


if __name__ == "__main__":
    main()
