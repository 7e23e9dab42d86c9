from resources.artifact_store.base import ArtifactStore
from resources.artifact_store.local import LocalArtifactStore

__all__ = ["ArtifactStore", "LocalArtifactStore"]
