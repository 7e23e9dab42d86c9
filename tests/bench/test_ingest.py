"""bench.ingest matches faces by box, so a spurious box on one side is not a missed face."""

from __future__ import annotations

import pytest
from PIL import Image

from bench.ingest import MIXED_MEGAPIXELS, baseline_only, faces_in_both, mixed_copies, overlap
from tests.support.sample_library import photos_of


def test_overlap_is_intersection_over_union():
    assert overlap((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert overlap((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert overlap((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_faces_in_both_counts_baseline_faces_that_one_of_ours_covers():
    ours = {"a.jpg": [(100, 100, 1000, 1000)], "b.jpg": [(0, 0, 500, 500)]}
    baseline = {
        "a.jpg": [(120, 90, 1050, 1050), (2800, 2300, 76, 76)],  # same face at another scale; a spurious box
        "b.jpg": [(0, 0, 500, 500)],
        "c.jpg": [(0, 0, 50, 50)],  # a photo where we found nothing
    }
    assert faces_in_both(ours, baseline) == 2


def test_baseline_only_lists_the_baseline_boxes_none_of_ours_matches():
    ours = {"a.jpg": [(100, 100, 1000, 1000)]}
    baseline = {"a.jpg": [(120, 90, 1050, 1050), (2800, 2300, 76, 76)], "c.jpg": [(0, 0, 50, 50)]}
    assert baseline_only(ours, baseline) == [("a.jpg", (2800, 2300, 76, 76)), ("c.jpg", (0, 0, 50, 50))]


def test_the_mixed_set_spans_one_to_fourteen_megapixels_from_every_person(lfw10, tmp_path):
    photos = photos_of(lfw10)
    count = len(MIXED_MEGAPIXELS)
    mixed = mixed_copies(photos, tmp_path, count=count)
    sizes = [Image.open(path).size for path in mixed]
    megapixels = sorted(w * h / 1e6 for w, h in sizes)
    assert megapixels == pytest.approx(sorted(MIXED_MEGAPIXELS), rel=0.01)
    people = {path.stem.split("MP_", 1)[1].rsplit("_", 1)[0] for path in mixed}
    assert len(people) == count  # spread over the people, not the first one's photos
