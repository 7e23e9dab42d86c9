"""Cost that follows new work: ingest M new photos into an empty library and into one of N.

    .venv/bin/python -m bench.incremental --library 10000 --new 10 --json

The big library is N distinct photo files on disk (copies of sample photos with a unique JPEG
comment each, so every one has its own content hash), registered in the store exactly as an
ingest leaves them (photo record with its real size and mtime, one face, one embedding); building
it by running deepface on N photos would take most of an hour here and measures nothing new. Then
the same M real photos are ingested (raw_images -> ingest_faces, production's graph with its
default chunking: one chunk for M photos) into a fresh empty library and into the big one, in
this one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from resources.state_store.records import FaceRecord, ImageStatus, PhotoEntry
from tests.support.sample_library import DEFAULT_DATASET, photos_of
from tests.support.synthetic import SPACE, synthetic_embeddings


def distinct_copy(source: bytes, serial: int) -> bytes:
    """The same JPEG with a COM segment after SOI: a valid photo with its own hash."""
    comment = f"faceloop-bench {serial}".encode()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return source[:2] + segment + source[2:]


def build_big_library(library: Path, resources: dict, size: int, samples: list[Path]) -> None:
    store = resources["state_store"]
    sources = [p.read_bytes() for p in samples]
    vectors, _ = synthetic_embeddings(size, people=50)
    face_ids = []
    for i in range(size):
        data = distinct_copy(sources[i % len(sources)], i)
        path = library / f"old/{i // 1000:03d}/{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stat = path.stat()
        image_id = hashlib.sha256(data).hexdigest()
        store.register_photo(PhotoEntry(path.relative_to(library).as_posix(), stat.st_size, stat.st_mtime), image_id)
        face = FaceRecord(f"{image_id}:0", image_id, 0, (0, 0, 100, 100), 1.0, "", "")
        store.record_detection(image_id, ImageStatus.DONE, size=(250, 250), faces=[face])
        face_ids.append(face.face_id)
    store.put_embeddings(SPACE, face_ids, vectors)


def ingest_new(library: Path, resources: dict, new_photos: list[Path]) -> float:
    from dagster import DagsterInstance, materialize

    from assets.ingest.chunks import ingest_faces
    from assets.ingest.photos import raw_images

    target = library / "new"
    target.mkdir(parents=True, exist_ok=True)
    for photo in new_photos:
        shutil.copyfile(photo, target / photo.name)
    started = time.monotonic()
    result = materialize([raw_images, ingest_faces], resources=resources, instance=DagsterInstance.ephemeral())
    seconds = time.monotonic() - started
    if not result.success:
        raise SystemExit("ingest failed")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", type=int, default=10000)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--images", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from tests.support.pipeline import local_resources_at

    photos = photos_of(args.images)
    new_photos = photos[-args.new :]
    with tempfile.TemporaryDirectory(prefix="faceloop-incremental-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("DEEPFACE_HOME", str(root / "weights"))
        empty = local_resources_at(root / "empty" / "home", root / "empty" / "library")
        big = local_resources_at(root / "big" / "home", root / "big" / "library")
        started = time.monotonic()
        build_big_library(root / "big" / "library", big, args.library, photos[: -args.new])
        setup = time.monotonic() - started
        # Warm-up, not timed: first-run imports would otherwise count against whichever runs first.
        warm = local_resources_at(root / "warm" / "home", root / "warm" / "library")
        ingest_new(root / "warm" / "library", warm, new_photos[:1])
        into_empty = ingest_new(root / "empty" / "library", empty, new_photos)
        into_library = ingest_new(root / "big" / "library", big, new_photos)
        new_faces = len(big["state_store"].load_embeddings(SPACE)[0]) - args.library
    figures = {
        "library": args.library,
        "new": args.new,
        "seconds_into_empty": round(into_empty, 2),
        "seconds_into_library": round(into_library, 2),
        "ratio": round(into_library / into_empty, 3),
        "new_faces_in_library": int(new_faces),
        "library_setup_seconds": round(setup, 1),
    }
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
