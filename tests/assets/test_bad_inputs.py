"""Every bad photo gets its own reason and the batch goes on; the good photos beside them are fully processed.

The library is generated from lfw10 by tests/support/bad_input_library.py (the benchmark judges the same
cases). Tests run as root here, so ``chmod 000`` alone proves nothing: the permission case drops
privileges in a forked child; in the single run, unreadable files are a named pipe, a dangling
link and a link leading outside the library.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest

from assets.core.ingest.decode import PhotoError, decode_photo
from resources.image_source.errors import SourceError
from resources.image_source.local import LocalFolderImageSource
from resources.state_store.records import ImageStatus
from tests.support.bad_input_library import CHANGING_KEY, DONE, ERROR, NO_FACE, UNREADABLE, ingest_bad_inputs, png_bomb
from tests.support.pipeline import materialize_all

REQUIRED_CASES = {
    "zero_bytes",
    "truncated_jpeg",
    "html_named_jpg",
    "png_alpha",
    "png_16bit",
    "grayscale",
    "cmyk_jpeg",
    "exif_rotated",
    "animated_gif",
    "webp",
    "decompression_bomb",
    "tiny_10x10",
    "noise_no_face",
    "many_faces",
    "name_spaces",
    "name_unicode",
    "name_dots",
    "symlink_outside",
    "dangling_symlink",
    "fifo",
    "changed_while_read",
    "sidecar_malformed_json",
    "sidecar_odd_characters",
    "sidecar_wrong_type",
    "sidecar_control_characters",
}


@pytest.fixture(scope="module")
def bad_run(lfw10, weights_home, tmp_path_factory):
    return ingest_bad_inputs(tmp_path_factory.mktemp("bad-inputs"), lfw10)


def test_every_case_is_explained_and_every_good_photo_fully_processed_in_one_run(bad_run):
    assert bad_run.first_run_success, "a bad photo must never fail the run"
    assert REQUIRED_CASES <= {c.name for c in bad_run.cases}
    failures = {o.case.name: o.problems for o in bad_run.outcomes if not o.ok}
    assert failures == {}
    not_used = [o for o in bad_run.outcomes if o.status != DONE]
    assert not_used and all(o.explained for o in not_used)
    statuses = {o.status for o in bad_run.outcomes}
    assert statuses == {DONE, NO_FACE, ERROR, UNREADABLE}
    good = [o for o in bad_run.outcomes if o.case.good]
    assert len(good) >= 20 and all(o.faces and o.embedded == o.faces == o.predicted_or_labeled for o in good)


def test_the_run_counts_unreadable_files_and_reports_each_sidecar_problem(bad_run):
    meta = bad_run.raw_images_metadata
    assert meta["unreadable"] == sum(c.status == UNREADABLE for c in bad_run.cases)
    problems = meta["sidecar_problems"].splitlines()
    assert len(problems) == sum(c.sidecar_problem is not None for c in bad_run.cases)


def test_markup_in_a_sidecar_name_is_kept_as_plain_text(bad_run):
    names = {p.name for p in bad_run.resources["state_store"].personas()}
    assert "Zoë O'Brien-名前 <b>*x*</b>" in names
    assert not any("\x00" in n or "\u202e" in n or len(n) > 120 for n in names)


def test_a_photo_changed_while_read_is_ingested_on_the_next_run_without_duplicates(bad_run):
    store = bad_run.resources["state_store"]
    before_images = {i.key: i for i in store.images()}
    before_faces = {f.face_id for f in store.faces()}
    assert CHANGING_KEY in store.unreadable_photos() and CHANGING_KEY not in before_images
    assert materialize_all(bad_run.resources).success
    after = {i.key: i for i in store.images()}
    assert after[CHANGING_KEY].status == ImageStatus.DONE
    new_faces = [f for f in store.faces() if f.face_id not in before_faces]
    assert [f.image_id for f in new_faces] == [after[CHANGING_KEY].image_id]
    assert CHANGING_KEY not in store.unreadable_photos()
    assert {k: v for k, v in after.items() if k != CHANGING_KEY} == before_images  # nothing else touched
    data = (Path(store.path).parent.parent / "library" / CHANGING_KEY).read_bytes()
    assert after[CHANGING_KEY].image_id == hashlib.sha256(data).hexdigest()


def test_a_decompression_bomb_is_refused_from_its_header_without_allocating_its_pixels():
    bomb = png_bomb()
    assert len(bomb) < 200_000  # small on disk, 900 megapixels when decoded
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(PhotoError, match=r"decompression bomb|too large"):
            decode_photo(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024 and time.perf_counter() - started < 2.0


def test_a_file_its_reader_may_not_read_gets_a_permission_reason():
    """Root reads any file, so the read runs in a forked child that has dropped to ``nobody``."""
    folder = Path(tempfile.mkdtemp(prefix="faceloop-perm-"))
    try:
        folder.chmod(0o755)
        (folder / "locked.jpg").write_bytes(b"\xff\xd8 not for you")
        (folder / "locked.jpg").chmod(0o000)
        (folder / "open.jpg").write_bytes(b"\xff\xd8 readable")
        (folder / "open.jpg").chmod(0o644)
        source = LocalFolderImageSource(root=str(folder))
        assert [e.key for e in source.list_photos()] == ["locked.jpg", "open.jpg"]
        results = _read_as_nobody(source, ["locked.jpg", "open.jpg"])
        assert results == ["SourceError: permission denied reading the file", "ok: 11 bytes"]
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def _read_as_nobody(source: LocalFolderImageSource, keys: list[str]) -> list[str]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to nobody for good, read, report, exit without cleanup
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            lines = []
            for key in keys:
                try:
                    lines.append(f"ok: {len(source.read_bytes(key))} bytes")
                except SourceError as exc:
                    lines.append(f"SourceError: {exc}")
            os.write(write, "\n".join(lines).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return out.splitlines()


def test_content_rewritten_after_registering_is_refused_by_read_verified(tmp_path):
    source = LocalFolderImageSource(root=str(tmp_path))
    (tmp_path / "p.jpg").write_bytes(b"first version")
    registered = hashlib.sha256(b"first version").hexdigest()
    assert source.read_verified("p.jpg", registered) == b"first version"
    (tmp_path / "p.jpg").write_bytes(b"second version")
    with pytest.raises(SourceError, match="changed after it was registered"):
        source.read_verified("p.jpg", registered)
