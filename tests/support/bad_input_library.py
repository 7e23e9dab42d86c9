"""A library of bad, odd and good photos, generated from lfw10 with Pillow (nothing downloaded).

Shared by tests/assets/test_bad_inputs.py and ``python -m bench.bad_inputs``: each :class:`Case`
says what ingest must make of one file (status, a reason pattern, how many faces, the label its
sidecar gives or the problem it reports), so the test and the benchmark judge the same thing.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from resources.image_source.local import LocalFolderImageSource
from tests.support.sample_library import DEFAULT_DATASET, people_folders, photos_of

DONE, NO_FACE, ERROR, UNREADABLE = "done", "no_face", "error", "unreadable"
CHANGING_KEY = "faults/being written.jpg"
LABELED_PEOPLE, LABELS_PER_PERSON = 3, 4


@dataclass(frozen=True)
class Case:
    name: str
    key: str  # the file's key in the library
    status: str  # DONE / NO_FACE / ERROR (an image record) or UNREADABLE (never became an image)
    reason: str | None = None  # regex the per-photo reason must match
    faces: tuple[int, int] = (0, 0)  # inclusive range of faces for DONE
    persona: str | None = None  # the import label its sidecar gives
    sidecar_problem: str | None = None  # regex of the sidecar problem raw_images reports
    upright_size: tuple[int, int] | None = None  # (width, height) after EXIF orientation

    @property
    def good(self) -> bool:
        """A photo that must be fully processed: faces, embeddings and (if unlabeled) predictions."""
        return self.status == DONE


def _jpeg(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=92, **kwargs)
    return buffer.getvalue()


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid 1-bit PNG that inflates to width x height pixels (~110 kB on disk, 900 MP decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1000) for _ in range(height // 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class _Faces:
    """Distinct lfw10 photos handed out one by one, so no two fixtures share content."""

    def __init__(self, dataset: Path):
        people = [photos_of(folder) for folder in people_folders(dataset)]
        # Round-robin over people from each person's last photo: different people, unlabeled ranks.
        self._queue = [photos[-1 - i] for i in range(6) for photos in people if len(photos) > i]

    def next(self) -> Image.Image:
        return Image.open(self._queue.pop(0)).convert("RGB")

    def next_path(self) -> Path:
        return self._queue.pop(0)


class _Writer:
    """Writes each case's file (and sidecar) under the library and keeps the case list."""

    def __init__(self, library: Path, outside: Path):
        self.library, self.outside = library, outside
        self.cases: list[Case] = []

    def put(self, case: Case, data: bytes, sidecar: bytes | None = None) -> None:
        path = self.library / case.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if sidecar is not None:
            path.with_suffix(".json").write_bytes(sidecar)
        self.cases.append(case)


ONE = (1, 1)


def build_bad_input_library(library: Path, outside: Path, dataset: Path = DEFAULT_DATASET) -> list[Case]:
    """Write every case under ``library`` (and a link target under ``outside``); return the cases."""
    library.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    faces, out = _Faces(dataset), _Writer(library, outside)
    # The order is part of the fixture: each family takes the next distinct lfw10 photos.
    for family in (_good_photos, _broken_files, _odd_encodings, _face_counts, _file_names, _not_plain_files, _sidecars):
        family(out, faces, dataset)
    return out.cases


def _good_photos(out: _Writer, faces: _Faces, dataset: Path) -> None:
    """Unchanged photos; three people with sidecar labels so a classifier is trained and the
    unlabeled photos get predictions."""
    for i in range(4):
        src = faces.next_path()
        out.put(Case(f"good_{i}", f"good/{src.name}", DONE, faces=ONE), src.read_bytes())
    for folder in people_folders(dataset)[:LABELED_PEOPLE]:  # some lfw photos show a second person
        for src in photos_of(folder)[:LABELS_PER_PERSON]:
            sidecar = json.dumps({"persona": folder.name}).encode()
            out.put(
                Case(f"labeled_{src.stem}", f"labeled/{src.name}", DONE, faces=(1, 2), persona=folder.name),
                src.read_bytes(),
                sidecar,
            )


