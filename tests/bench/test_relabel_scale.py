"""bench.relabel_scale runs end to end at a small size and reports what it measured (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_relabel_bench_prints_its_figures_for_a_small_library():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-m", "bench.relabel_scale", "--faces", "4000", "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=600,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["faces"] == 4000
    labeled = 20 * 5  # 20 synthetic people, 3 + 1 + 1 labels each
    assert figures["predictions"] == 4000 - labeled
    # The measured relabel runs with 4 labels each (20 more than at the end): at most every one of
    # its predictions written, plus the rows of the 20 faces labeled since the first relabel dropped.
    assert 0 < figures["written"] <= (4000 - 20 * 4) + 20
    assert figures["first_relabel_written"] == 4000 - 20 * 3
    assert set(figures["phases_s"]) == {"load", "score", "write"}
    assert 0 < figures["peak_rss_mb"] < 2048
    assert figures["retrain_and_relabel_seconds"] > 0
