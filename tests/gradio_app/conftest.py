"""Fixtures for the labeling app: a private copy of the real lfw10 pipeline home per test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture
def home(lfw10_pipeline, tmp_path):
    """A fork of the materialized lfw10 home: real SQLite state, artifacts, library, face engine."""
    return lfw10_pipeline.fork(tmp_path / "fork")


@pytest.fixture
def store(home):
    return home.store


@pytest.fixture
def truth(home):
    """Face id -> the person it really is (lfw10 keeps each person's photos in a folder of their name)."""
    keys = {image.image_id: image.key for image in home.store.images()}
    return lambda face_id: keys[face_id.split(":")[0]].split("/")[0]
