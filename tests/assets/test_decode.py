"""Decoding turns any bytes into upright BGR pixels or a reason a person understands."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from assets.ingest.decode import PhotoError, decode_photo


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    pixels = decode_photo(encode(image, "JPEG", exif=exif))
    assert pixels.shape[:2] == (200, 100)


@pytest.mark.parametrize(
    "image, fmt",
    [
        (Image.new("RGBA", (64, 64), (0, 255, 0, 128)), "PNG"),
        (Image.new("L", (64, 64), 128), "JPEG"),
        (Image.new("CMYK", (64, 64), (0, 0, 0, 0)), "JPEG"),
        (Image.new("I;16", (64, 64), 40000), "PNG"),
        (Image.new("RGB", (64, 64), (1, 2, 3)), "WEBP"),
        (Image.new("P", (64, 64), 3), "GIF"),
    ],
    ids=["png-alpha", "grayscale", "cmyk", "png-16bit", "webp", "gif"],
)
def test_every_colour_mode_becomes_bgr8(image, fmt):
    pixels = decode_photo(encode(image, fmt))
    assert pixels.dtype == np.uint8 and pixels.shape == (64, 64, 3)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"<html><body>not a photo</body></html>", "not an image"),
        (encode(Image.new("RGB", (64, 64)), "JPEG")[:200], "corrupt or truncated"),
        (encode(Image.new("RGB", (10, 10)), "PNG"), "too small"),
    ],
    ids=["zero-bytes", "html", "truncated", "tiny"],
)
def test_unusable_bytes_get_a_reason(data, reason):
    with pytest.raises(PhotoError, match=reason):
        decode_photo(data)


def test_decompression_bomb_is_refused_from_the_header():
    header_only = encode(Image.new("1", (30000, 30000)), "PNG")
    with pytest.raises(PhotoError, match=r"too large|decompression bomb"):
        decode_photo(header_only)
