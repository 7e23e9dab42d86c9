"""The fanned-out ingest as a job the multiprocess executor can run: each chunk step its own process.

``bench.ingest --chunks 1,2,4,8`` and the Postgres test use it. The executor starts step
processes that rebuild the job from this module (``reconstructable``), so the home and library
come from the environment (FACELOOP_HOME, FACELOOP_LIBRARY), as in every FaceLoop process.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    JobDefinition,
    define_asset_job,
    execute_job,
    multiprocess_executor,
    reconstructable,
)

from assets.ingest.chunks import ingest_faces
from assets.ingest.photos import raw_images
from bench.harness import local_resources_at


def chunked_ingest_job() -> JobDefinition:
    home, library = Path(os.environ["FACELOOP_HOME"]), Path(os.environ["FACELOOP_LIBRARY"])
    job = define_asset_job("chunked_ingest", selection=["raw_images", "detected_faces", "face_embeddings"])
    defs = Definitions(
        assets=[raw_images, ingest_faces],
        jobs=[job],
        resources=local_resources_at(home, library),
        executor=multiprocess_executor,
    )
    return defs.resolve_job_def("chunked_ingest")


def run_config(photos_per_chunk: int, max_concurrent: int = 0, workers: int = 1) -> dict:
    """Chunks of ``photos_per_chunk``, ``max_concurrent`` step processes (0: one per core)."""
    chunk_ops = {
        "plan_ingest_chunks": {"config": {"photos_per_chunk": photos_per_chunk}},
        "ingest_chunk": {"config": {"workers": workers}},
    }
    return {
        "execution": {"config": {"max_concurrent": max_concurrent}},
        "ops": {"ingest_faces": {"ops": chunk_ops}},
    }


def run_chunked(instance: DagsterInstance, home: Path, library: Path, photos_per_chunk: int, max_concurrent: int = 0):
    """One fanned-out ingest of ``library`` into ``home``; the step processes inherit the environment."""
    os.environ["FACELOOP_HOME"], os.environ["FACELOOP_LIBRARY"] = str(home), str(library)
    result = execute_job(
        reconstructable(chunked_ingest_job), instance=instance, run_config=run_config(photos_per_chunk, max_concurrent)
    )
    if not result.success:
        raise RuntimeError(f"chunked ingest run {result.run_id} failed")
    return result


def chunk_windows(instance: DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """(start, end) timestamps of each chunk step of a run, from the instance's event log."""
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event and event.step_key and ".ingest_chunk[" in event.step_key:
            if event.event_type == DagsterEventType.STEP_START:
                starts[event.step_key] = entry.timestamp
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                ends[event.step_key] = entry.timestamp
    return [(starts[key], ends[key]) for key in sorted(ends)]


def run_seconds(instance: DagsterInstance, run_id: str) -> float:
    """Run start to run end, as the instance recorded them."""
    record = instance.get_run_record_by_id(run_id)
    return record.end_time - record.start_time


def max_parallel(windows: list[tuple[float, float]]) -> int:
    """The most chunk steps that were running at the same moment."""
    moments = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    running = peak = 0
    for _, change in moments:
        running += change
        peak = max(peak, running)
    return peak


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
