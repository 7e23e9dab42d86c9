"""Where FaceLoop keeps its files, read once from the environment.

Only non-secret locations and knobs live here; secrets reach resources through Dagster
``EnvVar`` so they are resolved at launch and never printed.
"""

from __future__ import annotations

import os
from pathlib import Path


def faceloop_home() -> Path:
    """Root of the embedded deployment: state database, artifacts, weights, demo library."""
    return Path(os.environ.get("FACELOOP_HOME", ".faceloop")).resolve()


def library_dir() -> Path:
    """The local photo library watched by the pipeline."""
    default = faceloop_home() / "library"
    return Path(os.environ.get("FACELOOP_LIBRARY", str(default))).resolve()


def deepface_home() -> Path:
    """deepface looks for weights in ``$DEEPFACE_HOME/.deepface/weights`` before downloading."""
    default = faceloop_home()
    return Path(os.environ.get("DEEPFACE_HOME", str(default))).resolve()


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}
