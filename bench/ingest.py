"""Ingest throughput: FaceLoop's ingest vs deepface's own per-photo loop, same photos, one run.

    .venv/bin/python -m bench.ingest --images DIR [--upscale-to 3000 | --mixed] [--limit N] --json

Ours: raw_images + ingest_faces (production's detected_faces + face_embeddings, here as one
chunk on the in-process executor) into a fresh store (content hashing, detection on a downscaled
copy, alignment from the smallest decode that keeps each face sharp, every core, results stored).
Baseline: ``DeepFace.represent(path, model_name="Dlib", detector_backend="dlib")`` for each photo,
one after the other. Both are timed end to end including model loading.
``--upscale-to`` first writes JPEG copies scaled so their long side has that many pixels
(phone-photo sizes); ``--mixed`` writes 60 of them at 1 to 14 MP instead (see MIXED_MEGAPIXELS).

Where ours spends its time: ``phases_s`` (start-up: spawn until every worker has its models;
read, store: the run's own process; decode, detect, align, embed: seconds summed over workers; all
from the chunk step's metadata, as finish_ingest reports it).
``limit_faces_per_s`` is the model work alone, measured in the same run on warm workers just before
and just after ours (the mean of the two): detection on already-decoded detection copies plus
embedding of the same aligned faces, every core busy. ``steady_faces_per_s`` is ours once
start-up is paid: faces over the chunk step's and the face graph's seconds less start-up. On a
machine others share, compare those two, not absolute seconds; ``load_average`` says how busy it
was (start, end) and ``cores_used`` how many cores' worth of CPU our steps got (worker and run-process CPU seconds over
the steps' seconds). ``model_share_of_worker_time``: detect + embed seconds over the workers'
seconds once started, the part of the gap to the limit that is ours, whatever the load.
``faces_in_both`` counts baseline faces whose box overlaps one of ours (IoU >= 0.5): face counts
alone cannot tell a face one side missed from a spurious box the other side found; the baseline's
boxes that none of ours matches are listed in ``baseline_only`` to be looked at.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from tests.support.sample_library import DEFAULT_DATASET, photos_of

# Megapixels of the --mixed set, cycled over its 60 photos: mostly 1-2 MP (median 1.5), some
# phone-camera sizes up to 14 MP, as a family collection mixes scans, messengers and cameras.
MIXED_MEGAPIXELS = (1.0, 1.2, 1.3, 1.5, 1.5, 2.0, 3.0, 5.0, 9.0, 14.0)
MIXED_PHOTOS = 60


def scaled_copy(photo: Path, target: Path, long_side: int) -> Path:
    image = cv2.imread(str(photo))
    scale = long_side / max(image.shape[:2])
    big = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(target), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return target


def upscaled_copies(photos: list[Path], target: Path, long_side: int) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    return [scaled_copy(photo, target / f"{i:04d}_{photo.stem}.jpg", long_side) for i, photo in enumerate(photos)]


def mixed_copies(photos: list[Path], target: Path, count: int = MIXED_PHOTOS) -> list[Path]:
    """``count`` photos spread over the people, each scaled to the next size of MIXED_MEGAPIXELS."""
    target.mkdir(parents=True, exist_ok=True)
    picked = [photos[i * len(photos) // count] for i in range(count)]
    out = []
    for i, photo in enumerate(picked):
        megapixels = MIXED_MEGAPIXELS[i % len(MIXED_MEGAPIXELS)]
        height, width = cv2.imread(str(photo)).shape[:2]
        long_side = round(math.sqrt(megapixels * 1e6 * max(width, height) / min(width, height)))
        out.append(scaled_copy(photo, target / f"{i:04d}_{megapixels:g}MP_{photo.stem}.jpg", long_side))
    return out


Box = tuple[int, int, int, int]


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def baseline_only(ours: dict[str, list[Box]], baseline: dict[str, list[Box]]) -> list[tuple[str, Box]]:
    """Baseline faces that none of ours coincides with (HOG boxes shift with scale: IoU >= 0.5 is a match)."""
    return [
        (name, theirs)
        for name, boxes in baseline.items()
        for theirs in boxes
        if not any(overlap(mine, theirs) >= 0.5 for mine in ours.get(name, []))
    ]


def faces_in_both(ours: dict[str, list[Box]], baseline: dict[str, list[Box]]) -> int:
    """Baseline faces that coincide with one of ours in the same photo."""
    return sum(len(boxes) for boxes in baseline.values()) - len(baseline_only(ours, baseline))


PHASES = ("startup", "read", "decode", "detect", "align", "embed", "store")


def phases_of(detection: dict, embedding: dict) -> dict[str, float]:
    """Seconds per phase from the metadata finish_ingest gives both assets (sums over the chunk steps).

    A chunk step reports ``detect_<phase>_s`` and ``embed_<phase>_s``; the face graph is stored
    after the chunks (``graph_s``), as part of the store phase.
    """
    phases = {
        phase: sum(detection.get(f"{prefix}{phase}_s", 0.0) for prefix in ("", "detect_", "embed_")) for phase in PHASES
    }
    phases["store"] += embedding["graph_s"]
    return phases


def run_ours(photos: list[Path], root: Path, workers: int) -> dict:
    """Production's ingest, ``ingest_faces``, as one chunk on the in-process executor (one warm pool)."""
    import shutil

    from dagster import DagsterInstance, materialize

    from assets.ingest.chunks import ingest_faces
    from assets.ingest.photos import raw_images
    from tests.support.pipeline import local_resources_at

    library = root / "library"
    library.mkdir(parents=True)
    for photo in photos:
        shutil.copyfile(photo, library / photo.name)
    resources = local_resources_at(root / "home", library)
    chunk_ops = {
        "plan_ingest_chunks": {"config": {"photos_per_chunk": max(1, len(photos))}},
        "ingest_chunk": {"config": {"workers": workers}},
    }
    started = time.monotonic()
    result = materialize(
        [raw_images, ingest_faces],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        run_config={"ops": {"ingest_faces": {"ops": chunk_ops}}},
    )
    seconds = time.monotonic() - started
    if not result.success:
        raise SystemExit("ingest run failed")
    steps = {
        m.asset_key.to_user_string(): {key: value.value for key, value in m.metadata.items()}
        for m in result.asset_materializations_for_node("ingest_faces")
    }
    detection, embedding = steps["detected_faces"], steps["face_embeddings"]
    store = resources["state_store"]
    names = {image.image_id: Path(image.key).name for image in store.images()}
    boxes: dict[str, list[Box]] = {}
    for face in store.faces():
        boxes.setdefault(names[face.image_id], []).append(tuple(face.box))
    return {
        "seconds": seconds,
        "steps_seconds": detection["chunk_seconds_sum"] + embedding["graph_s"],
        "faces": len(store.load_embeddings("Dlib")[0]),
        "boxes": boxes,
        "phases": phases_of(detection, embedding),
        "workers_started": detection["workers_started"],
        "cpu_s": detection["detect_worker_cpu_s"] + detection["embed_worker_cpu_s"] + detection["run_cpu_s"],
        "resources": resources,
    }


