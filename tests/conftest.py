"""Shared fixtures: the lfw10 photos from ../shared, and one real pipeline run reused by tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.sample_library import DEFAULT_DATASET, build_library


@pytest.fixture(scope="session")
def lfw10() -> Path:
    if not DEFAULT_DATASET.is_dir():
        pytest.fail(f"test photos missing: {DEFAULT_DATASET} (the repo must sit beside ../shared)")
    return DEFAULT_DATASET


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server for the session (tests/postgres_server.py); its empty database's URL."""
    from postgres_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def weights_home(tmp_path_factory) -> Path:
    """One deepface home for the session, so weights are copied once."""
    home = tmp_path_factory.mktemp("deepface-home")
    os.environ["DEEPFACE_HOME"] = str(home)
    return home


class PipelineHome:
    """A FaceLoop home with its library, resources and the keys build_library returned."""

    def __init__(self, root: Path, library: Path, keys: dict[str, list[str]]):
        from bench.harness import local_resources_at

        self.root, self.library, self.keys = root, library, keys
        self.home = root / "home"
        self.resources = local_resources_at(self.home, library)

    @property
    def store(self):
        return self.resources["state_store"]

    def fork(self, target: Path) -> PipelineHome:
        """A copy of this home (state, artifacts, library) to change without touching the original."""
        shutil.copytree(self.root, target)
        return PipelineHome(target, target / "library", self.keys)


@pytest.fixture(scope="session")
def lfw10_pipeline(lfw10, weights_home, tmp_path_factory):
    """lfw10 with 3 sidecar labels per person, every asset materialized once."""
    from bench.harness import materialize_all

    root = tmp_path_factory.mktemp("lfw10-pipeline")
    keys = build_library(lfw10, root / "library", labels_per_person=3)
    pipeline = PipelineHome(root, root / "library", keys)
    result = materialize_all(pipeline.resources)
    assert result.success
    pipeline.first_result = result
    return pipeline
