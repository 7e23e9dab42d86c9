"""Build a photo library from a folder-per-person set: K sidecar labels per person.

Used by ``make demo``, the tests and the benchmarks. Photos are copied (never symlinked: the
library refuses links that lead outside it) into a library folder of their own.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from resources.image_source.base import PHOTO_SUFFIXES

UNKNOWN_FOLDER = "_unknown"
DEFAULT_DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "lfw10"


def people_folders(source: Path) -> list[Path]:
    return sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def photos_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)


def build_library(
    source: Path, target: Path, labels_per_person: int, unknown_people: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Copy ``source`` into ``target``; label the first K photos (sorted) of each known person.

    People in ``unknown_people`` (and photos under ``source/_unknown``) are copied under
    ``target/_unknown`` and never labeled. Returns {"labeled", "unlabeled", "unknown"} keys.
    """
    target.mkdir(parents=True, exist_ok=True)
    keys: dict[str, list[str]] = {"labeled": [], "unlabeled": [], "unknown": []}
    for folder in people_folders(source):
        unknown = folder.name in unknown_people
        for rank, photo in enumerate(photos_of(folder)):
            subdir = f"{UNKNOWN_FOLDER}/{folder.name}" if unknown else folder.name
            dest = target / subdir / photo.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, dest)
            key = dest.relative_to(target).as_posix()
            if unknown:
                keys["unknown"].append(key)
            elif rank < labels_per_person:
                dest.with_suffix(".json").write_text(json.dumps({"persona": folder.name}))
                keys["labeled"].append(key)
            else:
                keys["unlabeled"].append(key)
    unknown_dir = source / UNKNOWN_FOLDER
    if unknown_dir.is_dir():
        for photo in photos_of(unknown_dir):
            dest = target / UNKNOWN_FOLDER / photo.relative_to(unknown_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, dest)
            keys["unknown"].append(dest.relative_to(target).as_posix())
    return keys


def demo_source() -> Path | None:
    """FACELOOP_DEMO_IMAGES, else ../shared/datasets/lfw10 when present."""
    import os

    configured = os.environ.get("FACELOOP_DEMO_IMAGES")
    if configured:
        return Path(configured)
    return DEFAULT_DATASET if DEFAULT_DATASET.is_dir() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--labels-per-person", type=int, default=3)
    args = parser.parse_args()
    source = args.source or demo_source()
    if source is None:
        raise SystemExit("no sample photos: set FACELOOP_DEMO_IMAGES to a folder-per-person set")
    keys = build_library(source, args.target, args.labels_per_person)
    labeled, unlabeled = len(keys["labeled"]), len(keys["unlabeled"])
    print(f"library {args.target}: {labeled} labeled, {unlabeled} unlabeled photos from {source}")


if __name__ == "__main__":
    main()