def detection_copies(photos: list[Path], engine) -> list[tuple]:
    from assets.core.ingest.decode import open_photo

    copies = []
    for photo in photos:
        opened = open_photo(photo.read_bytes())
        copies.append((engine.detection_copy(opened.decode(engine.detect_max_side).pixels), opened.size))
    return copies


def aligned_faces(photos: list[Path], pool) -> list[np.ndarray]:
    """The aligned crops ingest will store for these photos (same code, no store)."""
    outcomes = pool.analyse((photo.name, photo.read_bytes) for photo in photos)
    return [
        cv2.imdecode(np.frombuffer(face.aligned_png, np.uint8), cv2.IMREAD_COLOR)
        for outcome in outcomes
        for face in outcome.faces
    ]


def measure_limit(copies: list[tuple], aligned: list[np.ndarray], pool) -> float:
    """Faces/s of the model work alone on warm workers: detection copies and aligned faces are ready."""
    pool.wait_until_ready()
    size = math.ceil(len(aligned) / pool.workers)
    started = time.monotonic()
    for _ in pool.call("locate_in_photo", copies):
        pass
    chunks = ([aligned[i : i + size]] for i in range(0, len(aligned), size))
    embedded = sum(len(vectors) for vectors in pool.call("embed", chunks))
    return embedded / (time.monotonic() - started)


def ours_between_limits(photos: list[Path], root: Path, workers: int) -> tuple[dict, list[float]]:
    """Our ingest (from cold workers), with the limit measured just before and just after it.

    Others' load on a shared machine moves within a minute; the mean of the two brackets it.
    """
    from assets.core.ingest.pool import FacePool, shared_pool
    from resources.deployments import face_engine_from_env

    engine = face_engine_from_env()
    copies = detection_copies(photos, engine)
    with FacePool(engine, workers) as pool:  # its own workers: ours still starts cold
        limits = [measure_limit(copies, aligned_faces(photos, pool), pool)]
    ours = run_ours(photos, root, workers)
    aligned = [
        cv2.imdecode(np.frombuffer(ours["resources"]["artifact_store"].get(face.aligned_key), np.uint8), 1)
        for face in ours["resources"]["state_store"].faces()
    ]
    limits.append(measure_limit(copies, aligned, shared_pool(ours["resources"]["face_engine"], workers)))
    return ours, limits


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


