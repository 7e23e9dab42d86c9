"""One pool of warm workers per run: start-up is paid once, and never for TensorFlow.

Both tests run production's ingest, ``ingest_faces``, on the in-process executor, as local runs
and the daemon do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster import DagsterInstance, materialize

from assets.core.ingest.pool import PARALLEL_FROM_PHOTOS, close_shared_pools
from assets.ingest.chunks import ingest_faces
from assets.ingest.photos import raw_images
from tests.support.pipeline import local_resources_at
from tests.support.sample_library import photos_of

ROOT = Path(__file__).resolve().parents[2]


def library_of(lfw10: Path, target: Path, count: int) -> Path:
    target.mkdir()
    for photo in photos_of(lfw10)[:count]:
        (target / photo.name).write_bytes(photo.read_bytes())
    return target


def metadata(result, asset: str) -> dict:
    """The metadata finish_ingest gave ``asset`` (the sums over the run's chunk steps)."""
    (found,) = [m for m in result.asset_materializations_for_node("ingest_faces") if m.asset_key.path == [asset]]
    return {key: value.value for key, value in found.metadata.items()}


def test_detection_embedding_and_later_chunks_share_one_pool_whose_workers_load_the_models_once(
    lfw10, weights_home, tmp_path
):
    close_shared_pools()  # an earlier test's run may have left its workers running in this process
    library = library_of(lfw10, tmp_path / "library", PARALLEL_FROM_PHOTOS + 2)
    resources = local_resources_at(tmp_path / "home", library)
    chunk_ops = {"plan_ingest_chunks": {"config": {"photos_per_chunk": PARALLEL_FROM_PHOTOS}}}
    chunk_ops["ingest_chunk"] = {"config": {"workers": 2}}
    result = materialize(
        [raw_images, ingest_faces],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        run_config={"ops": {"ingest_faces": {"ops": chunk_ops}}},
    )
    assert result.success
    chunks = result.output_for_node("ingest_faces.ingest_chunk")  # in-process: one step after the other
    first, second = chunks["chunk_0"], chunks["chunk_1"]
    detection, embedding = metadata(result, "detected_faces"), metadata(result, "face_embeddings")
    # Models load once per worker, when it starts: the first step spawned two and paid their start-up.
    assert first["workers_started"] == detection["workers_started"] == 2 and first["startup_s"] > 0
    workers = set(first["detect_workers"])
    assert len(workers) == 2 and 0 not in workers  # not the run's own process
    assert set(first["embed_workers"]) <= workers  # the embedding ran on the detection's warm workers
    assert second["workers_started"] == 0 and second["startup_s"] == 0  # so did the next chunk step
    assert set(second["detect_workers"]) | set(second["embed_workers"]) <= workers
    assert embedding["embedded"] == detection["faces"] >= PARALLEL_FROM_PHOTOS
    assert detection["detect_detect_s"] > 0 and detection["embed_embed_s"] > 0


SMALL_INGEST = """
import json, sys
from pathlib import Path
from dagster import DagsterInstance, materialize
from assets.ingest.chunks import ingest_faces
from assets.ingest.photos import raw_images
from tests.support.pipeline import local_resources_at
resources = local_resources_at(Path(sys.argv[1]), Path(sys.argv[2]))
result = materialize([raw_images, ingest_faces], resources=resources, instance=DagsterInstance.ephemeral())
(embedding,) = [m for m in result.asset_materializations_for_node("ingest_faces")
                if m.asset_key.path == ["face_embeddings"]]
faces = embedding.metadata["embedded"].value
print(json.dumps({"faces": faces, "tensorflow": "tensorflow" in sys.modules}))
"""


def test_a_ten_photo_ingest_never_imports_tensorflow(lfw10, weights_home, tmp_path):
    """deepface's Dlib model and detector need no TensorFlow; importing it would cost seconds."""
    library = library_of(lfw10, tmp_path / "library", 10)
    run = subprocess.run(
        [sys.executable, "-c", SMALL_INGEST, str(tmp_path / "home"), str(library)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {"faces": 11, "tensorflow": False}