def _broken_files(out: _Writer, faces: _Faces, dataset: Path) -> None:
    """Broken or not photos at all."""
    out.put(Case("zero_bytes", "broken/empty.jpg", ERROR, r"empty file \(0 bytes\)"), b"")
    whole = _jpeg(faces.next())
    truncated = Case("truncated_jpeg", "broken/truncated.jpg", ERROR, r"corrupt or truncated")
    out.put(truncated, whole[: len(whole) * 6 // 10])
    html = b"<!doctype html><html><body><h1>Not a photo</h1></body></html>"
    out.put(Case("html_named_jpg", "broken/page.jpg", ERROR, r"not an image"), html)
    out.put(Case("text_named_png", "broken/notes.png", ERROR, r"not an image"), b"shopping list: milk, eggs\n" * 20)
    bomb = Case("decompression_bomb", "broken/bomb.png", ERROR, r"decompression bomb|too large: 30000x30000")
    out.put(bomb, png_bomb())
    tiny = faces.next().resize((10, 10))
    out.put(Case("tiny_10x10", "broken/tiny.jpg", ERROR, r"too small for face detection: 10x10"), _jpeg(tiny))


def _odd_encodings(out: _Writer, faces: _Faces, dataset: Path) -> None:
    """Odd encodings of good photos: each must still give its face."""
    face = faces.next().convert("RGBA")
    alpha = Image.radial_gradient("L").resize(face.size).point(lambda v: 255 - v // 2)
    face.putalpha(alpha)
    out.put(Case("png_alpha", "odd/alpha.png", DONE, faces=ONE), _save(face, "PNG"))
    gray16 = Image.fromarray((np.asarray(faces.next().convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    out.put(Case("png_16bit", "odd/deep.png", DONE, faces=ONE), _save(gray16, "PNG"))
    out.put(Case("grayscale", "odd/gray.jpg", DONE, faces=ONE), _jpeg(faces.next().convert("L")))
    out.put(Case("cmyk_jpeg", "odd/cmyk.jpg", DONE, faces=ONE), _jpeg(faces.next().convert("CMYK")))
    upright = faces.next().crop((0, 25, 250, 225))  # 250x200: the orientation shows in the size
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the pixels are stored sideways
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    rotated = Case("exif_rotated", "odd/sideways.jpg", DONE, faces=ONE, upright_size=(250, 200))
    out.put(rotated, _jpeg(sideways, exif=exif))
    first = faces.next()
    frames = [first, ImageOps.mirror(first), Image.effect_noise(first.size, 60).convert("RGB")]
    gif = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    out.put(Case("animated_gif", "odd/animated.gif", DONE, faces=ONE), gif)
    out.put(Case("webp", "odd/photo.webp", DONE, faces=ONE), _save(faces.next(), "WEBP", quality=90))


def _face_counts(out: _Writer, faces: _Faces, dataset: Path) -> None:
    """No face, many faces."""
    rng = np.random.default_rng(8)
    noise = Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8))
    out.put(Case("noise_no_face", "odd/noise.jpg", NO_FACE, r"no face found"), _jpeg(noise))
    group = Image.new("RGB", (500, 500), (200, 200, 200))
    for i in range(4):
        group.paste(faces.next(), ((i % 2) * 250, (i // 2) * 250))
    out.put(Case("many_faces", "odd/group of four.jpg", DONE, faces=(4, 4)), _jpeg(group))


def _file_names(out: _Writer, faces: _Faces, dataset: Path) -> None:
    out.put(Case("name_spaces", "names/with  spaces .jpg", DONE, faces=ONE), faces.next_path().read_bytes())
    out.put(Case("name_unicode", "names/ünïcødé 名前 ☺.jpg", DONE, faces=ONE), faces.next_path().read_bytes())
    out.put(Case("name_dots", "names/x..y...jpg", DONE, faces=ONE), faces.next_path().read_bytes())


def _not_plain_files(out: _Writer, faces: _Faces, dataset: Path) -> None:
    """Links, a pipe, and a photo still being written when first read (see ConcurrentWriterSource)."""
    library, outside = out.library, out.outside
    target = outside / "private.jpg"
    target.write_bytes(faces.next_path().read_bytes())
    (library / "links").mkdir()
    os.symlink(target, library / "links" / "outside.jpg")
    out.cases.append(Case("symlink_outside", "links/outside.jpg", UNREADABLE, r"outside the library; not followed"))
    os.symlink("gone.jpg", library / "links" / "dangling.jpg")
    out.cases.append(Case("dangling_symlink", "links/dangling.jpg", UNREADABLE, r"broken symbolic link"))
    os.mkfifo(library / "links" / "pipe.jpg")
    out.cases.append(Case("fifo", "links/pipe.jpg", UNREADABLE, r"not a regular file \(a named pipe\)"))
    full = faces.next_path().read_bytes()
    path = library / CHANGING_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(full[: len(full) // 2])
    (outside / "rest-of-being-written.bin").write_bytes(full[len(full) // 2 :])
    out.cases.append(Case("changed_while_read", CHANGING_KEY, UNREADABLE, r"changed while it was read"))


def _sidecars(out: _Writer, faces: _Faces, dataset: Path) -> None:
    """A bad sidecar costs only the label, never the photo."""

    def labeled(name: str, key: str, sidecar: bytes, persona: str | None = None, problem: str | None = None) -> None:
        case = Case(name, key, DONE, faces=ONE, persona=persona, sidecar_problem=problem)
        out.put(case, _jpeg(faces.next()), sidecar)

    labeled("sidecar_malformed_json", "sidecars/malformed.jpg", b'{"persona": "Ada', problem=r"not valid JSON")
    labeled("sidecar_wrong_type", "sidecars/wrong type.jpg", b'{"persona": ["Ada"]}', problem=r"non-empty string")
    labeled("sidecar_not_object", "sidecars/list.jpg", b'["Ada"]', problem=r"expected a JSON object")
    odd = "  Zoë  O'Brien-名前 <b>*x*</b> "
    labeled(
        "sidecar_odd_characters",
        "sidecars/odd name.jpg",
        json.dumps({"persona": odd}).encode(),
        persona="Zoë O'Brien-名前 <b>*x*</b>",
    )
    control = json.dumps({"persona": "Ada\u202e\u0000nimda"}).encode()
    labeled("sidecar_control_characters", "sidecars/control.jpg", control, problem=r"control characters")
    long_name = json.dumps({"persona": "A" * 500}).encode()
    labeled("sidecar_too_long", "sidecars/long.jpg", long_name, problem=r"longer than 120 characters")


class ConcurrentWriterSource(LocalFolderImageSource):
    """The local source, with another writer finishing ``CHANGING_KEY`` while it is first read.

    The write happens on the real file between open and close, exactly as a photo still being
    copied into the library would change under the reader; later reads see the finished file.
    """

    rest_path: str

    def _read_open(self, handle: BinaryIO, limit: int) -> bytes:
        data = super()._read_open(handle, limit)
        rest = Path(self.rest_path)
        changing = self._root() / CHANGING_KEY
        if rest.exists() and changing.exists() and os.fstat(handle.fileno()).st_ino == changing.stat().st_ino:
            with open(changing, "ab") as writer:
                writer.write(rest.read_bytes())
            rest.unlink()
        return data


def bad_input_resources(home: Path, library: Path, outside: Path) -> dict:
    """The harness's local resources, with the concurrent writer on the image source."""
    from tests.support.pipeline import local_resources_at

    resources = local_resources_at(home, library)
    resources["image_source"] = ConcurrentWriterSource(
        root=str(library), rest_path=str(outside / "rest-of-being-written.bin")
    )
    return resources


@dataclass
class Outcome:
    """What ingest made of one case, and whether that is what the case expects."""

    case: Case
    status: str | None
    reason: str | None
    faces: int
    embedded: int
    predicted_or_labeled: int
    persona: str | None
    sidecar_problem: str | None
    size: tuple[int, int] | None
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def explained(self) -> bool:
        """A photo that was not used has a specific reason (not a generic crash message)."""
        return self.status != DONE and bool(self.reason) and "failed:" not in (self.reason or "")


def judge(cases: list[Case], resources: dict, raw_images_metadata: dict) -> list[Outcome]:
    """Compare the store's per-photo state with each case's expectation."""
    store, space = resources["state_store"], resources["face_engine"].embedding_space
    images = {image.key: image for image in store.images()}
    unreadable = store.unreadable_photos()
    faces_by_image: dict[str, list[str]] = {}
    for face in store.faces():
        faces_by_image.setdefault(face.image_id, []).append(face.face_id)
    embedded = set(store.load_embeddings(space)[0])
    predicted = set(store.predictions())
    states = store.label_states()
    names = {p.persona_id: p.name for p in store.personas(include_merged=True)}
    sidecar_lines = dict(
        line.split(": ", 1)
        for line in str(raw_images_metadata.get("sidecar_problems", "")).splitlines()
        if ": " in line
    )
    outcomes = []
    for case in cases:
        image = images.get(case.key)
        face_ids = faces_by_image.get(image.image_id, []) if image else []
        labeled = [f for f in face_ids if states.get(f) and states[f].persona_id is not None]
        status = image.status.value if image else (UNREADABLE if case.key in unreadable else None)
        reason = image.reason if image else unreadable.get(case.key)
        outcome = Outcome(
            case=case,
            status=status,
            reason=reason,
            faces=len(face_ids),
            embedded=sum(f in embedded for f in face_ids),
            predicted_or_labeled=sum(f in predicted or f in labeled for f in face_ids),
            persona=names.get(states[labeled[0]].persona_id) if labeled else None,
            sidecar_problem=sidecar_lines.get(case.key),
            size=(image.width, image.height) if image and image.width else None,
            problems=[],
        )
        p = outcome.problems
        if status != case.status:
            p.append(f"status {status!r}, expected {case.status!r} (reason: {reason})")
        if case.reason and not (reason and _search(case.reason, reason)):
            p.append(f"reason {reason!r} does not match {case.reason!r}")
        if case.good:
            low, high = case.faces
            if not low <= len(face_ids) <= high:
                p.append(f"{len(face_ids)} faces, expected {low}..{high}")
            if outcome.embedded != len(face_ids):
                p.append(f"only {outcome.embedded} of {len(face_ids)} faces embedded")
            if outcome.predicted_or_labeled != len(face_ids):
                p.append(f"only {outcome.predicted_or_labeled} of {len(face_ids)} faces labeled or predicted")
        if case.persona != outcome.persona:
            p.append(f"label {outcome.persona!r}, expected {case.persona!r}")
        if case.sidecar_problem and not (
            outcome.sidecar_problem and _search(case.sidecar_problem, outcome.sidecar_problem)
        ):
            p.append(f"sidecar problem {outcome.sidecar_problem!r} does not match {case.sidecar_problem!r}")
        if case.upright_size and outcome.size != case.upright_size:
            p.append(f"size {outcome.size}, expected upright {case.upright_size}")
        outcomes.append(outcome)
    return outcomes


def _search(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


@dataclass
class BadInputRun:
    cases: list[Case]
    outcomes: list[Outcome]  # after the first run, which ingests everything at once
    resources: dict
    first_run_success: bool
    seconds: float
    raw_images_metadata: dict


def ingest_bad_inputs(root: Path, dataset: Path = DEFAULT_DATASET) -> BadInputRun:
    """Generate the library under ``root`` and ingest it all in one run of every asset."""
    from resources.face_engine.weights import provision_weights
    from tests.support.pipeline import materialize_all

    provision_weights()  # once, before worker processes could race to copy the weights
    cases = build_bad_input_library(root / "library", root / "outside", dataset)
    resources = bad_input_resources(root / "home", root / "library", root / "outside")
    started = time.monotonic()
    result = materialize_all(resources)
    seconds = time.monotonic() - started
    [raw] = result.asset_materializations_for_node("raw_images") or [None]
    metadata = {k: v.value for k, v in raw.metadata.items()} if raw else {}
    return BadInputRun(cases, judge(cases, resources, metadata), resources, result.success, seconds, metadata)
