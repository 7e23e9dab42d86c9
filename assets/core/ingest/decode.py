"""Turn photo bytes into pixels, or into a reason a person can act on.

Pillow does the decoding: it sniffs the real format from the bytes (never the extension), applies
EXIF orientation, and refuses decompression bombs from the header before decoding pixels.

A JPEG can be decoded at 1/2, 1/4 or 1/8 scale inside the DCT (Pillow's ``draft``), 5x cheaper
than a full decode of a 9 MP photo. Ingest asks for the smallest size it needs: the detection copy
and crops whose faces stay above the aligned-crop size, so full resolution is decoded only for
photos whose faces need it. Other formats are decoded once at full size.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 100_000_000  # a 14 MP phone photo is far below; a 30000x30000 bomb is far above
ORIENTATION_TAG = 0x0112
TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height
MIN_SIDE = 32


class PhotoError(ValueError):
    """A photo that cannot be used, with a human-readable reason."""


@dataclass(frozen=True)
class Decoded:
    """Upright BGR pixels and their scale relative to the full-resolution upright photo."""

    pixels: np.ndarray
    scale_x: float
    scale_y: float

    @property
    def full_resolution(self) -> bool:
        return self.scale_x == 1.0 and self.scale_y == 1.0


@dataclass
class OpenedPhoto:
    """A photo whose header has been checked; pixels are decoded on request, at the size asked."""

    data: bytes
    size: tuple[int, int]  # full resolution, upright (width, height)
    _full: Decoded | None = field(default=None, repr=False)

    def decode(self, min_long_side: int = 0) -> Decoded:
        """Pixels whose long side is at least ``min_long_side`` (0: full resolution)."""
        if self._full is not None:
            return self._full
        wanted = min_long_side if 0 < min_long_side < max(self.size) else 0
        decoded = _guarded(lambda: self._decode(wanted))
        if decoded.full_resolution:
            self._full = decoded  # not a JPEG (or asked for all of it): never decode it twice
        return decoded

    def _decode(self, min_long_side: int) -> Decoded:
        image = Image.open(io.BytesIO(self.data))
        if min_long_side:
            stored_w, stored_h = image.size  # draft works on the stored (not yet upright) image
            ratio = min_long_side / max(stored_w, stored_h)
            image.draft(None, (math.ceil(stored_w * ratio), math.ceil(stored_h * ratio)))
        image.seek(0)  # first frame of an animation
        image.load()
        if image.getexif().get(ORIENTATION_TAG, 1) != 1:  # transposing copies: only when needed
            image = ImageOps.exif_transpose(image)
        width, height = image.size
        return Decoded(_to_bgr8(image), width / self.size[0], height / self.size[1])


def open_photo(data: bytes, max_pixels: int = MAX_PIXELS) -> OpenedPhoto:
    """Check the header (format, size limits) without decoding pixels."""
    if not data:
        raise PhotoError("empty file (0 bytes)")

    def header() -> tuple[int, int]:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise PhotoError(f"image too large: {width}x{height} pixels exceeds the {max_pixels:,}-pixel limit")
        if min(width, height) < MIN_SIDE:
            raise PhotoError(f"image too small for face detection: {width}x{height} pixels")
        if image.getexif().get(ORIENTATION_TAG, 1) in TRANSPOSED_ORIENTATIONS:
            return height, width
        return width, height

    return OpenedPhoto(data, _guarded(header))


def decode_photo(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """BGR uint8 pixels of the photo at full resolution, upright as its EXIF orientation says."""
    return open_photo(data, max_pixels).decode().pixels


def _guarded(step):
    """Run a Pillow step, turning every way it can fail into a PhotoError with a reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return step()
    except PhotoError:
        raise
    except UnidentifiedImageError:
        raise PhotoError("not an image: the content is not a format Pillow recognises") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"refused as a decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"corrupt or truncated image: {exc}") from None


def _to_bgr8(image: Image.Image) -> np.ndarray:
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:
        wide = np.asarray(image, dtype=np.float64)
        peak = wide.max() or 1.0
        gray = np.clip(wide * (255.0 / peak), 0, 255).astype(np.uint8)
        rgb = np.stack([gray] * 3, axis=-1)
    else:
        if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, rgba)
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # one pass; no intermediate copies of a 12 MP photo
