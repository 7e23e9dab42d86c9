"""How an event is undone: by appending its inverse, never by rewriting the log."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from resources.state_store.records import (
    FaceLabelState,
    LabelEvent,
    LabelKind,
    Persona,
    PersonaEvent,
)
from resources.state_store.rules.label_events import UNDO_SOURCE, derive_label_states
from resources.state_store.rules.personas import PersonaChange, existing_persona, merge, rename


class UndoRefused(ValueError):
    """An event that cannot be undone from the log."""


# Undo is by state: an event can be undone while what it changed is still as it left it; undone
# (or changed back) already, there is nothing to do; changed again since, the later change must be
# undone first. So undo never silently reverts someone else's later label.
def undo_face_event(history: Sequence[LabelEvent], seq: int, actor: str | None = None) -> list[LabelEvent]:
    """Events that take a face back to its label before event ``seq`` (``history``: the face's events)."""
    face_id = next(e.face_id for e in history if e.seq == seq)
    blank = FaceLabelState(None)
    before = derive_label_states([e for e in history if (e.seq or 0) < seq]).get(face_id, blank)
    after = derive_label_states([e for e in history if (e.seq or 0) <= seq]).get(face_id, blank)
    now = derive_label_states(history).get(face_id, blank)
    if now == before:
        return []
    if now != after:
        raise UndoRefused(f"face {face_id} was labeled again after event {seq}; undo the later label first")
    return [
        LabelEvent(face_id, kind, persona_id, source=UNDO_SOURCE, actor=actor)
        for kind, persona_id in transition(now, before)
    ]


def transition(now: FaceLabelState, wanted: FaceLabelState) -> list[tuple[LabelKind, int | None]]:
    """The fewest plain label events from one state to another (a label is never also rejected).

    A stranger / not-a-face verdict is lifted by any ASSIGN or REMOVE on the way, so it is given
    again last when the wanted state has it; a check mark holds while the label stays, so it is
    set (or cleared) once the label is right.
    """
    steps: list[tuple[LabelKind, int | None]] = []
    label = now.persona_id
    if now.set_aside is not None and wanted.set_aside != now.set_aside:  # only a REMOVE or a label lifts it
        steps.append((LabelKind.REMOVE, None))
    for persona_id in sorted(now.rejected - wanted.rejected):  # only an assign lifts a rejection
        steps.append((LabelKind.ASSIGN, persona_id))
        label = persona_id
    for persona_id in sorted(wanted.rejected - now.rejected):
        steps.append((LabelKind.REJECT, persona_id))
        label = None if label == persona_id else label
    if wanted.persona_id is None and label is not None:
        steps.append((LabelKind.REMOVE, None))
    elif wanted.persona_id is not None and label != wanted.persona_id:
        steps.append((LabelKind.ASSIGN, wanted.persona_id))
    if wanted.checked != _checked_after(now, steps):
        steps.append((LabelKind.CHECK, wanted.checked))
    lifted = any(kind in (LabelKind.ASSIGN, LabelKind.REMOVE) for kind, _ in steps)
    verdict = None if lifted else now.set_aside
    if wanted.set_aside is not None and wanted.set_aside != verdict:
        steps.append((wanted.set_aside, None))
    return steps


def _checked_after(now: FaceLabelState, steps: Sequence[tuple[LabelKind, int | None]]) -> int | None:
    """The check mark left after ``steps`` (``derive_label_states``' rule: it holds while the label does)."""
    label, checked = now.persona_id, now.checked
    for kind, persona_id in steps:
        if kind in (LabelKind.ASSIGN, LabelKind.CONFIRM):
            label = persona_id
        elif kind == LabelKind.REMOVE or (kind == LabelKind.REJECT and label == persona_id):
            label = None
        checked = checked if checked == label else None
    return checked


def undo_persona_event(
    event: PersonaEvent, personas: Mapping[int, Persona], actor: str | None = None
) -> PersonaChange | None:
    """The inverse of a merge (an unmerge), an unmerge (the merge again) or a rename (the old name)."""
    if event.persona_id is None:
        raise UndoRefused(f"merge {event.seq} was logged by an older FaceLoop that did not record who was merged")
    persona = existing_persona(event.persona_id, personas)
    if event.kind == LabelKind.RENAME:
        before, after, now = event.previous_name, event.name, persona.name
    elif event.kind == LabelKind.MERGE:
        before, after, now = None, event.into, persona.merged_into
    else:
        before, after, now = event.into, None, persona.merged_into
    if now == before:
        return None
    if now != after:
        raise UndoRefused(f"{persona.name!r} was renamed or merged again after event {event.seq}; undo that first")
    if event.kind == LabelKind.RENAME:
        return rename(persona.persona_id, event.previous_name or "", personas, actor)
    if event.kind == LabelKind.MERGE:
        unmerged = dataclasses.replace(persona, merged_into=None)
        return PersonaChange((unmerged,), PersonaEvent(LabelKind.UNMERGE, persona.persona_id, event.into, actor=actor))
    return merge(persona.persona_id, event.into, personas, actor)
