"""Undo for the app: each session's last actions, undone through ``StateStore.undo``.

An action (confirm 12 faces, name a group, merge two people) logged several events; undoing it
undoes each of them, newest first, by appending their inverses: the log is never rewritten.
Serving a version (a pin, or back to automatic) is a step of the serving log, undone the same way
(``StateStore.undo_serving``).
A face or person changed again since (by this person in another tab, or by someone else) is
refused by the store's rule, and the refusal is told rather than overridden.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from resources.state_store.ports import UndoSteps
from resources.state_store.rules import UndoRefused

LABELS, SERVING = "labels", "serving"
MAX_STEPS = 50  # per browser: enough for a day's "oops", small enough to keep in memory
MAX_SESSIONS = 10_000  # page loads remembered (which browser each is); each costs a few bytes


@dataclass(frozen=True)
class Step:
    description: str  # "confirmed 3 faces as Ada", shown on the Undo button
    seqs: tuple[int, ...]  # the events the action logged
    log: str = LABELS  # which log they are in: LABELS or SERVING


@dataclass(frozen=True)
class Undone:
    description: str
    undone: int  # events taken back
    refused: list[str]  # why some could not be

    @property
    def message(self) -> str:
        if not self.refused:
            return f"Undone: {self.description}."
        if not self.undone:
            return f"Could not undo {self.description}: {self.refused[0]}"
        return f"Partly undone: {self.description} ({len(self.refused)} change(s) kept: {self.refused[0]})"


class UndoLog:
    """The undo steps of each browser (a session bound to one by ``bind``), else of each session
    (Gradio's session hash)."""

    def __init__(self) -> None:
        self._steps: dict[str, list[Step]] = {}
        self._browsers: dict[str, str] = {}  # session -> the browser it was opened in
        self._lock = threading.Lock()

    def bind(self, session: str | None, browser: str) -> None:
        """This session's steps are the browser's: a reload (a new session) keeps its Undo."""
        with self._lock:
            self._browsers[session or ""] = browser
            if len(self._browsers) > MAX_SESSIONS:  # the oldest page loads go first
                del self._browsers[next(iter(self._browsers))]

    def _key(self, session: str | None) -> str:
        return self._browsers.get(session or "", session or "")

    def record(self, session: str | None, description: str, seqs: Sequence[int], log: str = LABELS) -> None:
        if not seqs:
            return
        with self._lock:
            steps = self._steps.setdefault(self._key(session), [])
            steps.append(Step(description, tuple(seqs), log))
            del steps[:-MAX_STEPS]

    def last(self, session: str | None) -> Step | None:
        with self._lock:
            steps = self._steps.get(self._key(session))
            return steps[-1] if steps else None

    def undo(
        self, store: UndoSteps, session: str | None, actor: str | None = None, seqs: Sequence[int] | None = None
    ) -> Undone | None:
        """Undo this session's last step (or the step that logged ``seqs``); None when there is none."""
        with self._lock:
            steps = self._steps.get(self._key(session))
            matching = [i for i, s in enumerate(steps or []) if seqs is None or s.seqs == tuple(seqs)]
            if not matching:
                return None
            step = steps.pop(matching[-1])
        undone, refused = 0, []
        for seq in sorted(step.seqs, reverse=True):
            try:
                inverse = store.undo_serving(seq, actor=actor) if step.log == SERVING else store.undo(seq, actor=actor)
                undone += 1 if inverse else 0
            except (UndoRefused, KeyError) as exc:
                refused.append(str(exc).strip("'\""))
        return Undone(step.description, undone, refused)