def megapixels_of(photos: list[Path]) -> list[float]:
    return [cv2.imread(str(p), cv2.IMREAD_REDUCED_GRAYSCALE_8).size * 64 / 1e6 for p in photos]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--upscale-to", type=int, default=0, help="long side in pixels of generated copies")
    parser.add_argument("--mixed", action="store_true", help=f"{MIXED_PHOTOS} copies of 1-14 MP instead")
    parser.add_argument("--limit", type=int, default=0, help="use the first N photos (sorted)")
    parser.add_argument("--workers", type=int, default=0, help="ours: worker processes (0 = all cores)")
    parser.add_argument("--no-baseline", action="store_true", help="ours and the limit only (quick look)")
    parser.add_argument(
        "--chunks", default="", help="e.g. 1,2,4,8: the fanned-out ingest per chunk count (bench.chunked_ingest)"
    )
    parser.add_argument("--mirrored", action="store_true", help="with --chunks: add a mirrored copy of each photo")
    parser.add_argument("--max-concurrent", type=int, default=0, help="with --chunks: step processes (0 = cores)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.chunks:
        print_by_chunks(args)
        return
    photos = photos_of(args.images)
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="faceloop-ingest-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("DEEPFACE_HOME", str(root / "home"))
        from resources.face_engine.weights import provision_weights

        provision_weights()
        if args.mixed:
            photos = mixed_copies(photos, root / "mixed")
        photos = photos[: args.limit or None]
        if args.upscale_to and not args.mixed:
            photos = upscaled_copies(photos, root / "upscaled", args.upscale_to)
        megapixels = megapixels_of(photos)
        ours, limits = ours_between_limits(photos, root / "ours", args.workers)
        baseline = None if args.no_baseline else run_baseline(photos)
    steady_seconds = ours["steps_seconds"] - ours["phases"]["startup"]
    steady = ours["faces"] / steady_seconds
    workers = ours["workers_started"] or 1  # 0: the run did the work in its own process
    model_seconds = ours["phases"]["detect"] + ours["phases"]["embed"]
    limit = sum(limits) / len(limits)
    figures = {
        "images": len(photos),
        "megapixels_median": round(float(np.median(megapixels)), 1),
        "megapixels_range": [round(min(megapixels), 1), round(max(megapixels), 1)],
        "ours_seconds": round(ours["seconds"], 2),
        "ours_images_per_s": round(len(photos) / ours["seconds"], 3),
        "ours_faces": ours["faces"],
        "phases_s": {phase: round(seconds, 2) for phase, seconds in ours["phases"].items()},
        "workers_started": ours["workers_started"],
        "cores_used": round(ours["cpu_s"] / ours["steps_seconds"], 2),
        "limit_faces_per_s": round(limit, 2),
        "limit_before_and_after": [round(value, 2) for value in limits],
        "steady_faces_per_s": round(steady, 2),
        "steady_share_of_limit": round(steady / limit, 3),
        "model_share_of_worker_time": round(model_seconds / (workers * steady_seconds), 3),
        "cores": len(os.sched_getaffinity(0)),
        "load_average": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
    }
    if baseline is not None:
        figures |= {
            "baseline_seconds": round(baseline["seconds"], 2),
            "baseline_images_per_s": round(len(photos) / baseline["seconds"], 3),
            "ratio": round(baseline["seconds"] / ours["seconds"], 2),
            "baseline_faces": baseline["faces"],
            "faces_in_both": faces_in_both(ours["boxes"], baseline["boxes"]),
            "baseline_only": baseline_only(ours["boxes"], baseline["boxes"]),
        }
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


def print_by_chunks(args: argparse.Namespace) -> None:
    """``--chunks``: the same photos through the fanned-out ingest once per chunk count, multiprocess."""
    from bench.chunked_ingest import by_chunks, with_mirrored

    counts = [int(count) for count in args.chunks.split(",")]
    with tempfile.TemporaryDirectory(prefix="faceloop-chunks-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("DEEPFACE_HOME", str(root / "home"))
        from resources.face_engine.weights import provision_weights

        provision_weights()
        photos = photos_of(args.images)[: args.limit or None]
        if args.mirrored:
            photos = with_mirrored(photos, root / "mirrored")
        figures = {
            "images": len(photos),
            "executor": "multiprocess",
            "max_concurrent": args.max_concurrent or len(os.sched_getaffinity(0)),
            **by_chunks(photos, root, counts, args.max_concurrent),
        }
    ones = figures["by_chunks"][str(counts[0])]["images_per_s"]
    figures["speedup_vs_first"] = {c: round(v["images_per_s"] / ones, 2) for c, v in figures["by_chunks"].items()}
    figures |= {"cores": len(os.sched_getaffinity(0)), "load_average_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
