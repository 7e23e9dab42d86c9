"""Run the product's own assets in a throwaway home (benchmarks and tests share this)."""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance, materialize

from definitions import ASSETS, CHECKS
from resources.artifact_store.local import LocalArtifactStore
from resources.deployments import face_engine_from_env
from resources.image_source.local import LocalFolderImageSource
from resources.state_store.sqlite.store import SqliteStateStore


def local_resources_at(home: Path, library: Path) -> dict:
    return {
        "state_store": SqliteStateStore(path=str(home / "state.db")),
        "image_source": LocalFolderImageSource(root=str(library)),
        "artifact_store": LocalArtifactStore(root=str(home / "artifacts")),
        "face_engine": face_engine_from_env(),
    }


def materialize_all(resources: dict, instance: DagsterInstance | None = None, run_config: dict | None = None):
    """Materialize the whole graph (with the quality gate) in one run; check ``.success``."""
    return materialize(
        [*ASSETS, *CHECKS],
        resources=resources,
        instance=instance or DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=False,
    )
