"""Where a run's time went: seconds per phase, for its log line and its metadata."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class PhaseClock:
    """Seconds per phase, kept in ``seconds`` (a dict the caller may hand in and keep reading).

    Phases that recur add up: ``with clock("detect"):`` adds the block's duration to
    ``seconds["detect"]`` (each photo's decode, detect and align, in the ingest pool). Phases that
    follow one another once are laps: ``clock.lap("score")`` records the seconds since the last
    lap (or since the clock started), rounded to milliseconds (predicted_labels' load, score, write).
    """

    def __init__(self, seconds: dict[str, float] | None = None) -> None:
        self.seconds: dict[str, float] = {} if seconds is None else seconds
        self._last = time.perf_counter()

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - started

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(now - self._last, 3)
        self._last = now

    def timed(self, phase: str, call: Callable[..., T], *args: object) -> Callable[[], T]:
        """``call(*args)`` for later, timed as ``phase`` when it runs (the pool reads each photo
        only when a worker is ready for it, so the read is timed there, not here)."""

        def deferred() -> T:
            with self(phase):
                return call(*args)

        return deferred

    def __str__(self) -> str:
        return ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in self.seconds.items())
