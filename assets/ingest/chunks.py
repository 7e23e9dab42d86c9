"""Ingest fanned out: new photos split into bounded chunks, each chunk's detect + embed its own step.

``detected_faces`` and ``face_embeddings`` are one graph-backed multi-asset::

    plan_ingest_chunks ─► ingest_chunk[chunk_0] ─┐
                       ─► ingest_chunk[chunk_1] ─┼─► finish_ingest (face graph, both assets' metadata)
                       ─► ...                   ─┘

Dynamic mapping, not partitions: a chunk is a unit of work for one run, not a slice of the
library to replay later, so a million-photo backfill is ~1 000 mapped steps in one run instead of
a partition set that grows with the library past Dagster's ~100k-partition limit (ARCHITECTURE.md).

Under ``k8s_job_executor`` each ``ingest_chunk`` is its own pod (a GPU pod when
``FACELOOP_GPU_STEPS`` names ``detected_faces`` or ``face_embeddings``, the work it holds), at
most ``max_concurrent`` at once; locally the in-process executor runs them one after the other on
one warm worker pool. A chunk that fails is retried alone (``CHUNK_RETRY``); the work it had
stored before failing stays, because a retry re-reads which of its photos are still ``new`` and
which faces still lack an embedding: rerunning never detects a photo twice or duplicates a face.

The per-photo and per-face work is faces.py's and pool.py's (``detect_photos``, ``embed_faces``,
``run_pool``, ``link_new_faces``, ``FacePool``), the plan is chunking.py's (``chunk_work``); this
module only shapes the graph. It is the one
ingest path: definitions, tests and benchmarks all materialize ``ingest_faces``.
"""

import json
import time
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetIn,
    AssetOut,
    Backoff,
    Config,
    DynamicOut,
    DynamicOutput,
    In,
    InputContext,
    IOManager,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    OutputContext,
    RetryPolicy,
    graph_multi_asset,
    io_manager,
    op,
)

from assets.core.ingest.chunking import chunk_work
from assets.core.ingest.pool import PARALLEL_FROM_PHOTOS, run_pool, startup_metadata
from assets.ingest.faces import BatchConfig, detect_photos, embed_faces, link_new_faces
from resources.artifact_store.base import ArtifactStore
from resources.face_engine.base import FaceEngine
from resources.image_source.base import ImageSource
from resources.kubernetes import gpu_op_tags
from resources.state_store.base import StateStore
from resources.state_store.records import ImageRecord, ImageStatus

# ~5 min of a 2-core pod at ~3 photos/s: pod start-up (~15 s) stays a few percent, a lost pod
# costs minutes, and 1M photos are 1 000 steps (ARCHITECTURE.md, "To a million photos").
DEFAULT_PHOTOS_PER_CHUNK = 1000
CHUNK_IO = "ingest_chunk_io"
# A lost pod or a transient store error: try the chunk again, alone, after 10 s, 20 s, 40 s.
CHUNK_RETRY = RetryPolicy(max_retries=3, delay=10, backoff=Backoff.EXPONENTIAL)
CHUNK_TAG = "faceloop/ingest-chunk"  # on every chunk step: a handle for executor tag limits


class ChunkPlanConfig(Config):
    photos_per_chunk: int = DEFAULT_PHOTOS_PER_CHUNK


class ArtifactJsonIOManager(IOManager):
    """The chunk lists and chunk summaries, as JSON in the ArtifactStore.

    Step pods share no disk; they all share the artifact store (the file share on Azure), so the
    fan-out's small values travel there, keyed by run, step and mapping key. A re-execution
    reads its parent run's values by the same keys.
    """

    def __init__(self, artifact_store: ArtifactStore):
        self.artifact_store = artifact_store

    @staticmethod
    def _key(identifier: list[str]) -> str:
        return "runs/" + "/".join(identifier) + ".json"

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.artifact_store.put(self._key(list(context.get_identifier())), json.dumps(obj).encode())

    def load_input(self, context: InputContext) -> Any:
        return json.loads(self.artifact_store.get(self._key(list(context.upstream_output.get_identifier()))))


@io_manager(required_resource_keys={"artifact_store"})
def ingest_chunk_io(init_context) -> ArtifactJsonIOManager:
    return ArtifactJsonIOManager(init_context.resources.artifact_store)


@op(ins={"raw_images": In(Nothing)}, out=DynamicOut(dict, io_manager_key=CHUNK_IO))
def plan_ingest_chunks(
    context: OpExecutionContext, config: ChunkPlanConfig, state_store: StateStore, face_engine: FaceEngine
) -> Iterator[DynamicOutput]:
    """Photos still to detect, and photos whose faces still lack an embedding, in chunks.

    A chunk carries its photos' records (id, key, import label), so its step reads nothing from
    the store to know its work; photos already detected whose faces lack an embedding (an
    earlier failure, a new model space) come after them, as ids.
    """
    new = {image.image_id: image for image in state_store.images(ImageStatus.NEW)}
    leftovers = {
        face.image_id: None
        for face in state_store.faces_missing_embedding(face_engine.embedding_space, limit=10**9)
        if face.image_id not in new
    }
    chunks = chunk_work(new, leftovers, config.photos_per_chunk)
    pending = len(new) + len(leftovers)
    context.log.info(f"ingest: {pending} photos in {len(chunks)} chunks of up to {config.photos_per_chunk}")
    for index, work in enumerate(chunks):
        yield DynamicOutput(work, mapping_key=f"chunk_{index}")


