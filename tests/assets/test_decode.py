"""Decoding turns any bytes into upright BGR pixels or a reason a person understands."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from assets.core.ingest.decode import PhotoError, decode_photo, open_photo


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


def photo_jpeg(width: int, height: int, orientation: int = 1) -> bytes:
    rows = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, axis=1)
    image = Image.fromarray(np.stack([rows, rows[::-1], np.full_like(rows, 90)], axis=-1))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif, quality=92)


def test_a_jpeg_is_decoded_only_as_large_as_asked_inside_the_dct():
    photo = open_photo(photo_jpeg(3000, 2000))
    reduced = photo.decode(640)
    assert photo.size == (3000, 2000)
    assert reduced.pixels.shape == (500, 750, 3)  # 1/4 scale: the smallest whose long side is >= 640
    assert (reduced.scale_x, reduced.scale_y) == (0.25, 0.25)
    full = photo.decode()
    assert full.full_resolution and full.pixels.shape == (2000, 3000, 3)
    # The same picture: the reduced decode matches the full one area-averaged to its size.
    shrunk = cv2.resize(full.pixels, (750, 500), interpolation=cv2.INTER_AREA)
    assert np.abs(shrunk.astype(int) - reduced.pixels.astype(int)).mean() < 2


def test_a_reduced_decode_is_upright_and_scaled_per_axis_with_exif_orientation():
    photo = open_photo(photo_jpeg(3000, 2000, orientation=6))  # stored landscape, shown portrait
    reduced = photo.decode(640)
    assert photo.size == (2000, 3000)
    assert reduced.pixels.shape == (750, 500, 3)
    assert reduced.scale_x == reduced.scale_y == 0.25
    np.testing.assert_array_equal(decode_photo(photo.data).shape, (3000, 2000, 3))


def test_a_format_without_reduced_decoding_is_decoded_once_at_full_size():
    photo = open_photo(encode(Image.new("RGB", (1600, 1200), (9, 9, 9)), "PNG"))
    first, second = photo.decode(640), photo.decode(1000)
    assert first.full_resolution and first.pixels.shape == (1200, 1600, 3)
    assert second is first
