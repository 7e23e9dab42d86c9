"""The ArtifactStore interface: face thumbnails, aligned faces and classifier versions."""

from __future__ import annotations

from abc import ABC, abstractmethod

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
