"""The multi-face benchmark's photos: two different people side by side, made at run time."""

from __future__ import annotations

from PIL import Image

from bench.multi_face import build_composites


def test_composites_pair_two_different_people_and_use_each_photo_once(lfw10, tmp_path):
    composites = build_composites(lfw10, tmp_path / "library", labels_per_person=3)
    assert len(composites) == 35
    assert all(left != right for left, right in composites.values())
    for key in list(composites)[:3]:
        with Image.open(tmp_path / "library" / key) as photo:
            assert photo.width == 500 and photo.height == 250
    labels = sorted((tmp_path / "library").rglob("*.json"))
    assert len(labels) == 30 and not any(p.relative_to(tmp_path).parts[1] == "_composites" for p in labels)
