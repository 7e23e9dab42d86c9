"""A local folder as the photo library."""

from __future__ import annotations

import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from resources.image_source.base import MAX_SIDECAR_BYTES, PHOTO_SUFFIXES, ImageSource, sidecar_key
from resources.image_source.errors import SourceError
from resources.state_store.records import PhotoEntry

MAX_STEM_BYTES = 150  # with the "-<8 hex>" of a clash, the ".partial" prefix and suffix, well under NAME_MAX


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
        """The file's bytes, refusing anything that is not a plain file or that changes while read.

        The file is opened non-blocking and checked on the open descriptor, so a named pipe (which
        would block the run forever) or a device swapped in after listing is refused, not read.
        """
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except PermissionError:
            raise SourceError("permission denied reading the file") from None
        except FileNotFoundError:
            if (self._root() / key).is_symlink():
                raise SourceError("broken symbolic link: its target does not exist") from None
            raise SourceError("file disappeared before it could be read") from None
        except IsADirectoryError:
            raise SourceError("is a directory, not a photo") from None
        except OSError as exc:
            raise SourceError(f"cannot open the file: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as handle:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                raise SourceError(f"not a regular file ({_file_kind(before.st_mode)}); not read")
            if before.st_size > self.max_photo_bytes:
                raise SourceError(f"file is {before.st_size:,} bytes, over the {self.max_photo_bytes:,}-byte limit")
            try:
                data = self._read_open(handle, self.max_photo_bytes + 1)
            except OSError as exc:
                raise SourceError(f"read failed: {exc.strerror or exc}") from None
            after = os.fstat(fd)
        if len(data) > self.max_photo_bytes:
            raise SourceError(f"file grew over the {self.max_photo_bytes:,}-byte limit while read")
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(data) != after.st_size:
            raise SourceError("file changed while it was read (still being written?); it is read again once it settles")
        return data

    def _read_open(self, handle: BinaryIO, limit: int) -> bytes:
        """Read an open photo (a seam: tests write to the file here, as a concurrent writer would)."""
        return handle.read(limit)

    def read_sidecar(self, key: str) -> bytes | None:
        try:
            path = self._path(sidecar_key(key))
            if not path.is_file():  # a FIFO or device named .json is not a sidecar (and never blocks the run)
                return None
            with path.open("rb") as handle:
                return handle.read(MAX_SIDECAR_BYTES + 1)  # parse_sidecar refuses the oversized
        except (OSError, SourceError):
            return None

    def add_photo(self, name: str, data: bytes, folder: str = "uploads") -> str:
        safe = safe_file_name(name)
        target_dir = self._path(folder)
        target_dir.mkdir(parents=True, exist_ok=True)
        stem, suffix = safe.rsplit(".", 1)
        # Written whole under a hidden name (never listed), then hard-linked into place: a link
        # never replaces an existing file or symlink, so two uploads of one name both survive.
        tmp = target_dir / f".upload-{uuid.uuid4().hex}.partial"
        tmp.write_bytes(data)
        try:
            for attempt in range(8):
                target = target_dir / (safe if attempt == 0 else f"{stem}-{uuid.uuid4().hex[:8]}.{suffix}")
                try:
                    os.link(tmp, target, follow_symlinks=False)
                except FileExistsError:
                    continue
                return target.relative_to(self._root()).as_posix()
            raise SourceError(f"could not find a free name for {safe!r}")
        finally:
            tmp.unlink(missing_ok=True)


def safe_file_name(name: str) -> str:
    """A file name with no path parts and no surprising characters."""
    base = Path(name.replace("\\", "/")).name
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, "jpg"
    stem = re.sub(r"[^\w\- ]+", "_", stem, flags=re.UNICODE).strip(" ._") or "photo"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()[:5] or "jpg"
    stem = stem[:100]
    while len(stem.encode("utf-8")) > MAX_STEM_BYTES:  # file systems count bytes (255), not characters
        stem = stem[:-1]
    return f"{stem}.{suffix}"


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a plain file"
