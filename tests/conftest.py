"""Shared fixtures: the lfw10 photos from ../shared, and one real pipeline run reused by tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support.sample_library import DEFAULT_DATASET, build_library


@pytest.fixture(scope="session")
def lfw10() -> Path:
    if not DEFAULT_DATASET.is_dir():
        pytest.fail(f"test photos missing: {DEFAULT_DATASET} (the repo must sit beside ../shared)")
    return DEFAULT_DATASET


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server for the session (tests/support/postgres_server.py); its empty database's URL."""
    from tests.support.postgres_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def weights_home(tmp_path_factory) -> Path:
    """One deepface home for the session, so weights are copied once."""
    home = tmp_path_factory.mktemp("deepface-home")
    os.environ["DEEPFACE_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def lfw10_pipeline(lfw10, weights_home, tmp_path_factory):
    """lfw10 with 3 sidecar labels per person, every asset materialized once."""
    # Imported here, not at the top: collecting tests must not load Dagster and the asset graph.
    from tests.support.pipeline import PipelineHome, materialize_all

    root = tmp_path_factory.mktemp("lfw10-pipeline")
    keys = build_library(lfw10, root / "library", labels_per_person=3)
    pipeline = PipelineHome(root, root / "library", keys)
    result = materialize_all(pipeline.resources)
    assert result.success
    pipeline.first_result = result
    return pipeline
