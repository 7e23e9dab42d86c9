"""A local folder as the artifact store."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from resources.artifact_store.base import ArtifactStore


class LocalArtifactStore(ArtifactStore):
    root: str

    def path(self, key: str) -> Path:
        root = Path(self.root).resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root):
            raise KeyError(f"artifact key {key!r} escapes the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self.path(key)
