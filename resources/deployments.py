"""Pick resources by deployment (``FACELOOP_DEPLOYMENT``), like Dagster's fully-featured example."""

from __future__ import annotations

import os

from resources.artifact_store.local import LocalArtifactStore
from resources.face_engine.deepface_engine import DeepFaceEngine
from resources.image_source.local import LocalFolderImageSource
from resources.settings import env_flag, faceloop_home, library_dir
from resources.state_store.sqlite.store import SqliteStateStore


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


def azure_resources() -> dict:
    """Cosmos DB for state, one Azure File Share for the photo library and the artifacts.

    Secrets (Cosmos key, storage connection string) are Dagster EnvVars: resolved when a run
    starts, shown by name only in the UI, never written to code, logs or metadata.
    """
    from dagster import EnvVar

    from resources.artifact_store.azure_files import AzureFileShareArtifactStore
    from resources.image_source.azure_files import AzureFileShareImageSource
    from resources.state_store.cosmos import CosmosStateStore

    share = os.environ.get("FACELOOP_FILE_SHARE_NAME", "faceloop")
    files = EnvVar("FACELOOP_FILE_SHARE_CONNECTION_STRING")
    return {
        "state_store": CosmosStateStore(
            endpoint=EnvVar("FACELOOP_COSMOS_ENDPOINT"),
            key=EnvVar("FACELOOP_COSMOS_KEY"),
            database=os.environ.get("FACELOOP_COSMOS_DATABASE", "faceloop"),
        ),
        "image_source": AzureFileShareImageSource(
            connection_string=files,
            share_name=share,
            root=os.environ.get("FACELOOP_AZURE_LIBRARY_DIR", "library"),
            label_from_folders=env_flag("FACELOOP_LABEL_FROM_FOLDERS"),
        ),
        "artifact_store": AzureFileShareArtifactStore(
            connection_string=files,
            share_name=share,
            root=os.environ.get("FACELOOP_AZURE_ARTIFACTS_DIR", "artifacts"),
        ),
        "face_engine": face_engine_from_env(),
    }


DEPLOYMENTS = {"local": local_resources, "azure": azure_resources}


def resources_for_deployment(name: str | None = None) -> dict:
    name = name or os.environ.get("FACELOOP_DEPLOYMENT", "local")
    if name not in DEPLOYMENTS:
        raise ValueError(f"unknown FACELOOP_DEPLOYMENT {name!r}; expected one of {sorted(DEPLOYMENTS)}")
    return DEPLOYMENTS[name]()
