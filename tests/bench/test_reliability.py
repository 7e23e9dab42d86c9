"""The reliability table bench.accuracy prints: bins, share right, expected calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from bench.reliability import pooled_reliability, reliability


def shown_faces(seed: int, n: int = 300) -> list[tuple[float, bool]]:
    rng = np.random.default_rng(seed)
    confidence = rng.random(n)
    right = rng.random(n) < confidence**2  # overconfident: "50%" comes true a quarter of the time
    return list(zip(confidence.tolist(), right.tolist(), strict=True))


def test_expected_calibration_error_is_the_count_weighted_gap_per_bin():
    shown = shown_faces(0)
    table = reliability(shown)
    confidence, right = np.array(shown).T
    bins = np.minimum((confidence * 10).astype(int), 9)
    gaps = [abs(confidence[bins == b].mean() - right[bins == b].mean()) * (bins == b).sum() for b in np.unique(bins)]
    assert table["expected_calibration_error"] == pytest.approx(sum(gaps) / len(shown), abs=1e-3)
    assert sum(row["faces"] for row in table["reliability"]) == len(shown) == table["calibration_faces_scored"]
    assert table["expected_calibration_error"] > 0.1  # the overconfidence shows


def test_pooled_tables_equal_one_table_of_all_the_faces():
    first, second = shown_faces(1), shown_faces(2)
    pooled = pooled_reliability([reliability(first)["reliability"], reliability(second)["reliability"]])
    whole = reliability(first + second)
    assert pooled["calibration_faces_scored"] == whole["calibration_faces_scored"]
    assert pooled["expected_calibration_error"] == pytest.approx(whole["expected_calibration_error"], abs=1e-3)
