"""How the app writes numbers, times and people's names (Markdown-safe), in one place."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable


def when(timestamp: float | None) -> str:
    """'2026-01-02 10:00 (3 minutes ago)'."""
    if not timestamp:
        return "never"
    stamp = dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
    return f"{stamp} ({ago(timestamp)})"


def ago(timestamp: float | None, now: Callable[[], float] = time.time) -> str:
    """'3 minutes ago' style, for people rather than logs."""
    if not timestamp:
        return "never"
    seconds = max(0, int(now() - timestamp))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def pct(value: object) -> str:
    """A share as a percentage with one decimal; "–" for a figure a version does not have."""
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else "–"


def chance(value: float | None) -> str:
    """The one way the app shows a face's confidence: the calibrated chance that the name shown
    is right (assets/core/learning/calibration.py), the same number on every tab. Never "0%" or
    "100%": held-out labels cannot promise either."""
    if not isinstance(value, int | float):
        return "–"
    if value < 0.01:
        return "<1%"
    return ">99%" if value > 0.99 else f"{round(value * 100)}%"


def chance_words(value: float, unknown: bool) -> str:
    """A sentence that says what the chance means and never contradicts it."""
    if unknown:
        return "probably someone not named yet"
    return "FaceLoop is fairly sure" if value >= 0.8 else "FaceLoop thinks so" if value >= 0.5 else "FaceLoop is unsure"


def num(value: object) -> str:
    """A score (F1, AUC) to three decimals; "–" for a figure a version does not have."""
    return f"{value:.3f}" if isinstance(value, int | float) else "–"


def md(text: str) -> str:
    """User text (persona names) shown literally in Markdown: no links, emphasis or broken tables."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", str(text))


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (cells already escaped), the one way the app writes tables."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def faces(count: int) -> str:
    """ "1 face", "3 faces": counts read as people say them."""
    return f"{count} face{'s' if count != 1 else ''}"


def with_notice(text: str, notice: str) -> str:
    """``text`` with what the last click did in bold under it, so the answer shows where the person looks."""
    return text + (f"\n\n**{notice}**" if notice else "")
