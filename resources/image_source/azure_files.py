"""An Azure File Share as the photo library (the Azure deployment's "folder people drop photos in").

Listing walks the share recursively, a page of entries per request. A folder is listed completely
before its photos are yielded and its sidecars are remembered, so asking for the sidecar of a
photo that has none costs no request. Downloads are
streamed in 4 MiB requests and stop as soon as a file proves larger than ``max_photo_bytes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from pydantic import Field, PrivateAttr

from resources.artifact_store.azure_files import ShareWriter, connect, share_path
from resources.image_source.base import MAX_SIDECAR_BYTES, PHOTO_SUFFIXES, SIDECAR_SUFFIX, ImageSource
from resources.image_source.base import sidecar_key as sidecar_of
from resources.image_source.errors import SourceError
from resources.image_source.local import safe_file_name
from resources.state_store.records import PhotoEntry


def _mtime(item) -> float:
    stamp = item.get("last_write_time") or item.get("last_modified")
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return stamp.timestamp() if stamp else -1.0


class AzureFileShareImageSource(ImageSource):
    """Photos under ``root`` in the share; ``connection_string`` comes from an EnvVar."""

    connection_string: str = Field(repr=False, description="Storage connection string; pass an EnvVar.")
    share_name: str
    root: str = ""
    page_size: int = 1000

    _writer: ShareWriter | None = PrivateAttr(default=None)
    _sidecars: dict[str, set[str]] = PrivateAttr(default_factory=dict)  # listed folder -> its sidecars

    def _share(self) -> ShareWriter:
        if self._writer is None:
            self._writer = ShareWriter(connect(self.connection_string, self.share_name))
        return self._writer

    def _path(self, key: str) -> str:
        try:
            return share_path(self.root, key, encode=False)
        except KeyError as exc:
            raise SourceError(str(exc)) from None

    def list_photos(self) -> Iterator[PhotoEntry]:
        share = self._share().share
        root = self.root.strip("/")
        pending = [""]
        try:
            while pending:
                folder = pending.pop()
                directory = share.get_directory_client("/".join(p for p in (root, folder) if p))
                items = directory.list_directories_and_files(results_per_page=self.page_size, include=["timestamps"])
                photos, sidecars = [], set()
                for item in items:
                    name = item["name"]
                    if name.startswith("."):
                        continue
                    key = f"{folder}/{name}" if folder else name
                    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
                    if item.get("is_directory"):
                        pending.append(key)
                    elif suffix == SIDECAR_SUFFIX:
                        sidecars.add(key)
                    elif suffix in PHOTO_SUFFIXES:
                        photos.append(PhotoEntry(key=key, size=item["size"], mtime=_mtime(item)))
                self._sidecars[folder] = sidecars
                yield from photos
        except ResourceNotFoundError:
            return  # no library folder yet: nothing to list

    def _download(self, path: str, limit: int) -> bytes:
        try:
            stream = self._share().share.get_file_client(path).download_file()
            if stream.size > limit:
                raise SourceError(f"file is {stream.size:,} bytes, over the {limit:,}-byte limit")
            data = bytearray()
            for chunk in stream.chunks():
                data += chunk
                if len(data) > limit:
                    raise SourceError(f"file grew over the {limit:,}-byte limit while read")
            return bytes(data)
        except ResourceNotFoundError:
            raise SourceError("file disappeared before it could be read") from None
        except HttpResponseError as exc:
            if exc.status_code == 403:
                raise SourceError("permission denied reading the file") from None
            raise SourceError(f"could not read the file: {exc.reason or exc.status_code}") from None

    def read_bytes(self, key: str) -> bytes:
        return self._download(self._path(key), self.max_photo_bytes)

    def read_sidecar(self, key: str) -> bytes | None:
        sidecar = sidecar_of(key)
        listed = self._sidecars.get(sidecar.rpartition("/")[0])
        if listed is not None and sidecar not in listed:
            return None
        try:
            # One byte over the limit is enough for parse_sidecar to say the sidecar is too large.
            client = self._share().share.get_file_client(self._path(sidecar))
            return client.download_file(offset=0, length=MAX_SIDECAR_BYTES + 1).readall()
        except (HttpResponseError, SourceError):
            return None

    def add_photo(self, name: str, data: bytes, folder: str = "uploads") -> str:
        if len(data) > self.max_photo_bytes:
            raise SourceError(f"photo is {len(data):,} bytes, over the {self.max_photo_bytes:,}-byte limit")
        writer, safe = self._share(), safe_file_name(name)
        key = f"{folder.strip('/')}/{safe}" if folder.strip("/") else safe
        if writer.share.get_file_client(self._path(key)).exists():
            stem, _, suffix = safe.rpartition(".")
            key = key.rpartition("/")[0] + "/" if "/" in key else ""
            key += f"{stem}-{uuid.uuid4().hex[:8]}.{suffix}"
        writer.upload_atomically(self._path(key), data, overwrite=False)
        return key
