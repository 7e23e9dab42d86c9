"""The fanned-out ingest as a job the multiprocess executor can run: each chunk step its own process.

tests/assets/test_ingest_chunks.py (on PostgreSQL storage) and ``bench.ingest --chunks 1,2,4,8``
use it. The executor starts step processes that rebuild the job from this module
(``reconstructable``), so the home and library come from the environment (FACELOOP_HOME,
FACELOOP_LIBRARY), as in every FaceLoop process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    Definitions,
    JobDefinition,
    JobExecutionResult,
    define_asset_job,
    execute_job,
    multiprocess_executor,
    reconstructable,
)

from assets.ingest.chunks import ingest_faces
from assets.ingest.photos import raw_images
from tests.support.pipeline import local_resources_at


def chunked_ingest_job() -> JobDefinition:
    """The ingest assets alone, multiprocess executor; ``reconstructable`` rebuilds it in each step process."""
    home, library = Path(os.environ["FACELOOP_HOME"]), Path(os.environ["FACELOOP_LIBRARY"])
    job = define_asset_job("chunked_ingest", selection=["raw_images", "detected_faces", "face_embeddings"])
    defs = Definitions(
        assets=[raw_images, ingest_faces],
        jobs=[job],
        resources=local_resources_at(home, library),
        executor=multiprocess_executor,
    )
    return defs.resolve_job_def("chunked_ingest")


def run_config(photos_per_chunk: int, max_concurrent: int = 0, workers: int = 1) -> dict[str, Any]:
    """Chunks of ``photos_per_chunk``, ``max_concurrent`` step processes (0: one per core)."""
    chunk_ops = {
        "plan_ingest_chunks": {"config": {"photos_per_chunk": photos_per_chunk}},
        "ingest_chunk": {"config": {"workers": workers}},
    }
    return {
        "execution": {"config": {"max_concurrent": max_concurrent}},
        "ops": {"ingest_faces": {"ops": chunk_ops}},
    }


def run_chunked(
    instance: DagsterInstance, home: Path, library: Path, photos_per_chunk: int, max_concurrent: int = 0
) -> JobExecutionResult:
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
