"""What a label event means: the kinds, a face's state derived from its events, names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from resources.state_store.records import (
    FaceLabelState,
    LabelEvent,
    LabelKind,
    PersonaEvent,
)

MAX_NAME_LENGTH = 120
SET_ASIDE_KINDS = frozenset({LabelKind.STRANGER, LabelKind.NOT_FACE})  # the face leaves review and predictions
LABEL_KINDS = frozenset({LabelKind.ASSIGN, LabelKind.CONFIRM, LabelKind.REJECT, LabelKind.REMOVE}) | SET_ASIDE_KINDS
FACE_KINDS = LABEL_KINDS | {LabelKind.CHECK}  # a CHECK changes no label: it says one was checked
PERSONA_KINDS = frozenset({LabelKind.MERGE, LabelKind.UNMERGE, LabelKind.RENAME})
LEGACY_MERGE_SOURCE = "merge"  # older stores marked a merge as ASSIGN with no face and this source
UNDO_SOURCE = "undo"


def teaches_the_model(event: LabelEvent) -> bool:
    """Whether an event can change what a classifier learns: a CHECK only marks a label as checked,
    so checks alone never start a retrain nor count as new labels."""
    return event.kind != LabelKind.CHECK


def validate_persona_name(name: str) -> str:
    """Persona names are free text, trimmed; empty or absurdly long names are refused."""
    if not isinstance(name, str):
        raise ValueError(f"persona name must be text, got {type(name).__name__}")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("persona name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"persona name is longer than {MAX_NAME_LENGTH} characters")
    return cleaned


def name_taken(name: str) -> ValueError:
    return ValueError(f"a persona named {name!r} already exists; merge instead")


# -- face label events -------------------------------------------------------------------------
def checked_face_event(event: LabelEvent) -> LabelEvent:
    """A face label event as the log takes it; bad input raises before anything is written."""
    kind = LabelKind(event.kind)  # raises ValueError for an unknown kind
    if kind not in FACE_KINDS:
        raise ValueError(f"{kind.value!r} is not a face label; use merge_personas/rename_persona/undo")
    if not isinstance(event.face_id, str) or not event.face_id:
        raise ValueError("a label event needs a face id")
    if kind in SET_ASIDE_KINDS and event.persona_id is not None:
        raise ValueError(f"a {kind.value!r} label names no persona")
    return event


def derive_label_states(events: Iterable[LabelEvent]) -> dict[str, FaceLabelState]:
    """Replay events in sequence order into each face's current label, rejections and verdict.

    A stranger / not-a-face verdict replaces the label; a label or a REMOVE lifts the verdict.
    Rejections stay through both (they are about the persona, not the verdict). A CHECK of the
    face's current label marks it checked until the label changes (a CHECK naming no persona, or
    another persona than the label, clears the mark).
    """
    labels: dict[str, int | None] = {}
    rejected: dict[str, set[int]] = {}
    set_aside: dict[str, LabelKind | None] = {}
    checked: dict[str, int | None] = {}
    for event in sorted(events, key=lambda e: e.seq or 0):
        face_rejects = rejected.setdefault(event.face_id, set())
        if event.kind == LabelKind.CHECK:
            checked[event.face_id] = event.persona_id
        elif event.kind in (LabelKind.ASSIGN, LabelKind.CONFIRM):
            labels[event.face_id] = event.persona_id
            set_aside[event.face_id] = None
            face_rejects.discard(event.persona_id)
        elif event.kind == LabelKind.REJECT:
            face_rejects.add(event.persona_id)
            if labels.get(event.face_id) == event.persona_id:
                labels[event.face_id] = None
        elif event.kind == LabelKind.REMOVE:
            labels[event.face_id] = None
            set_aside[event.face_id] = None
        elif event.kind in SET_ASIDE_KINDS:
            labels[event.face_id] = None
            set_aside[event.face_id] = LabelKind(event.kind)
        if checked.get(event.face_id) != labels.get(event.face_id):
            checked[event.face_id] = None  # a check holds only for the label it kept
    return {
        face_id: FaceLabelState(
            labels.get(face_id), frozenset(rejected.get(face_id, ())), set_aside.get(face_id), checked.get(face_id)
        )
        for face_id in set(labels) | set(rejected)
    }


def stored_event(row: Mapping) -> LabelEvent | PersonaEvent:
    """One logged event as either backend stores it (an old store's merge marker included)."""
    kind = LabelKind(row["kind"])
    legacy_merge = not row["face_id"] and kind == LabelKind.ASSIGN and row["source"] == LEGACY_MERGE_SOURCE
    if kind in FACE_KINDS and not legacy_merge:
        return LabelEvent(
            row["face_id"], kind, row["persona_id"], row["source"], row["actor"], row["seq"], row["created_at"]
        )
    if legacy_merge:  # it named only the target: the persona that went away is not in the log
        return PersonaEvent(LabelKind.MERGE, None, row["persona_id"], None, None, row["actor"], row["seq"])
    return PersonaEvent(
        kind,
        row["persona_id"],
        row.get("into"),
        row.get("name"),
        row.get("previous_name"),
        row["actor"],
        row["seq"],
        row["created_at"],
    )
