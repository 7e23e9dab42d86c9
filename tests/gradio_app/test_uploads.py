"""Uploads: the type comes from the bytes, limits hold, and good photos land in the image source."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from gradio_app.uploads import UploadLimits, UploadRefused, add_photos, sniff_image
from resources.image_source.local import LocalFolderImageSource


def encoded(fmt: str, size=(120, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image (a decompression bomb's calling card)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.fixture
def source(tmp_path):
    return LocalFolderImageSource(root=str(tmp_path / "library"))


def test_photos_are_stored_under_uploads_with_the_extension_of_their_real_format(source):
    results = add_photos(source, [("holiday.jpg", encoded("PNG")), ("../../etc/x.webp", encoded("JPEG"))])
    assert [r.ok for r in results] == [True, True]
    assert results[0].key == "uploads/holiday.png"
    assert results[1].key == "uploads/x.jpg"  # no path tricks, and the name follows the content
    listed = sorted(p.key for p in source.list_photos())
    assert listed == ["uploads/holiday.png", "uploads/x.jpg"]
    assert source.read_bytes("uploads/holiday.png") == encoded("PNG")


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", "bmp")])
def test_sniffing_recognises_each_supported_format(fmt, ext):
    assert sniff_image(encoded(fmt), UploadLimits()) == (ext, (120, 90))


def test_a_bad_file_is_refused_and_the_good_ones_beside_it_are_kept(source):
    results = add_photos(
        source,
        [("a.jpg", encoded("JPEG")), ("notes.jpg", b"dear diary " * 50), ("b.png", encoded("PNG")), ("e.jpg", b"")],
    )
    assert [r.ok for r in results] == [True, False, True, False]
    assert "not a photo" in results[1].message
    assert "empty" in results[3].message
    assert len(list(source.list_photos())) == 2


def test_size_pixel_and_tiny_image_limits_are_enforced():
    with pytest.raises(UploadRefused, match="byte limit"):
        sniff_image(encoded("PNG"), UploadLimits(max_bytes=100))
    with pytest.raises(UploadRefused, match="pixel limit"):
        sniff_image(encoded("PNG"), UploadLimits(max_pixels=1000))
    with pytest.raises(UploadRefused, match="too small"):
        sniff_image(encoded("PNG", size=(20, 20)), UploadLimits())


def test_a_header_claiming_a_giant_image_is_refused_without_decoding():
    with pytest.raises(UploadRefused, match=r"pixel|bomb"):
        sniff_image(png_header_only(40_000, 40_000), UploadLimits())


def test_truncated_images_are_refused():
    data = encoded("PNG")
    with pytest.raises(UploadRefused):
        sniff_image(data[: len(data) // 2], UploadLimits())


def test_too_many_files_at_once_are_refused_past_the_limit(source):
    results = add_photos(source, [(f"{i}.png", encoded("PNG")) for i in range(3)], UploadLimits(max_files=2))
    assert [r.ok for r in results] == [True, True, False]


def test_an_exact_copy_under_a_new_name_is_named_as_already_in_the_library(source):
    import hashlib

    photo = encoded("JPEG")
    library = {hashlib.sha256(photo).hexdigest(): "family/beach.jpg"}
    results = add_photos(source, [("copy.jpg", photo), ("new.png", encoded("PNG"))], library=library)
    assert (results[0].ok, results[0].message) == (False, "already in your library as family/beach.jpg")
    assert results[1].ok
    pair = [("a.png", encoded("PNG", (64, 64))), ("b.png", encoded("PNG", (64, 64)))]
    again = add_photos(source, pair, library={})
    assert [r.ok for r in again] == [True, False]
    assert again[1].message == f"already in your library as {again[0].key}"  # a copy within one batch too
    assert sorted(p.key for p in source.list_photos()) == ["uploads/a.png", "uploads/new.png"]
