"""bench.ingest matches faces by box, so a spurious box on one side is not a missed face."""

from __future__ import annotations

import pytest

from bench.ingest import faces_in_both, overlap


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
