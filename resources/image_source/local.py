"""A local folder as the photo library."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from resources.image_source.base import PHOTO_SUFFIXES, ImageSource, SourceError, sidecar_key
from resources.state_store.records import PhotoEntry


class LocalFolderImageSource(ImageSource):
    """Walks ``root`` recursively; symlinks that lead outside the library are not followed."""

    root: str

    def _root(self) -> Path:
        return Path(self.root).resolve()

    def _path(self, key: str) -> Path:
        root = self._root()
        path = (root / key).resolve()
        if not path.is_relative_to(root):
            raise SourceError(f"{key!r} points outside the library; not followed")
        return path

    def list_photos(self) -> Iterator[PhotoEntry]:
        root = self._root()
        if not root.exists():
            return
        for folder, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if Path(name).suffix.lower() not in PHOTO_SUFFIXES or name.startswith("."):
                    continue
                path = Path(folder) / name
                try:
                    stat = path.stat()
                except OSError:
                    stat = None  # dangling link or vanished file: still listed so it gets a reason
                yield PhotoEntry(
                    key=path.relative_to(root).as_posix(),
                    size=stat.st_size if stat else -1,
                    mtime=stat.st_mtime if stat else -1.0,
                )

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            size = path.stat().st_size
            if size > self.max_photo_bytes:
                raise SourceError(f"file is {size:,} bytes, over the {self.max_photo_bytes:,}-byte limit")
            with path.open("rb") as handle:
                data = handle.read(self.max_photo_bytes + 1)
        except PermissionError:
            raise SourceError("permission denied reading the file") from None
        except FileNotFoundError:
            raise SourceError("file disappeared before it could be read") from None
        except IsADirectoryError:
            raise SourceError("is a directory, not a photo") from None
        if len(data) > self.max_photo_bytes:
            raise SourceError(f"file grew over the {self.max_photo_bytes:,}-byte limit while read")
        return data

    def read_sidecar(self, key: str) -> bytes | None:
        try:
            path = self._path(sidecar_key(key))
            return path.read_bytes() if path.is_file() else None
        except (OSError, SourceError):
            return None

    def add_photo(self, name: str, data: bytes, folder: str = "uploads") -> str:
        safe = safe_file_name(name)
        target_dir = self._path(folder)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / safe
        if target.exists():
            target = target_dir / f"{target.stem}-{uuid.uuid4().hex[:8]}{target.suffix}"
        tmp = target.with_name(f".{target.name}.partial")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return target.relative_to(self._root()).as_posix()


def safe_file_name(name: str) -> str:
    """A file name with no path parts and no surprising characters."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, "jpg"
    stem = re.sub(r"[^\w\- ]+", "_", stem, flags=re.UNICODE).strip(" ._") or "photo"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()[:5] or "jpg"
    return f"{stem[:100]}.{suffix}"
