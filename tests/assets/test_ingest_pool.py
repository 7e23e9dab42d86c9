"""One pool of warm workers per run: start-up is paid once, and never for TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dagster import DagsterInstance, materialize

from assets.ingest.faces import PARALLEL_FROM_PHOTOS, detected_faces, face_embeddings
from assets.ingest.photos import raw_images
from assets.ingest.pool import close_shared_pools
from bench.harness import local_resources_at
from bench.sample_library import photos_of

ROOT = Path(__file__).resolve().parents[2]


def library_of(lfw10: Path, target: Path, count: int) -> Path:
    target.mkdir()
    for photo in photos_of(lfw10)[:count]:
        (target / photo.name).write_bytes(photo.read_bytes())
    return target


def metadata(result, node: str) -> dict:
    return {key: value.value for key, value in result.asset_materializations_for_node(node)[0].metadata.items()}


def test_both_steps_share_one_pool_whose_workers_load_the_models_once(lfw10, weights_home, tmp_path):
    close_shared_pools()  # an earlier test's run may have left its workers running in this process
    library = library_of(lfw10, tmp_path / "library", PARALLEL_FROM_PHOTOS)
    resources = local_resources_at(tmp_path / "home", library)
    config = {"ops": {name: {"config": {"workers": 2}} for name in ("detected_faces", "face_embeddings")}}
    result = materialize(
        [raw_images, detected_faces, face_embeddings],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        run_config=config,
    )
    assert result.success
    detection, embedding = metadata(result, "detected_faces"), metadata(result, "face_embeddings")
    assert detection["workers_started"] == 2 and detection["startup_s"] > 0
    assert embedding["workers_started"] == 0 and embedding["startup_s"] == 0  # the same warm workers
    assert embedding["embedded"] == detection["faces"] >= PARALLEL_FROM_PHOTOS
    assert detection["detect_s"] > 0 and embedding["embed_s"] > 0


SMALL_INGEST = """
import json, sys
from pathlib import Path
from dagster import DagsterInstance, materialize
from assets.ingest.faces import detected_faces, face_embeddings
from assets.ingest.photos import raw_images
from bench.harness import local_resources_at
resources = local_resources_at(Path(sys.argv[1]), Path(sys.argv[2]))
result = materialize([raw_images, detected_faces, face_embeddings], resources=resources,
                     instance=DagsterInstance.ephemeral())
faces = result.asset_materializations_for_node("face_embeddings")[0].metadata["embedded"].value
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
