"""Which classifier version serves: the promoted one, or a labeler's pin."""

from __future__ import annotations

from collections.abc import Sequence

from resources.state_store.records import (
    ModelVersion,
    Serving,
    ServingEvent,
    ServingKind,
)
from resources.state_store.rules.label_events import UNDO_SOURCE
from resources.state_store.rules.undoing import UndoRefused


class PinRefused(ValueError):
    """A version that cannot be pinned (unknown, or a training attempt with no classifier)."""


# The quality gate promotes (the ``promoted`` flag); a labeler may pin another trained version.
# The newest serving event decides: a pin holds until a version checked after it passes the gate
# (the promoted version is then newer than every version judged when it was pinned), or until the
# labeler goes back to automatic. So the serving version is derived, never stored in place.
def has_classifier(version: ModelVersion) -> bool:
    """A trained version (a failed training attempt is recorded with no artifact)."""
    return bool(version.artifact_key) and not version.metrics.get("training_error")


def serving(versions: Sequence[ModelVersion], events: Sequence[ServingEvent]) -> Serving:
    """The version that serves: the pinned one while its pin holds, else the promoted one."""
    promoted = next((v for v in versions if v.promoted), None)
    last = max(events, key=lambda e: e.seq or 0, default=None)
    if last is None or last.kind != ServingKind.PIN:
        return Serving(promoted, promoted)
    if promoted is not None and promoted.version > last.newest_checked:
        return Serving(promoted, promoted, lifted_pin=last)
    pinned = next((v for v in versions if v.version == last.version), None)
    return Serving(pinned, promoted, pin=last) if pinned is not None else Serving(promoted, promoted)


def pin(
    version: int, versions: Sequence[ModelVersion], events: Sequence[ServingEvent], actor: str | None = None
) -> ServingEvent | None:
    """The event that makes ``version`` serve; None when it serves by this very pin already."""
    chosen = next((v for v in versions if v.version == version), None)
    if chosen is None:
        raise PinRefused(f"there is no classifier version {version}")
    if not has_classifier(chosen):
        raise PinRefused(f"version {version} is a failed training attempt: there is no classifier to serve")
    now = serving(versions, events)
    if now.pin is not None and now.pin.version == version:
        return None
    newest_checked = max((v.version for v in versions if v.passed_gate is not None), default=0)
    return ServingEvent(ServingKind.PIN, version, newest_checked, actor=actor)


def automatic(
    versions: Sequence[ModelVersion], events: Sequence[ServingEvent], actor: str | None = None
) -> ServingEvent | None:
    """The event that gives serving back to the quality gate; None when no pin holds."""
    if serving(versions, events).pin is None:
        return None
    return ServingEvent(ServingKind.AUTOMATIC, actor=actor)


def undo_serving_event(
    versions: Sequence[ModelVersion], events: Sequence[ServingEvent], seq: int, actor: str | None = None
) -> ServingEvent | None:
    """The event that takes serving back to how it was before event ``seq`` (by state, as face undo).

    None when serving is as it was before already (the pin was lifted, or undone); refused when
    serving changed again since (another pin, or back to automatic, after it).
    """
    if not any(e.seq == seq for e in events):
        raise KeyError(f"no serving event {seq}")
    before = serving(versions, [e for e in events if (e.seq or 0) < seq])
    after = serving(versions, [e for e in events if (e.seq or 0) <= seq])
    now = serving(versions, events)

    def key(state: Serving) -> tuple:
        return (state.pin.seq if state.pin else None, state.model.version if state.model else None)

    if key(now)[1:] == key(before)[1:] and (now.pin is None) == (before.pin is None):
        return None
    if key(now) != key(after):
        raise UndoRefused(f"serving changed again after event {seq}; undo that first")
    if before.pin is None:
        return ServingEvent(ServingKind.AUTOMATIC, source=UNDO_SOURCE, actor=actor)
    return ServingEvent(ServingKind.PIN, before.pin.version, before.pin.newest_checked, source=UNDO_SOURCE, actor=actor)
