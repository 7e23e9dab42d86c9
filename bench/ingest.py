"""Ingest throughput: FaceLoop's ingest vs deepface's own per-photo loop, same photos, one run.

    .venv/bin/python -m bench.ingest --images DIR [--upscale-to 3000] [--limit N] --json

Ours: raw_images + detected_faces + face_embeddings into a fresh store (content hashing, detection
on a downscaled copy, alignment and embedding from full resolution, both cores, results stored).
Baseline: ``DeepFace.represent(path, model_name="Dlib", detector_backend="dlib")`` for each photo,
one after the other. Both are timed end to end including model loading. ``--upscale-to`` first
writes JPEG copies scaled so their long side has that many pixels (phone-photo sizes).
``faces_in_both`` counts baseline faces whose box overlaps one of ours (IoU >= 0.5): face counts
alone cannot tell a face one side missed from a spurious box the other side found.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2

from bench.sample_library import DEFAULT_DATASET, photos_of


def upscaled_copies(photos: list[Path], target: Path, long_side: int) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for i, photo in enumerate(photos):
        image = cv2.imread(str(photo))
        scale = long_side / max(image.shape[:2])
        big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        path = target / f"{i:04d}_{photo.stem}.jpg"
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(path)
    return out


Box = tuple[int, int, int, int]


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def faces_in_both(ours: dict[str, list[Box]], baseline: dict[str, list[Box]]) -> int:
    """Baseline faces that coincide with one of ours in the same photo (HOG boxes shift with scale)."""
    return sum(
        any(overlap(mine, theirs) >= 0.5 for mine in ours.get(name, []))
        for name, boxes in baseline.items()
        for theirs in boxes
    )


def run_ours(photos: list[Path], root: Path, workers: int) -> dict:
    import shutil

    from dagster import DagsterInstance, materialize

    from assets.ingest.faces import detected_faces, face_embeddings
    from assets.ingest.photos import raw_images
    from bench.harness import local_resources_at

    library = root / "library"
    library.mkdir(parents=True)
    for photo in photos:
        shutil.copyfile(photo, library / photo.name)
    resources = local_resources_at(root / "home", library)
    config = {"ops": {name: {"config": {"workers": workers}} for name in ("detected_faces", "face_embeddings")}}
    started = time.monotonic()
    result = materialize(
        [raw_images, detected_faces, face_embeddings],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        run_config=config,
    )
    seconds = time.monotonic() - started
    if not result.success:
        raise SystemExit("ingest run failed")
    store = resources["state_store"]
    names = {image.image_id: Path(image.key).name for image in store.images()}
    boxes: dict[str, list[Box]] = {}
    for face in store.faces():
        boxes.setdefault(names[face.image_id], []).append(tuple(face.box))
    return {"seconds": seconds, "faces": len(store.load_embeddings("Dlib")[0]), "boxes": boxes}


def run_baseline(photos: list[Path]) -> dict:
    started = time.monotonic()
    from deepface import DeepFace

    faces = 0
    boxes: dict[str, list[Box]] = {}
    for photo in photos:
        try:
            found = DeepFace.represent(str(photo), model_name="Dlib", detector_backend="dlib")
        except ValueError:  # deepface raises when it finds no face
            continue
        faces += len(found)
        boxes[photo.name] = [tuple(f["facial_area"][k] for k in ("x", "y", "w", "h")) for f in found]
    return {"seconds": time.monotonic() - started, "faces": faces, "boxes": boxes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--upscale-to", type=int, default=0, help="long side in pixels of generated copies")
    parser.add_argument("--limit", type=int, default=0, help="use the first N photos (sorted)")
    parser.add_argument("--workers", type=int, default=0, help="ours: worker processes (0 = all cores)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    photos = photos_of(args.images)[: args.limit or None]
    with tempfile.TemporaryDirectory(prefix="faceloop-ingest-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("DEEPFACE_HOME", str(root / "home"))
        from resources.face_engine.weights import provision_weights

        provision_weights()
        if args.upscale_to:
            photos = upscaled_copies(photos, root / "upscaled", args.upscale_to)
        megapixels = [cv2.imread(str(p), cv2.IMREAD_REDUCED_GRAYSCALE_8).size * 64 / 1e6 for p in photos[:5]]
        ours = run_ours(photos, root / "ours", args.workers)
        baseline = run_baseline(photos)
    figures = {
        "images": len(photos),
        "approx_megapixels": round(sum(megapixels) / len(megapixels), 1),
        "ours_seconds": round(ours["seconds"], 2),
        "baseline_seconds": round(baseline["seconds"], 2),
        "ours_images_per_s": round(len(photos) / ours["seconds"], 3),
        "baseline_images_per_s": round(len(photos) / baseline["seconds"], 3),
        "ratio": round(baseline["seconds"] / ours["seconds"], 2),
        "ours_faces": ours["faces"],
        "baseline_faces": baseline["faces"],
        "faces_in_both": faces_in_both(ours["boxes"], baseline["boxes"]),
        "cores": len(os.sched_getaffinity(0)),
    }
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
