"""kill -9 in the middle of ingest, then rerun: no duplicate images or faces, nothing missing.

The run is a real separate process (the product's assets through tests.support.pipeline) on a real SQLite
file; it is killed with SIGKILL once some photos are done and others are not, as a crashed pod or
an OOM kill would end it. The rerun must finish the work: every photo once, whole, embedded,
and labeled or predicted, with the work done before the kill kept as it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from resources.face_engine.weights import provision_weights
from resources.state_store.records import ImageStatus
from tests.support.pipeline import local_resources_at, materialize_all
from tests.support.sample_library import build_library

ROOT = Path(__file__).resolve().parents[2]
RUN = """
import sys
from pathlib import Path
from tests.support.pipeline import local_resources_at, materialize_all
result = materialize_all(local_resources_at(Path(sys.argv[1]), Path(sys.argv[2])))
sys.exit(0 if result.success else 1)
"""


def per_photo(store) -> dict[str, tuple[str, int]]:
    faces: dict[str, int] = {}
    for face in store.faces():
        faces[face.image_id] = faces.get(face.image_id, 0) + 1
    return {image.key: (image.status.value, faces.get(image.image_id, 0)) for image in store.images()}


def test_a_run_killed_mid_batch_is_finished_by_the_rerun_without_duplicates(lfw10, weights_home, tmp_path):
    provision_weights(weights_home)  # before any run: worker processes must not race to copy them
    library, home = tmp_path / "library", tmp_path / "home"
    keys = build_library(lfw10, library, labels_per_person=3)
    resources = local_resources_at(home, library)
    store = resources["state_store"]
    total = sum(1 for _ in resources["image_source"].list_photos())

    process = subprocess.Popen(
        [sys.executable, "-c", RUN, str(home), str(library)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its detection workers too
    )
    try:
        deadline = time.monotonic() + 300
        done = 0
        while time.monotonic() < deadline and process.poll() is None:
            if (home / "state.db").exists():
                done = len(store.images(ImageStatus.DONE))
                if done >= 5:
                    break
            time.sleep(0.1)
        assert process.poll() is None, "the run ended before it could be killed mid-batch"
        os.killpg(process.pid, signal.SIGKILL)  # as a pod or the OOM killer ends it: everything at once
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    killed_at = per_photo(store)
    done_then = [k for k, (status, _) in killed_at.items() if status != ImageStatus.NEW.value]
    assert 5 <= len(done_then) < total, "the kill must land while some photos are done and others are not"

    result = materialize_all(resources)
    assert result.success

    # Every photo once, each with a face (every lfw10 photo shows one); what was done before the
    # kill is kept as it was, not redone; each photo's faces are whole (indices 0..n-1).
    after = per_photo(store)
    assert len(after) == total and {status for status, _ in after.values()} == {ImageStatus.DONE.value}
    assert {k: after[k] for k in done_then} == {k: killed_at[k] for k in done_then}
    faces = store.faces()
    assert len({f.face_id for f in faces}) == len(faces) == sum(n for _, n in after.values())
    by_image: dict[str, list[int]] = {}
    for face in faces:
        by_image.setdefault(face.image_id, []).append(face.index)
    assert all(sorted(indices) == list(range(len(indices))) for indices in by_image.values())
    embedded, vectors = store.load_embeddings(resources["face_engine"].embedding_space)
    assert sorted(embedded) == sorted(f.face_id for f in faces) and np.isfinite(vectors).all()
    assert len(store.label_events()) == len(keys["labeled"])  # each import label once, none doubled
    labeled = {f for f, s in store.label_states().items() if s.persona_id is not None}
    assert store.promoted_model() is not None and set(store.predictions()) == {f.face_id for f in faces} - labeled

    # Every artifact a face points to is a whole file; a .partial left by the kill is never used.
    artifacts = resources["artifact_store"]
    for face in faces:
        for key in (face.thumbnail_key, face.aligned_key):
            assert ".partial" not in key
            pixels = cv2.imdecode(np.frombuffer(artifacts.get(key), np.uint8), cv2.IMREAD_COLOR)
            assert pixels is not None and pixels.size > 0, key
