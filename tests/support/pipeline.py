"""Run the product's own assets in a throwaway home: the resources, one whole-graph run, a home.

Tests and benchmarks materialize the real asset graph (definitions.ASSETS and CHECKS) on local
resources (SQLite state, a library folder, local artifacts, the face engine the environment
selects), so what they measure or check is exactly what a deployment runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from definitions import ASSETS, CHECKS
from resources.artifact_store.local import LocalArtifactStore
from resources.deployments import face_engine_from_env
from resources.image_source.local import LocalFolderImageSource
from resources.state_store.base import StateStore
from resources.state_store.sqlite.store import SqliteStateStore


def local_resources_at(home: Path, library: Path) -> dict[str, Any]:
    """The resources of a FaceLoop home at ``home`` over the photos in ``library``, by resource key."""
    return {
        "state_store": SqliteStateStore(path=str(home / "state.db")),
        "image_source": LocalFolderImageSource(root=str(library)),
        "artifact_store": LocalArtifactStore(root=str(home / "artifacts")),
        "face_engine": face_engine_from_env(),
    }


def materialize_all(
    resources: dict[str, Any], instance: DagsterInstance | None = None, run_config: dict | None = None
) -> ExecuteInProcessResult:
    """Materialize the whole graph (with the quality gate) in one run; check ``.success``."""
    return materialize(
        [*ASSETS, *CHECKS],
        resources=resources,
        instance=instance or DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=False,
    )


class PipelineHome:
    """A FaceLoop home with its library, resources and the keys build_library returned.

    The session's lfw10 run (tests/conftest.py) is one; tests that change state ``fork`` it, so
    the expensive first materialization happens once per session.
    """

    def __init__(self, root: Path, library: Path, keys: dict[str, list[str]]):
        self.root, self.library, self.keys = root, library, keys
        self.home = root / "home"
        self.resources = local_resources_at(self.home, library)

    @property
    def store(self) -> StateStore:
        return self.resources["state_store"]

    def fork(self, target: Path) -> PipelineHome:
        """A copy of this home (state, artifacts, library) to change without touching the original."""
        shutil.copytree(self.root, target)
        return PipelineHome(target, target / "library", self.keys)


def main_face_predictions(pipeline: PipelineHome) -> dict[str, str | None]:
    """Photo key -> predicted persona name of its largest face, for unlabeled photos.

    What the lfw10 accuracy checks compare with the folder names, on any state store backend.
    """
    store = pipeline.store
    names = {p.persona_id: p.name for p in store.personas(include_merged=True)}
    predictions = store.predictions()
    faces = {(f.image_id, f.index): f for f in store.faces()}
    out = {}
    for image in store.images():
        if image.key in pipeline.keys["unlabeled"]:
            face = faces.get((image.image_id, 0))
            prediction = predictions.get(face.face_id) if face else None
            out[image.key] = names.get(prediction.persona_id) if prediction else None
    return out
