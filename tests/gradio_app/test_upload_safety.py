"""Uploads never write outside the library, never clobber a photo, and survive hostile names.

Complements test_uploads.py (type sniffing and limits): here the names and the file system.
"""

from __future__ import annotations

import io
import os
import threading

import pytest
from PIL import Image

from gradio_app.uploads import add_photos
from resources.image_source.errors import SourceError
from resources.image_source.local import LocalFolderImageSource


def jpeg(shade: int = 100) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (shade, 80, 60)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def library(tmp_path):
    (tmp_path / "library").mkdir()
    return tmp_path / "library"


def files_outside(tmp_path, library) -> list[str]:
    return sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(library)
    )


@pytest.mark.parametrize(
    "name",
    [
        "../../../../tmp/evil.jpg",
        "..\\..\\windows\\evil.jpg",
        "C:\\Users\\x\\..\\evil.jpg",
        "/etc/cron.d/evil.jpg",
        "..",
        ".hidden.jpg",
        "nul\x00byte.jpg",
        "bidi\u202egpj.exe",
        "名" * 300 + ".jpg",
        "",
    ],
    ids=["dotdot", "backslashes", "drive", "absolute", "only-dots", "hidden", "nul", "bidi", "very-long", "empty"],
)
def test_hostile_upload_names_land_inside_uploads_with_a_plain_visible_name(tmp_path, library, name):
    source = LocalFolderImageSource(root=str(library))
    [result] = add_photos(source, [(name, jpeg())])
    assert result.ok, result.message
    assert result.key.startswith("uploads/") and result.key.count("/") == 1
    stored = result.key.split("/", 1)[1]
    assert not stored.startswith(".") and "\x00" not in stored and "\u202e" not in stored
    assert len(stored.encode()) <= 255 and stored.endswith(".jpg")
    assert [e.key for e in source.list_photos()] == [result.key]  # listed, so it will be ingested
    assert source.read_bytes(result.key) == jpeg()
    assert files_outside(tmp_path, library) == []


def test_an_uploads_folder_linked_outside_the_library_is_refused(tmp_path, library):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, library / "uploads")
    source = LocalFolderImageSource(root=str(library))
    with pytest.raises(SourceError, match="outside the library"):
        source.add_photo("a.jpg", jpeg())
    assert list(outside.iterdir()) == []


def test_an_upload_never_writes_through_a_link_planted_under_its_name(tmp_path, library):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (library / "uploads").mkdir()
    os.symlink(victim, library / "uploads" / "a.jpg")  # a link to a file outside
    os.symlink(tmp_path / "nowhere.txt", library / "uploads" / "b.jpg")  # a dangling link
    source = LocalFolderImageSource(root=str(library))
    first = source.add_photo("a.jpg", jpeg(1))
    second = source.add_photo("b.jpg", jpeg(2))
    assert first not in ("uploads/a.jpg",) and second not in ("uploads/b.jpg",)
    assert victim.read_text() == "precious" and not (tmp_path / "nowhere.txt").exists()
    assert source.read_bytes(first) == jpeg(1) and source.read_bytes(second) == jpeg(2)


def test_simultaneous_uploads_of_one_name_all_survive_whole(library):
    source = LocalFolderImageSource(root=str(library))
    photos = [jpeg(shade) for shade in range(0, 240, 12)]
    keys: list[str] = []
    barrier = threading.Barrier(len(photos))

    def upload(data: bytes) -> None:
        barrier.wait()
        keys.append(source.add_photo("same name.jpg", data))

    threads = [threading.Thread(target=upload, args=(data,)) for data in photos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == len(photos)
    assert sorted(source.read_bytes(k) for k in keys) == sorted(photos)
    assert not [p for p in (library / "uploads").iterdir() if p.name.endswith(".partial")]