def chunk_op_tags() -> dict[str, str]:
    """The GPU pod config when either step whose work a chunk holds is a GPU step."""
    return {**(gpu_op_tags("face_embeddings") or gpu_op_tags("detected_faces")), CHUNK_TAG: "true"}


@op(out=Out(dict, io_manager_key=CHUNK_IO), retry_policy=CHUNK_RETRY, tags=chunk_op_tags())
def ingest_chunk(
    context: OpExecutionContext,
    config: BatchConfig,
    work: dict,
    image_source: ImageSource,
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
) -> dict:
    """Detect this chunk's photos that are still new, then embed its faces that lack an embedding.

    A first attempt takes the plan's word for what is new (no store scan per chunk); a retry or
    a re-execution asks the store, so what an earlier attempt stored is neither redone nor lost.
    """
    images = [ImageRecord(image_id, key, import_persona=persona) for image_id, key, persona in work["detect"]]
    image_ids = {image.image_id for image in images} | set(work["embed_only"])
    first_attempt = context.retry_number == 0 and context.run.parent_run_id is None
    if not first_attempt:
        still_new = {image.image_id for image in state_store.images(ImageStatus.NEW)}
        images = [image for image in images if image.image_id in still_new]
    started, cpu = time.monotonic(), time.process_time()
    pool, started_here = run_pool(face_engine, config.workers, len(images), PARALLEL_FROM_PHOTOS)
    detection, found = detect_photos(context, config, images, pool, image_source, state_store, artifact_store)
    if first_attempt and not work["embed_only"]:
        missing = state_store.faces(found)  # just detected: none has an embedding yet
    else:
        space = face_engine.embedding_space
        missing = [f for f in state_store.faces_missing_embedding(space, limit=10**9) if f.image_id in image_ids]
    embedding = embed_faces(context, config, missing, pool, state_store, artifact_store)
    summary = {
        **detection,
        **embedding,
        "chunk_photos": len(image_ids),
        "seconds": round(time.monotonic() - started, 2),
        **startup_metadata(pool, started_here),
        "run_cpu_s": round(time.process_time() - cpu, 3),  # this step's own process; workers' is *_worker_cpu_s
    }
    context.log.info(f"ingest chunk: { {k: v for k, v in summary.items() if k != 'embedded_ids'} }")
    return summary


SUMMED = ("photos", "faces", "no_face", "errors", "import_labels", "failed")


@op(
    ins={"chunks": In(list)},
    out={"detected_faces": Out(Nothing), "face_embeddings": Out(Nothing)},
)
def finish_ingest(
    context: OpExecutionContext, chunks: list, state_store: StateStore, face_engine: FaceEngine
) -> Iterator[Output]:
    """After every chunk: link the run's new faces into the face graph, report both assets."""
    space = face_engine.embedding_space
    new_ids = [face_id for chunk in chunks for face_id in chunk["embedded_ids"]]
    started = time.monotonic()
    if new_ids:
        link_new_faces(state_store, space, new_ids)
    totals = {name: sum(chunk[name] for chunk in chunks) for name in SUMMED}
    steps = {
        "chunks": len(chunks),
        "chunk_seconds_max": max(chunk["seconds"] for chunk in chunks),
        "chunk_seconds_sum": round(sum(chunk["seconds"] for chunk in chunks), 2),
        "workers_started": sum(chunk["workers_started"] for chunk in chunks),
    }
    phases = {key: round(sum(chunk[key] for chunk in chunks), 3) for key in chunks[0] if key.endswith("_s")}
    detection = {name: totals[name] for name in ("photos", "faces", "no_face", "errors", "import_labels")}
    yield Output(None, "detected_faces", metadata={**detection, **steps, **phases})
    yield Output(
        None,
        "face_embeddings",
        metadata={
            "embedded": len(new_ids),
            "space": space,
            "failed": totals["failed"],
            "graph_s": round(time.monotonic() - started, 3),
            **steps,
        },
    )


@graph_multi_asset(
    outs={
        "detected_faces": AssetOut(group_name="ingest", dagster_type=Nothing),
        "face_embeddings": AssetOut(group_name="ingest", dagster_type=Nothing),
    },
    ins={"raw_images": AssetIn(dagster_type=Nothing)},
    resource_defs={CHUNK_IO: ingest_chunk_io},
)
def ingest_faces(raw_images):
    """Faces and embeddings of every photo not processed yet, one step per chunk of photos."""
    chunks = plan_ingest_chunks(raw_images).map(ingest_chunk)
    return finish_ingest(chunks.collect())
