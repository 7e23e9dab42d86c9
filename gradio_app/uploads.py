"""The Add photos tab's domain: new photos checked, then written into the image source for the
sensor to ingest, and what became of each once the pipeline saw it. No Gradio in here.

The type is sniffed from the bytes by Pillow, never taken from the file name; the stored name
gets the extension of the real format so the source lists it as a photo.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from gradio_app.adapters.url_fetch import FetchRefused, SafeFetcher
from gradio_app.snapshot import SET_ASIDE_CAPTIONS, Snapshot, face_caption
from resources.image_source.base import ImageSource
from resources.state_store.ports import UploadOutcomes
from resources.state_store.records import ImageStatus

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}
UPLOAD_FOLDER = "uploads"
WAITING = "…"  # how an outcome still on its way ends ("waiting for predictions…")


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 100_000_000  # the same bomb limit the decoder applies
    min_side: int = 32  # smaller cannot hold a detectable face
    min_side_from_pages: int = 64  # icons and spacer GIFs on web pages are skipped
    max_files: int = 200

    @classmethod
    def from_env(cls) -> UploadLimits:
        return cls(max_bytes=int(os.environ.get("FACELOOP_UPLOAD_MAX_BYTES", str(20 * 1024 * 1024))))


@dataclass(frozen=True)
class UploadResult:
    name: str  # file name or URL as the person gave it
    key: str | None  # key in the image source when stored
    message: str

    @property
    def ok(self) -> bool:
        return self.key is not None


class UploadRefused(ValueError):
    pass


def sniff_image(data: bytes, limits: UploadLimits, min_side: int | None = None) -> tuple[str, tuple[int, int]]:
    """(file extension, size) of a photo, or UploadRefused saying why it is not one we take."""
    if not data:
        raise UploadRefused("empty file")
    if len(data) > limits.max_bytes:
        raise UploadRefused(f"{len(data):,} bytes is over the {limits.max_bytes:,}-byte limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, size = image.format, image.size
                if size[0] * size[1] > limits.max_pixels:
                    raise UploadRefused(f"{size[0]}x{size[1]} pixels is over the {limits.max_pixels:,}-pixel limit")
                image.verify()  # structure check without decoding every pixel
    except UploadRefused:
        raise
    except UnidentifiedImageError:
        raise UploadRefused("not a photo: the content is no image format we know") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused("refused: the image header claims an absurd size (decompression bomb)") from None
    except Exception as exc:  # Pillow raises many types for broken files
        raise UploadRefused(f"broken image: {exc}") from None
    if kind not in FORMATS:
        raise UploadRefused(f"{kind} images are not supported; use JPEG, PNG, WebP, GIF, BMP or TIFF")
    smallest = limits.min_side if min_side is None else min_side
    if min(size) < smallest:
        raise UploadRefused(f"{size[0]}x{size[1]} pixels is too small to hold a face")
    return FORMATS[kind], size


def _stored_name(name: str, extension: str) -> str:
    stem = Path(name.replace("\\", "/")).name.rsplit(".", 1)[0] or "photo"
    return f"{stem}.{extension}"


def add_photos(
    source: ImageSource,
    files: Sequence[tuple[str, bytes]],
    limits: UploadLimits | None = None,
    library: Mapping[str, str] | None = None,
) -> list[UploadResult]:
    """Store each acceptable photo in ``uploads/``; every file gets its own result.

    ``library`` maps the content hash of each photo already known (the store's image ids) to its
    key: an exact copy under another name (or twice in one batch) is not stored again, and the
    person is told where it is. Without it, nothing is checked for copies.
    """
    limits = limits or UploadLimits()
    known = dict(library) if library is not None else None
    results = []
    for i, (name, data) in enumerate(files):
        if i >= limits.max_files:
            results.append(UploadResult(name, None, f"not added: at most {limits.max_files} photos at once"))
            continue
        try:
            extension, size = sniff_image(data, limits)
        except UploadRefused as exc:
            results.append(UploadResult(name, None, str(exc)))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if known is not None and digest in known:
            results.append(UploadResult(name, None, f"already in your library as {known[digest]}"))
            continue
        key = source.add_photo(_stored_name(name, extension), data, folder=UPLOAD_FOLDER)
        if known is not None:
            known[digest] = key
        results.append(UploadResult(name, key, f"added ({size[0]}x{size[1]} {extension.upper()})"))
    return results


def add_from_url(
    source: ImageSource, url: str, fetcher: SafeFetcher, limits: UploadLimits | None = None
) -> list[UploadResult]:
    """Photos at an image URL, or the photos a web page shows, stored like uploads."""
    limits = limits or UploadLimits()
    if not url or not url.strip():
        return [UploadResult(url, None, "paste an image or web page address first")]
    try:
        found = fetcher.fetch_images(url.strip())
    except FetchRefused as exc:
        return [UploadResult(url, None, str(exc))]
    results = [UploadResult(url, None, problem) for problem in found.problems]
    for item in found.images:
        name = Path(item.url.split("?", 1)[0]).name or "photo"
        try:
            extension, size = sniff_image(item.data, limits, limits.min_side_from_pages if found.from_page else None)
        except UploadRefused as exc:
            results.append(UploadResult(item.url, None, str(exc)))
            continue
        key = source.add_photo(_stored_name(name, extension), item.data, folder=UPLOAD_FOLDER)
        results.append(UploadResult(item.url, key, f"added ({size[0]}x{size[1]} {extension.upper()})"))
    return results


# -- what became of them ---------------------------------------------------------------------


def photo_outcomes(store: UploadOutcomes, snap: Snapshot, keys: Sequence[str]) -> dict[str, str]:
    """What became of photos added (by key): waiting, no face, could not read, or "N faces → who"."""
    wanted = set(keys)
    images = {image.key: image for image in store.images() if image.key in wanted}
    unreadable = store.unreadable_photos()
    found = {image.image_id for image in images.values() if image.status == ImageStatus.DONE}
    faces_of: dict[str, list[str]] = {}
    for face in store.faces():
        if face.image_id in found:
            faces_of.setdefault(face.image_id, []).append(face.face_id)
    predicting = store.promoted_model() is not None  # else no prediction is on its way
    outcomes = {}
    for key in keys:
        image = images.get(key)
        if key in unreadable and image is None:
            outcomes[key] = f"could not read: {unreadable[key] or 'unreadable'}"
        elif image is None or image.status == ImageStatus.NEW:
            outcomes[key] = f"waiting for the pipeline to find its faces{WAITING}"
        elif image.status == ImageStatus.NO_FACE:
            outcomes[key] = "no face found"
        elif image.status == ImageStatus.ERROR:
            outcomes[key] = f"could not read: {image.reason or 'unreadable'}"
        else:
            outcomes[key] = _faces_outcome(snap, sorted(faces_of.get(image.image_id, [])), predicting)
    return outcomes


def pending(snap: Snapshot, face_id: str) -> bool:
    """Open, with no prediction yet: the next prediction run will say who it is."""
    return not snap.settled(face_id) and face_id not in snap.predictions


def _faces_outcome(snap: Snapshot, face_ids: list[str], predicting: bool = False) -> str:
    count = len(face_ids)
    found = f"{count} face{'s' if count != 1 else ''}"
    if predicting and any(pending(snap, f) for f in face_ids):
        return f"{found} found · waiting for predictions{WAITING}"
    names = [name for f in face_ids if (name := face_caption(snap, f)) not in SET_ASIDE_CAPTIONS.values()]
    return f"{found} → " + (", ".join(names) or "set aside")
