"""The demo's photo sets: K sidecar labels per person, and the offline fallback set's layout."""

from __future__ import annotations

import io
import json
import tarfile

from tests.support.sample_library import FALLBACK_PEOPLE, build_library, extract_samples


def test_first_k_photos_of_each_person_get_sidecars_and_unknown_people_none(tmp_path):
    source = tmp_path / "source"
    for person in ["Ada", "Bob"]:
        (source / person).mkdir(parents=True)
        for i in range(4):
            (source / person / f"{person}_{i}.jpg").write_bytes(b"x")
    keys = build_library(source, tmp_path / "library", labels_per_person=2, unknown_people=("Bob",))
    assert keys["labeled"] == ["Ada/Ada_0.jpg", "Ada/Ada_1.jpg"]
    assert keys["unlabeled"] == ["Ada/Ada_2.jpg", "Ada/Ada_3.jpg"]
    assert keys["unknown"] == [f"_unknown/Bob/Bob_{i}.jpg" for i in range(4)]
    assert json.loads((tmp_path / "library/Ada/Ada_0.json").read_text()) == {"persona": "Ada"}
    assert not (tmp_path / "library/_unknown/Bob/Bob_0.json").exists()


def test_fallback_sdist_photos_become_a_folder_per_person_set(tmp_path):
    sdist = tmp_path / "face_recognition-1.3.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name in [*FALLBACK_PEOPLE, "32bit.png", "unrelated.jpg"]:
            data = name.encode()
            info = tarfile.TarInfo(f"face_recognition-1.3.0/tests/test_images/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("face_recognition-1.3.0/docs/obama.jpg")  # same name, not a test photo
        info.size = 1
        archive.addfile(info, io.BytesIO(b"!"))
    target = extract_samples(sdist, tmp_path / "samples")
    photos = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert photos == sorted(f"{person}/{name}" for name, person in FALLBACK_PEOPLE.items())
    assert (target / "Barack_Obama" / "obama.jpg").read_bytes() == b"obama.jpg"
    assert not (tmp_path / "samples.partial").exists()
