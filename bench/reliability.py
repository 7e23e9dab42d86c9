"""Reliability of the shown confidence: does "90%" come true nine times in ten? (bench.accuracy)"""

from __future__ import annotations

import statistics


def reliability(shown: list[tuple[float, bool]], bins: int = 10) -> dict:
    """Reliability table of the shown confidence (the chance the shown name is right) on faces whose
    person is known: per bin of confidence, the faces, their mean confidence and the share whose
    name was right; and the expected calibration error (count-weighted mean gap)."""
    rows, gap = [], 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, ok) for c, ok in shown if low <= c < high or (b == bins - 1 and c == high)]
        if not inside:
            continue
        mean = statistics.mean(c for c, _ in inside)
        share = sum(ok for _, ok in inside) / len(inside)
        gap += len(inside) * abs(mean - share)
        rows.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "faces": len(inside),
                "mean_confidence": round(mean, 4),
                "correct": round(share, 4),
            }
        )
    return {
        "reliability": rows,
        "expected_calibration_error": round(gap / len(shown), 4) if shown else None,
        "calibration_faces_scored": len(shown),
    }


def pooled_reliability(tables: list[list[dict]]) -> dict:
    """Several runs' reliability tables as one (same bins): counts add, means weight by count."""
    bins: dict[str, list[float]] = {}
    for table in tables:
        for row in table:
            total = bins.setdefault(row["bin"], [0, 0.0, 0.0])
            total[0] += row["faces"]
            total[1] += row["faces"] * row["mean_confidence"]
            total[2] += row["faces"] * row["correct"]
    rows = [
        {"bin": name, "faces": int(n), "mean_confidence": round(c / n, 4), "correct": round(k / n, 4)}
        for name, (n, c, k) in sorted(bins.items())
    ]
    faces = sum(r["faces"] for r in rows)
    gap = sum(r["faces"] * abs(r["mean_confidence"] - r["correct"]) for r in rows)
    return {
        "reliability": rows,
        "expected_calibration_error": round(gap / faces, 4) if faces else None,
        "calibration_faces_scored": faces,
    }


def reliability_lines(figures: dict) -> list[str]:
    """The reliability table as text, for the human-readable output."""
    lines = ["confidence   faces  mean   correct"]
    lines += [
        f"{r['bin']:11s} {r['faces']:6d}  {r['mean_confidence']:.3f}  {r['correct']:.3f}"
        for r in figures["reliability"]
    ]
    return [*lines, f"expected calibration error {figures['expected_calibration_error']}"]
