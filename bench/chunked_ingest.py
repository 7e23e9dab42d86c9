"""The fanned-out ingest's benchmark: the same photos ingested once per chunk count (``bench.ingest --chunks``).

The job it runs (each chunk step its own process) is tests/support/chunked_ingest.py, which the
PostgreSQL test runs too.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from dagster import DagsterInstance

from tests.support.chunked_ingest import chunk_windows, max_parallel, run_chunked, run_seconds


def with_mirrored(photos: list[Path], target: Path) -> list[Path]:
    """``photos`` plus a left-right mirrored copy of each (new content, same faces), written now."""
    target.mkdir(parents=True, exist_ok=True)
    mirrored = []
    for i, photo in enumerate(photos):
        copy = target / f"{i:04d}_mirrored_{photo.stem}.jpg"
        cv2.imwrite(str(copy), cv2.flip(cv2.imread(str(photo)), 1), [cv2.IMWRITE_JPEG_QUALITY, 95])
        mirrored.append(copy)
    return [*photos, *mirrored]


def by_chunks(photos: list[Path], root: Path, counts: list[int], max_concurrent: int = 0) -> dict:
    """The same photos ingested fresh once per chunk count, multiprocess executor; figures per count."""
    import shutil

    from resources.state_store.sqlite.store import SqliteStateStore

    figures: dict[str, dict] = {}
    found: dict[int, set] = {}
    for count in counts:
        run_root = root / f"chunks_{count}"
        library = run_root / "library"
        library.mkdir(parents=True)
        for photo in photos:
            shutil.copyfile(photo, library / photo.name)
        per_chunk = -(-len(photos) // count)  # ceil: exactly `count` chunks
        (run_root / "dagster").mkdir()
        with DagsterInstance.local_temp(str(run_root / "dagster")) as instance:
            result = run_chunked(instance, run_root / "home", library, per_chunk, max_concurrent)
            windows = chunk_windows(instance, result.run_id)
            seconds = run_seconds(instance, result.run_id)
        store = SqliteStateStore(path=str(run_root / "home" / "state.db"))
        names = {image.image_id: Path(image.key).name for image in store.images()}
        found[count] = {(names[face.image_id], tuple(face.box)) for face in store.faces()}
        figures[str(count)] = {
            "images_per_s": round(len(photos) / seconds, 3),
            "faces": len(found[count]),
            "steps": len(windows),
            "max_parallel_steps": max_parallel(windows),
            "seconds": round(seconds, 2),
            "chunk_seconds_median": round(sorted(end - start for start, end in windows)[len(windows) // 2], 2),
        }
    first = found[counts[0]]
    return {"by_chunks": figures, "faces_identical": all(faces == first for faces in found.values())}
