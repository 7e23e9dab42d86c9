"""Accuracy of the product's own pipeline on a folder-per-person photo set.

    .venv/bin/python -m bench.accuracy --images DIR --labels-per-person K [--unknown A B] --json

Labels the first K photos (sorted) of each person through sidecars, runs every asset in a
temporary home, and scores the main (largest) face of every other photo. People in ``--unknown``
or under ``DIR/_unknown`` are ingested but never labeled: all their faces should be "unknown".
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.sample_library import DEFAULT_DATASET, build_library


def evaluate(images: Path, labels_per_person: int, unknown: tuple[str, ...] = ()) -> dict:
    from bench.harness import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-accuracy-") as tmp:
        home, library = Path(tmp) / "home", Path(tmp) / "library"
        os.environ["DEEPFACE_HOME"] = str(home)
        keys = build_library(images, library, labels_per_person, unknown)
        resources = local_resources_at(home, library)
        started = time.monotonic()
        result = materialize_all(resources)
        seconds = time.monotonic() - started
        if not result.success:
            raise SystemExit("pipeline run failed")
        store = resources["state_store"]
        names = {p.persona_id: p.name for p in store.personas(include_merged=True)}
        image_of_key = {img.key: img for img in store.images()}
        faces_by_image: dict[str, list] = {}
        for face in store.faces():
            faces_by_image.setdefault(face.image_id, []).append(face)
        predictions = store.predictions()
        right = total = 0
        for key in keys["unlabeled"]:
            total += 1
            image = image_of_key.get(key)
            faces = sorted(faces_by_image.get(image.image_id, []), key=lambda f: f.index) if image else []
            prediction = predictions.get(faces[0].face_id) if faces else None
            expected = key.split("/")[0]
            right += bool(prediction and names.get(prediction.persona_id) == expected)
        unknown_faces = [
            f
            for key in keys["unknown"]
            if key in image_of_key
            for f in faces_by_image.get(image_of_key[key].image_id, [])
        ]
        unknown_hits = sum(
            1 for f in unknown_faces if f.face_id in predictions and predictions[f.face_id].persona_id is None
        )
        model = store.promoted_model()
        return {
            "accuracy": right / total if total else None,
            "scored_photos": total,
            "images": len(image_of_key),
            "faces": sum(len(v) for v in faces_by_image.values()),
            "predicted_faces": len(predictions),
            "unknown_rate": sum(p.persona_id is None for p in predictions.values()) / max(len(predictions), 1),
            "unknown_faces": len(unknown_faces),
            "unknown_recall": unknown_hits / len(unknown_faces) if unknown_faces else None,
            "labels_per_person": labels_per_person,
            "held_out_accuracy": model.metrics.get("accuracy") if model else None,
            "knownness_threshold": model.metrics.get("knownness_threshold") if model else None,
            "pipeline_seconds": round(seconds, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--labels-per-person", type=int, default=3)
    parser.add_argument("--unknown", nargs="*", default=[], help="people to treat as never labeled")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = evaluate(args.images, args.labels_per_person, tuple(args.unknown))
    if args.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:20s} {value}")


if __name__ == "__main__":
    main()
