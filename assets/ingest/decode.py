"""Turn photo bytes into pixels, or into a reason a person can act on.

Pillow does the decoding: it sniffs the real format from the bytes (never the extension), applies
EXIF orientation, and refuses decompression bombs from the header before decoding pixels.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 100_000_000  # a 14 MP phone photo is far below; a 30000x30000 bomb is far above
ORIENTATION_TAG = 0x0112
MIN_SIDE = 32


class PhotoError(ValueError):
    """A photo that cannot be used, with a human-readable reason."""


def decode_photo(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """BGR uint8 pixels of the photo, upright as its EXIF orientation says."""
    if not data:
        raise PhotoError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoError(f"image too large: {width}x{height} pixels exceeds the {max_pixels:,}-pixel limit")
            if min(width, height) < MIN_SIDE:
                raise PhotoError(f"image too small for face detection: {width}x{height} pixels")
            image.seek(0)  # first frame of an animation
            image.load()
            if image.getexif().get(ORIENTATION_TAG, 1) != 1:  # transposing copies: only when needed
                image = ImageOps.exif_transpose(image)
    except PhotoError:
        raise
    except UnidentifiedImageError:
        raise PhotoError("not an image: the content is not a format Pillow recognises") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"refused as a decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"corrupt or truncated image: {exc}") from None
    return _to_bgr8(image)


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
