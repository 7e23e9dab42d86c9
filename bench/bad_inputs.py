"""Bad input, one run: how many generated bad/odd photos are explained, and are the good ones unharmed?

    .venv/bin/python -m bench.bad_inputs --json

Generates the fixture library of tests/support/bad_input_library.py from lfw10, ingests it with every
asset in one run, and judges each photo against its case. Side by side, the baseline ingests only
the good photos of the same library: the good photos must come out the same (faces, labels,
predictions) with the bad ones beside them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from tests.support.bad_input_library import build_bad_input_library, ingest_bad_inputs, judge
from tests.support.pipeline import local_resources_at, materialize_all
from tests.support.sample_library import DEFAULT_DATASET


def _good_only(root: Path, dataset: Path) -> dict:
    """The baseline: the same generated library with every non-good case removed."""
    cases = build_bad_input_library(root / "library", root / "outside", dataset)
    for case in cases:
        if not case.good:
            (root / "library" / case.key).unlink()
    good = [c for c in cases if c.good]
    resources = local_resources_at(root / "home", root / "library")
    started = time.monotonic()
    result = materialize_all(resources)
    seconds = time.monotonic() - started
    outcomes = judge(good, resources, {})
    return {
        "success": result.success,
        "seconds": round(seconds, 2),
        "good_photos": len(good),
        "good_photos_processed": sum(
            o.status == "done" and o.faces == o.embedded == o.predicted_or_labeled for o in outcomes
        ),
        "faces_of_good_photos": sum(o.faces for o in outcomes),
    }


def run(dataset: Path) -> dict:
    root = Path(tempfile.mkdtemp(prefix="faceloop-bad-inputs-"))
    try:
        mixed = ingest_bad_inputs(root / "mixed", dataset)
        baseline = _good_only(root / "baseline", dataset)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    outcomes = mixed.outcomes
    good = [o for o in outcomes if o.case.good]
    not_used = [o for o in outcomes if not o.case.good]
    return {
        "cases": len(outcomes),
        "bad_or_unusable": len(not_used),
        "explained": sum(o.explained for o in not_used),
        "as_expected": sum(o.ok for o in outcomes),
        "crashed_runs": int(not mixed.first_run_success) + int(not baseline["success"]),
        "good_photos": len(good),
        "good_photos_processed": sum(o.ok and o.faces == o.embedded == o.predicted_or_labeled for o in good),
        "faces_of_good_photos": sum(o.faces for o in good),
        "seconds": round(mixed.seconds, 2),
        "by_status": {s: sum(o.status == s for o in outcomes) for s in sorted({str(o.status) for o in outcomes})},
        "unexpected": {o.case.name: o.problems for o in outcomes if not o.ok},
        "reasons": {o.case.name: o.reason or o.sidecar_problem for o in outcomes if o.reason or o.sidecar_problem},
        "baseline_good_only": baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, default=DEFAULT_DATASET, help="folder-per-person photo set")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = run(args.images)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
