"""Build a photo library from a folder-per-person set: K sidecar labels per person.

Used by the tests and the benchmarks, and by ``make library`` (the demo's sample library:
``python -m tests.support.sample_library --target DIR``, from ../shared/datasets/lfw10 or, where
that is missing, the few real photos in face_recognition's source distribution). It lives with the
test support because the tests are its main users and the demo runs from a checkout; the product
never imports it. Photos are copied (never symlinked: the library refuses links that lead outside
it) into a library folder of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from resources.image_source.base import PHOTO_SUFFIXES
from resources.settings import faceloop_home

UNKNOWN_FOLDER = "_unknown"
# The repository sits beside ../shared (read-only test data); tests/support is two levels down.
DEFAULT_DATASET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "lfw10"


def people_folders(source: Path) -> list[Path]:
    """The person folders of a folder-per-person set, sorted (hidden and ``_`` folders are not people)."""
    return sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def photos_of(folder: Path) -> list[Path]:
    """Every photo under ``folder``, sorted, by the suffixes the image source reads."""
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


def demo_source() -> tuple[Path, int]:
    """(photos, labels per person): FACELOOP_DEMO_IMAGES, else ../shared/datasets/lfw10, else
    the real photos in the face_recognition 1.3.0 source distribution (fetched once from PyPI)."""
    configured = os.environ.get("FACELOOP_DEMO_IMAGES")
    if configured:
        return Path(configured), 3
    if DEFAULT_DATASET.is_dir():
        return DEFAULT_DATASET, 3
    return fallback_samples(faceloop_home() / "cache"), 2


# face_recognition 1.3.0 ships six real test photos of two people; named by who is in them.
FALLBACK_PEOPLE = {
    "biden.jpg": "Joe_Biden",
    "obama.jpg": "Barack_Obama",
    "obama2.jpg": "Barack_Obama",
    "obama3.jpg": "Barack_Obama",
    "obama_partial_face.jpg": "Barack_Obama",
    "obama_partial_face2.jpg": "Barack_Obama",
}


def fallback_samples(cache: Path) -> Path:
    """The fallback set under ``cache``, downloaded (pip, the sdist) and extracted the first time."""
    target = cache / "face_recognition_samples"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "face_recognition==1.3.0",
            "-d",
            str(cache),
        ],
        check=True,
    )
    return extract_samples(cache / "face_recognition-1.3.0.tar.gz", target)


def extract_samples(sdist: Path, target: Path) -> Path:
    """The sdist's test photos as a folder-per-person set (written atomically)."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            person = FALLBACK_PEOPLE.get(Path(member.name).name)
            if person and member.isfile() and "/tests/test_images/" in member.name:
                (partial / person).mkdir(parents=True, exist_ok=True)
                (partial / person / Path(member.name).name).write_bytes(archive.extractfile(member).read())
    os.replace(partial, target)
    return target


def main() -> None:
    """``make library``: build the demo's library at ``--target``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=None)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--labels-per-person", type=int, default=None)
    args = parser.parse_args()
    source, labels = (args.source, 3) if args.source else demo_source()
    keys = build_library(source, args.target, args.labels_per_person or labels)
    labeled, unlabeled = len(keys["labeled"]), len(keys["unlabeled"])
    print(f"library {args.target}: {labeled} labeled, {unlabeled} unlabeled photos from {source}")


if __name__ == "__main__":
    main()
