"""The local folder source: listing, sidecar and folder labels, and staying inside the library."""

from __future__ import annotations

import json
import os

import pytest

from resources.image_source.base import parse_sidecar
from resources.image_source.errors import SourceError
from resources.image_source.local import LocalFolderImageSource, safe_file_name


def test_lists_photos_recursively_and_ignores_other_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.JPG").write_bytes(b"x")
    (tmp_path / "two.png").write_bytes(b"y")
    (tmp_path / "notes.txt").write_text("no")
    (tmp_path / "two.json").write_text("{}")
    keys = [entry.key for entry in LocalFolderImageSource(root=str(tmp_path)).list_photos()]
    assert keys == ["two.png", "a/one.JPG"]


def test_sidecar_names_the_persona(tmp_path):
    (tmp_path / "p.jpg").write_bytes(b"x")
    (tmp_path / "p.json").write_text(json.dumps({"persona": "George_W_Bush"}))
    assert LocalFolderImageSource(root=str(tmp_path)).persona_hint("p.jpg") == ("George_W_Bush", None)


@pytest.mark.parametrize(
    "raw, problem",
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "expected a JSON object"), (b'{"persona": 7}', "non-empty string")],
)
def test_bad_sidecar_is_ignored_with_a_reason(raw, problem):
    persona, reason = parse_sidecar(raw)
    assert persona is None and problem in reason


def test_folder_labels_only_when_enabled_and_never_from_underscore_folders(tmp_path):
    for folder in ["Ada", "_unknown"]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "p.jpg").write_bytes(b"x")
    assert LocalFolderImageSource(root=str(tmp_path)).persona_hint("Ada/p.jpg") == (None, None)
    source = LocalFolderImageSource(root=str(tmp_path), label_from_folders=True)
    assert source.persona_hint("Ada/p.jpg") == ("Ada", None)
    assert source.persona_hint("_unknown/p.jpg") == (None, None)


def test_symlink_leading_outside_the_library_is_not_read(tmp_path):
    library, outside = tmp_path / "library", tmp_path / "secret.jpg"
    library.mkdir()
    outside.write_bytes(b"secret")
    os.symlink(outside, library / "link.jpg")
    source = LocalFolderImageSource(root=str(library))
    assert [e.key for e in source.list_photos()] == ["link.jpg"]
    with pytest.raises(SourceError, match="outside the library"):
        source.read_bytes("link.jpg")
    with pytest.raises(SourceError, match="outside the library"):
        source.read_bytes("../secret.jpg")


def test_oversized_photo_is_refused(tmp_path):
    (tmp_path / "big.jpg").write_bytes(b"x" * 2048)
    with pytest.raises(SourceError, match="over the"):
        LocalFolderImageSource(root=str(tmp_path), max_photo_bytes=1024).read_bytes("big.jpg")


def test_uploads_get_safe_unique_names_inside_the_library(tmp_path):
    source = LocalFolderImageSource(root=str(tmp_path))
    first = source.add_photo("../../etc/pass wd.JPG", b"1")
    second = source.add_photo("../../etc/pass wd.JPG", b"2")
    assert first == "uploads/pass wd.jpg"
    assert second.startswith("uploads/pass wd-") and second != first
    assert (tmp_path / first).read_bytes() == b"1"
    assert safe_file_name("évé<script>.png") == "évé_script.png"
