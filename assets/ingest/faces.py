"""The per-photo and per-face work of ingest: detect photos, embed faces, link them into the graph.

``ingest_faces`` (chunks.py) runs these for each chunk of new photos; this module knows nothing
of chunks, only of a list of photos or faces, the pool that does the model work, and the stores.
"""

import math

import numpy as np
from dagster import Config, OpExecutionContext

from assets.core.clock import PhaseClock
from assets.core.ingest.pool import PHOTO_PHASES, FacePool, PhotoOutcome
from assets.core.learning.graph import l2_normalize, nearest_neighbours
from resources.artifact_store.base import ArtifactStore
from resources.image_source.base import ImageSource
from resources.state_store.ports import EmbeddingLibrary, PhotoIntake
from resources.state_store.records import FaceRecord, ImageRecord, ImageStatus, LabelEvent, LabelKind


class BatchConfig(Config):
    batch_size: int = 64  # photos (or faces) written per batch
    workers: int = 0  # worker processes; 0 = one per available core, 1 = in the run's process


def detect_photos(
    context: OpExecutionContext,
    config: BatchConfig,
    images: list[ImageRecord],
    pool: FacePool,
    image_source: ImageSource,
    state_store: PhotoIntake,
    artifact_store: ArtifactStore,
) -> tuple[dict, list[str]]:
    """Faces of these photos, each photo's stored as it is done; a photo that fails gets a reason.

    Returns the counts, phase seconds and workers that did the work, and the ids of the faces
    found (``<image_id>:<index>``).
    """
    counts = {"photos": 0, "faces": 0, "no_face": 0, "errors": 0, "import_labels": 0}
    seconds = dict.fromkeys(("read", *PHOTO_PHASES, "store", "worker_cpu"), 0.0)
    clock = PhaseClock(seconds)
    by_id = {image.image_id: image for image in images}
    found: list[str] = []
    workers: set[int] = set()
    for start in range(0, len(images), config.batch_size):
        batch = images[start : start + config.batch_size]
        photos = [
            (image.image_id, clock.timed("read", image_source.read_verified, image.key, image.image_id))
            for image in batch
        ]
        for outcome in pool.analyse(photos):
            for phase, spent in outcome.seconds.items():
                seconds[phase] += spent
            workers.add(outcome.worker)
            with clock("store"):
                record_outcome(by_id[outcome.image_id], outcome, state_store, artifact_store, counts, context)
            if outcome.status == ImageStatus.DONE:
                found += [f"{outcome.image_id}:{index}" for index in range(len(outcome.faces))]
    phases = {f"detect_{phase}_s": round(spent, 3) for phase, spent in seconds.items()}
    return {**counts, **phases, "detect_workers": sorted(workers)}, found


def embed_faces(
    context: OpExecutionContext,
    config: BatchConfig,
    missing: list[FaceRecord],
    pool: FacePool,
    state_store: EmbeddingLibrary,
    artifact_store: ArtifactStore,
) -> dict:
    """Embeddings of these faces, in batches spread over the pool's workers; a bad crop is counted, never fatal."""
    space = pool.engine.embedding_space
    embedded: list[str] = []
    failed: list[str] = []
    workers: set[int] = set()
    seconds = {"read": 0.0, "embed": 0.0, "store": 0.0, "worker_cpu": 0.0}
    clock = PhaseClock(seconds)
    size = max(1, min(config.batch_size, math.ceil(len(missing) / pool.workers)))  # every worker gets a share
    batches, readable = [], []
    with clock("read"):
        for start in range(0, len(missing), size):
            ids, pngs = [], []
            for face in missing[start : start + size]:
                try:
                    pngs.append(artifact_store.get(face.aligned_key))
                    ids.append(face.face_id)
                except KeyError:
                    failed.append(face.face_id)
                    context.log.warning(f"face {face.face_id}: aligned crop missing; cannot embed")
            batches.append(pngs)
            readable.append(ids)
    for ids, outcome in zip(readable, pool.embed(batches), strict=True):
        seconds["embed"] += outcome.seconds.get("embed", 0.0)
        seconds["worker_cpu"] += outcome.seconds.get("worker_cpu", 0.0)
        workers.add(outcome.worker)
        bad = set(outcome.bad)
        good = [face_id for i, face_id in enumerate(ids) if i not in bad]
        failed += [face_id for i, face_id in enumerate(ids) if i in bad]
        if good:
            with clock("store"):
                state_store.put_embeddings(space, good, outcome.vectors)
            embedded += good
    return {
        "embedded_ids": embedded,
        "failed": len(failed),
        **{f"embed_{phase}_s": round(spent, 3) for phase, spent in seconds.items()},
        "embed_workers": sorted(workers),
    }


def record_outcome(
    image: ImageRecord,
    outcome: PhotoOutcome,
    state_store: PhotoIntake,
    artifact_store: ArtifactStore,
    counts: dict,
    context: OpExecutionContext,
) -> None:
    """Artifacts first, then faces + status + import label through the store (rerun-safe on every backend)."""
    counts["photos"] += 1
    if outcome.status != ImageStatus.DONE:
        reason = outcome.reason or "no face found"
        if outcome.status == ImageStatus.NO_FACE and image.import_persona:
            reason += f"; its label {image.import_persona!r} is kept on the photo"
        state_store.record_detection(image.image_id, outcome.status, reason=reason, size=outcome.size)
        counts["errors" if outcome.status == ImageStatus.ERROR else "no_face"] += 1
        if outcome.status == ImageStatus.ERROR:
            context.log.warning(f"{image.key}: {reason}")
        return
    records = []
    for index, face in enumerate(outcome.faces):
        face_id = f"{image.image_id}:{index}"
        thumb_key, aligned_key = f"thumbnails/{face_id}.jpg", f"aligned/{face_id}.png"
        artifact_store.put(thumb_key, face.thumbnail_jpeg)
        artifact_store.put(aligned_key, face.aligned_png)
        records.append(FaceRecord(face_id, image.image_id, index, face.box, face.confidence, thumb_key, aligned_key))
    events = []
    if image.import_persona:
        # A photo-level label names the main subject: the largest face.
        persona = state_store.ensure_persona(image.import_persona)
        events.append(LabelEvent(records[0].face_id, LabelKind.ASSIGN, persona.persona_id, source="import"))
    state_store.record_detection(
        image.image_id, ImageStatus.DONE, size=outcome.size, faces=records, label_events=events
    )
    counts["faces"] += len(records)
    counts["import_labels"] += len(events)


def link_new_faces(state_store: EmbeddingLibrary, space: str, new_ids: list[str]) -> None:
    """Keep the face graph current: the new faces' nearest neighbours among all faces.

    Costs new x library similarities, so relabeling never searches the whole library again.
    """
    face_ids, vectors = state_store.load_embeddings(space)
    position = {face_id: row for row, face_id in enumerate(face_ids)}
    rows = np.array([position[face_id] for face_id in new_ids])
    neighbours, sims = nearest_neighbours(l2_normalize(vectors), rows)
    state_store.put_neighbours(space, new_ids, np.asarray(face_ids, dtype=object)[neighbours], sims)
