"""Pick resources by deployment (``FACELOOP_DEPLOYMENT``), like Dagster's fully-featured example."""

from __future__ import annotations

import os

from resources.artifact_store import LocalArtifactStore
from resources.face_engine import DeepFaceEngine
from resources.image_source import LocalFolderImageSource
from resources.settings import env_flag, faceloop_home, library_dir
from resources.state_store import SqliteStateStore


def face_engine_from_env() -> DeepFaceEngine:
    return DeepFaceEngine(
        model_name=os.environ.get("FACELOOP_MODEL", "Dlib"),
        detector_backend=os.environ.get("FACELOOP_DETECTOR", "dlib"),
        detect_max_side=int(os.environ.get("FACELOOP_DETECT_MAX_SIDE", "640")),
    )


def local_resources() -> dict:
    """The embedded default: SQLite, a local library folder, local artifacts."""
    home = faceloop_home()
    return {
        "state_store": SqliteStateStore(path=str(home / "state.db")),
        "image_source": LocalFolderImageSource(
            root=str(library_dir()), label_from_folders=env_flag("FACELOOP_LABEL_FROM_FOLDERS")
        ),
        "artifact_store": LocalArtifactStore(root=str(home / "artifacts")),
        "face_engine": face_engine_from_env(),
    }


def resources_for_deployment(name: str | None = None) -> dict:
    name = name or os.environ.get("FACELOOP_DEPLOYMENT", "local")
    if name == "local":
        return local_resources()
    raise ValueError(f"unknown FACELOOP_DEPLOYMENT {name!r}; expected 'local'")
