"""The ImageSource interface: where people drop photos (a folder, an Azure File Share)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterator

from dagster import ConfigurableResource

from resources.image_source.errors import SourceError
from resources.state_store.records import PhotoEntry
from resources.state_store.rules.label_events import validate_persona_name

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
SIDECAR_SUFFIX = ".json"
MAX_SIDECAR_BYTES = 64 * 1024
# Invisible characters that reorder text: a name using them can display as another name.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class ImageSource(ConfigurableResource, ABC):
    """Photos are listed by key (a '/'-separated path relative to the library root).

    A photo ``a/b.jpg`` may carry labels in a sidecar ``a/b.json`` (``{"persona": "Name"}``); with
    ``label_from_folders`` a photo in ``<persona>/`` is labeled by its folder's name.
    """

    label_from_folders: bool = False
    max_photo_bytes: int = 64 * 1024 * 1024

    @abstractmethod
    def list_photos(self) -> Iterator[PhotoEntry]:
        """Every photo (by file name suffix; the content is checked when decoding)."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The photo's bytes; raises SourceError when unreadable or over ``max_photo_bytes``."""

    @abstractmethod
    def read_sidecar(self, key: str) -> bytes | None:
        """Raw bytes of the photo's JSON sidecar, None when there is none."""

    @abstractmethod
    def add_photo(self, name: str, data: bytes, folder: str = "uploads") -> str:
        """Store a new photo (an upload) and return its key."""

    def read_verified(self, key: str, image_id: str) -> bytes:
        """The photo's bytes, only if they are still the content registered as ``image_id``.

        Between registering a photo (hashing it) and detecting its faces the file may be rewritten;
        its faces must not be stored under the old content's id. The new content is registered as a
        new image on the next listing (its size or mtime changed), so nothing is lost.
        """
        data = self.read_bytes(key)
        if hashlib.sha256(data).hexdigest() != image_id:
            raise SourceError("file changed after it was registered; its new content is ingested on the next run")
        return data

    def persona_hint(self, key: str) -> tuple[str | None, str | None]:
        """(persona name, problem) for a photo: from its sidecar, else its folder if enabled."""
        raw = self.read_sidecar(key)
        if raw is not None:
            persona, problem = parse_sidecar(raw)
            if persona or problem:
                return persona, problem
        if self.label_from_folders and "/" in key:
            folder = key.rsplit("/", 2)[-2]
            if folder and not folder.startswith(("_", ".")):
                return folder, None
        return None, None


def sidecar_key(key: str) -> str:
    stem = key.rsplit(".", 1)[0]
    return stem + SIDECAR_SUFFIX


def parse_sidecar(raw: bytes) -> tuple[str | None, str | None]:
    """The persona a sidecar names, or the reason it was ignored (the photo is still ingested)."""
    if len(raw) > MAX_SIDECAR_BYTES:
        return None, f"sidecar ignored: larger than {MAX_SIDECAR_BYTES} bytes"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"sidecar ignored: not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, "sidecar ignored: expected a JSON object"
    persona = data.get("persona")
    if persona is None:
        return None, None
    if not isinstance(persona, str) or not persona.strip():
        return None, f"sidecar ignored: 'persona' must be a non-empty string, got {persona!r:.60}"
    if any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in persona if ch not in " \t\n"):
        return None, f"sidecar ignored: persona name {persona!r:.60} contains control characters"
    try:  # the store's own rule, checked here so a bad label never costs the photo its faces
        return validate_persona_name(persona), None
    except ValueError as exc:
        return None, f"sidecar ignored: {exc}"
