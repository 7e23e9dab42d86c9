"""An Azure File Share as the artifact store (thumbnails, aligned faces, classifier versions).

Writes are atomic: a blob is uploaded under a hidden temporary name and then renamed over its
key, so a reader never sees half a file. Azure Files forbids some characters in names (face ids
hold ':'), so each path segment is percent-encoded for those characters; keys stay readable.
"""

from __future__ import annotations

import re
import threading
import uuid

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.fileshare import ShareClient
from pydantic import Field, PrivateAttr

from resources.artifact_store.base import ArtifactStore
from resources.state_store.cosmos import resolved

CHUNK_BYTES = 4 * 1024 * 1024  # one download request per 4 MiB; an oversized file is refused early
_FORBIDDEN = re.compile(r'[%"\\:|<>*?\x00-\x1f]')


def encode_segment(segment: str) -> str:
    return _FORBIDDEN.sub(lambda m: f"%{ord(m.group()):02X}", segment)


def share_path(root: str, key: str, encode: bool = True) -> str:
    """The path of ``key`` under ``root`` in the share; '.', '..' and empty segments are refused."""
    segments = key.replace("\\", "/").split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise KeyError(f"invalid key {key!r}: empty, '.' or '..' path segment")
    parts = [s for s in root.strip("/").split("/") if s] + [encode_segment(s) if encode else s for s in segments]
    return "/".join(parts)


def connect(connection_string: str, share_name: str) -> ShareClient:
    return ShareClient.from_connection_string(
        resolved(connection_string, "Azure Files connection string"),
        share_name,
        max_single_get_size=CHUNK_BYTES,
        max_chunk_get_size=CHUNK_BYTES,
    )


class ShareWriter:
    """Directory creation (remembered) and atomic uploads, shared by the artifact store and image source."""

    def __init__(self, share: ShareClient):
        self.share = share
        self.known_dirs: set[str] = {""}
        self.lock = threading.Lock()

    def ensure_directory(self, path: str) -> None:
        if path in self.known_dirs:
            return
        parent = path.rpartition("/")[0]
        self.ensure_directory(parent)
        try:
            self.share.get_directory_client(path).create_directory()
        except ResourceExistsError:
            pass
        with self.lock:
            self.known_dirs.add(path)

    def upload_atomically(self, path: str, data: bytes, overwrite: bool = True) -> None:
        folder, _, name = path.rpartition("/")
        self.ensure_directory(folder)
        temp = self.share.get_file_client(f"{folder}/.{name}.{uuid.uuid4().hex[:8]}.partial".lstrip("/"))
        temp.upload_file(data)
        try:
            temp.rename_file(path, overwrite=overwrite)
        except BaseException:
            temp.delete_file()
            raise


class AzureFileShareArtifactStore(ArtifactStore):
    """Artifacts under ``root`` in the share; ``connection_string`` comes from an EnvVar."""

    connection_string: str = Field(repr=False, description="Storage connection string; pass an EnvVar.")
    share_name: str
    root: str = "artifacts"

    _writer: ShareWriter | None = PrivateAttr(default=None)

    def _share(self) -> ShareWriter:
        if self._writer is None:
            self._writer = ShareWriter(connect(self.connection_string, self.share_name))
        return self._writer

    def put(self, key: str, data: bytes) -> None:
        self._share().upload_atomically(share_path(self.root, key), data)

    def get(self, key: str) -> bytes:
        try:
            return self._share().share.get_file_client(share_path(self.root, key)).download_file().readall()
        except ResourceNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        try:
            self._share().share.get_file_client(share_path(self.root, key)).get_file_properties()
            return True
        except ResourceNotFoundError:
            return False
