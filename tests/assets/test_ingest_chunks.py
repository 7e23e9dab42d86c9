"""Ingest fanned out in chunks: the same faces as one step, and a failed chunk retried alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from dagster import DagsterEventType, DagsterInstance, materialize

from assets.core.ingest.chunking import split
from assets.ingest.chunks import DEFAULT_PHOTOS_PER_CHUNK, ingest_faces
from assets.ingest.photos import raw_images
from resources.state_store.records import LabelKind
from resources.state_store.sqlite.store import SqliteStateStore
from tests.support.pipeline import local_resources_at
from tests.support.sample_library import build_library, people_folders, photos_of

PEOPLE, PHOTOS_EACH = 6, 2  # 12 photos, 6 with an import label: modest for a shared 2-core machine


@pytest.fixture(scope="module")
def small_library(lfw10, weights_home, tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("chunk-source")
    for folder in people_folders(lfw10)[:PEOPLE]:
        (source / folder.name).mkdir()
        for photo in photos_of(folder)[:PHOTOS_EACH]:
            shutil.copyfile(photo, source / folder.name / photo.name)
    library = tmp_path_factory.mktemp("chunk-library")
    build_library(source, library, labels_per_person=1)
    return library


def ingest(home: Path, library: Path, photos_per_chunk: int, state_store=None):
    """One run of the production graph, ``ingest_faces``, in chunks of ``photos_per_chunk``."""
    resources = local_resources_at(home, library)
    if state_store is not None:
        resources["state_store"] = state_store
    chunk_ops = {
        "plan_ingest_chunks": {"config": {"photos_per_chunk": photos_per_chunk}},
        "ingest_chunk": {"config": {"workers": 1}},
    }
    config = {"ops": {"ingest_faces": {"ops": chunk_ops}}}
    result = materialize(
        [raw_images, ingest_faces], resources=resources, instance=DagsterInstance.ephemeral(), run_config=config
    )
    assert result.success
    return result, resources["state_store"]


def snapshot(store) -> dict:
    ids, vectors = store.load_embeddings("Dlib")
    neighbours = store.load_neighbours("Dlib", ids)
    names = {p.persona_id: p.name for p in store.personas()}  # ids depend on the order chunks ran
    return {
        "faces": {(f.face_id, f.box) for f in store.faces()},
        "embeddings": dict(zip(ids, vectors, strict=True)),
        "neighbours": {i: tuple(n) for i, n in zip(ids, neighbours[0], strict=True)} if neighbours else None,
        "import_labels": sorted(
            (e.face_id, names[e.persona_id])
            for e in store.label_events()
            if e.source == "import" and e.kind == LabelKind.ASSIGN
        ),
        "statuses": {image.image_id: image.status for image in store.images()},
    }


@pytest.fixture(scope="module")
def one_step(small_library, tmp_path_factory) -> dict:
    """The reference: every photo in one chunk, so one step detects and embeds them all."""
    result, store = ingest(tmp_path_factory.mktemp("one-step"), small_library, DEFAULT_PHOTOS_PER_CHUNK)
    assert chunk_steps(result) == ["ingest_faces.ingest_chunk[chunk_0]"]
    return snapshot(store)


def assert_same_ingest(found: dict, reference: dict) -> None:
    assert found["faces"] == reference["faces"]
    assert found["embeddings"].keys() == reference["embeddings"].keys()
    for face_id, vector in reference["embeddings"].items():
        np.testing.assert_allclose(found["embeddings"][face_id], vector, atol=1e-5)
    assert found["neighbours"] == reference["neighbours"]
    assert found["import_labels"] == reference["import_labels"]
    assert found["statuses"] == reference["statuses"]


def chunk_steps(result) -> list[str]:
    return sorted(e.step_key for e in result.get_step_success_events() if ".ingest_chunk[" in e.step_key)


def test_split_makes_bounded_chunks_and_always_at_least_one():
    assert split(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert split([], 256) == [[]]
    with pytest.raises(ValueError, match="at least 1"):
        split(["a"], 0)


def test_chunked_ingest_finds_the_same_faces_boxes_and_embeddings_as_one_step(small_library, one_step, tmp_path):
    result, store = ingest(tmp_path, small_library, photos_per_chunk=5)
    assert len(one_step["faces"]) >= PEOPLE * PHOTOS_EACH
    assert chunk_steps(result) == [f"ingest_faces.ingest_chunk[chunk_{i}]" for i in range(3)]  # 12 photos / 5
    assert_same_ingest(snapshot(store), one_step)
    detection = result.asset_materializations_for_node("ingest_faces")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in detection}
    assert by_key["detected_faces"]["chunks"].value == 3
    assert by_key["detected_faces"]["faces"].value == len(one_step["faces"])
    assert by_key["face_embeddings"]["embedded"].value == len(one_step["faces"])

    again, _ = ingest(tmp_path, small_library, photos_per_chunk=5)  # nothing new: one empty chunk
    assert chunk_steps(again) == ["ingest_faces.ingest_chunk[chunk_0]"]
    assert_same_ingest(snapshot(store), one_step)


class StoreThatDiesOnce(SqliteStateStore):
    """The pod of one chunk dies between two photos: the Nth photo write raises, the first time only."""

    fail_at_write: int
    marker: str

    def record_detection(self, image_id, status, **kwargs) -> None:
        marker = Path(self.marker)
        writes = int(marker.read_text()) if marker.exists() else 0
        if writes >= 0:
            marker.write_text(str(writes + 1))
            if writes + 1 == self.fail_at_write:
                marker.write_text("-1")  # once
                raise ConnectionError("simulated: the chunk's pod was lost mid-way")
        super().record_detection(image_id, status, **kwargs)


def test_a_chunk_failing_mid_way_is_retried_alone_and_loses_or_duplicates_nothing(small_library, one_step, tmp_path):
    # Chunks of 4: the 6th photo write is the second photo of chunk_1, after its first was stored.
    store = StoreThatDiesOnce(path=str(tmp_path / "home" / "state.db"), fail_at_write=6, marker=str(tmp_path / "n"))
    result, _ = ingest(tmp_path / "home", small_library, photos_per_chunk=4, state_store=store)
    retried = [e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_RESTARTED]
    assert retried == ["ingest_faces.ingest_chunk[chunk_1]"]
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in failures] == ["ingest_faces.ingest_chunk[chunk_1]"]
    assert chunk_steps(result) == [f"ingest_faces.ingest_chunk[chunk_{i}]" for i in range(3)]
    summary = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("ingest_faces")}
    # The first attempt stored one photo of chunk_1 before it died; the retry did the other three.
    assert summary["detected_faces"]["photos"].value == PEOPLE * PHOTOS_EACH - 1
    assert_same_ingest(snapshot(store), one_step)


def test_fanned_out_ingest_runs_chunks_as_parallel_processes_with_dagster_on_postgres(
    small_library, one_step, postgres_url, tmp_path, monkeypatch
):
    import psycopg2
    import yaml

    from tests.support.chunked_ingest import chunk_windows, max_parallel, run_chunked
    from tests.support.postgres_server import dagster_storage

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump({"storage": dagster_storage(postgres_url)}))
    monkeypatch.setenv("FACELOOP_HOME", str(tmp_path / "home"))  # restored afterwards; run_chunked sets both
    monkeypatch.setenv("FACELOOP_LIBRARY", str(small_library))
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        result = run_chunked(instance, tmp_path / "home", small_library, photos_per_chunk=3, max_concurrent=2)
        windows = chunk_windows(instance, result.run_id)
    assert len(windows) == 4 and max_parallel(windows) == 2  # multiprocess: two chunk processes at once
    assert_same_ingest(snapshot(SqliteStateStore(path=str(tmp_path / "home" / "state.db"))), one_step)
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
        assert cursor.fetchone() == ("SUCCESS",)
        cursor.execute(
            "SELECT COUNT(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'STEP_SUCCESS'",
            (result.run_id,),
        )
        assert cursor.fetchone()[0] == 4 + 3  # plan, 4 chunks, finish, raw_images
    assert not (dagster_home / "history").exists()  # nothing in SQLite
