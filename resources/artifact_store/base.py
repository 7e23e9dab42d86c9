"""The ArtifactStore interface: face thumbnails, aligned faces and classifier versions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from dagster import ConfigurableResource


class ArtifactStore(ConfigurableResource, ABC):
    """Binary blobs by '/'-separated key; writes are atomic (a reader never sees half a file)."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The blob; raises KeyError when missing."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """The blob's file on this machine when the store is a local folder (a web server can then
        serve it directly); None for remote stores. ``""`` is the store's own folder."""
        return None
