"""Labeling and people, as plain functions over the store (no Gradio in here).

Every write goes through the StateStore API the assets use: a person's click becomes label
events with source ``"app"``, exactly like a sidecar label becomes events with source
``"import"``. Each function returns the events it logged, which is what Undo takes back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gradio_app.reading import APP_SOURCE, ActionError, labeled_faces, snapshot
from resources.state_store.base import StateStore
from resources.state_store.records import (
    LabelEvent,
    LabelKind,
    Persona,
)

# -- personas ---------------------------------------------------------------------------------


def create_persona(store: StateStore, name: str) -> tuple[Persona, bool]:
    """The persona with this name and whether it is new (an existing name is reused, not doubled)."""
    before = {p.name for p in store.personas(include_merged=True)}
    try:
        persona = store.ensure_persona(name)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return persona, persona.name not in before


def rename_persona(store: StateStore, persona_id: int | None, new_name: str) -> Persona:
    if persona_id is None:
        raise ActionError("pick the person to rename first")
    try:
        return store.rename_persona(int(persona_id), new_name)
    except (ValueError, KeyError) as exc:
        raise ActionError(str(exc).strip("'\"")) from None


def merge_personas(
    store: StateStore, source_id: int | None, target_id: int | None, actor: str | None = None
) -> Persona:
    """Every label of ``source`` now counts for ``target``; returns the target."""
    if source_id is None or target_id is None:
        raise ActionError("pick both the person to merge and the person to merge into")
    active = {p.persona_id: p for p in store.personas()}
    if int(source_id) not in active or int(target_id) not in active:
        raise ActionError("both people must exist and not be merged already")
    try:
        store.merge_personas(int(source_id), int(target_id), actor=actor)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return active[int(target_id)]


def rename_persona_logged(
    store: StateStore, persona_id: int | None, new_name: str, actor: str | None = None
) -> tuple[Persona, list[int]]:
    """:func:`rename_persona`, also giving the event it logged (none when the name was already so)."""
    if persona_id is None:
        raise ActionError("pick the person to rename first")
    before = store.label_watermark()
    try:
        persona = store.rename_persona(int(persona_id), new_name, actor=actor)
    except (ValueError, KeyError) as exc:
        raise ActionError(str(exc).strip("'\"")) from None
    return persona, _persona_seqs(store, before, int(persona_id), LabelKind.RENAME)


def merge_personas_logged(
    store: StateStore, source_id: int | None, target_id: int | None, actor: str | None = None
) -> tuple[Persona, list[int]]:
    """:func:`merge_personas`, also giving the merge event (what Undo takes back)."""
    before = store.label_watermark()
    target = merge_personas(store, source_id, target_id, actor=actor)
    return target, _persona_seqs(store, before, int(source_id), LabelKind.MERGE)


def _persona_seqs(store: StateStore, since: int, persona_id: int, kind: LabelKind) -> list[int]:
    return [e.seq for e in store.persona_events(since) if e.persona_id == persona_id and e.kind == kind and e.seq]


def delete_persona(store: StateStore, persona_id: int | None, actor: str | None = None) -> list[int]:
    """Unlabel every face of this person; the person leaves the People list (see ``persona_summaries``).

    Only REMOVE events: the log keeps who the faces were, so Undo brings every label back.
    """
    if persona_id is None:
        raise ActionError("choose a person first")
    snap = snapshot(store)
    face_ids = [item.face_id for item in labeled_faces(snap, int(persona_id))]
    if not face_ids:
        raise ActionError(f"{snap.name(int(persona_id))} has no labeled faces to delete")
    return remove_labels(store, face_ids, actor=actor)


def persona_for(store: StateStore, persona_id: int | None = None, name: str | None = None) -> Persona:
    """An existing persona by id, else one by name (created when new): the target of a correction."""
    if persona_id is not None:
        active = {p.persona_id: p for p in store.personas()}
        if int(persona_id) not in active:
            raise ActionError(f"person #{persona_id} does not exist (or was merged)")
        return active[int(persona_id)]
    if name is None or not name.strip():
        raise ActionError("choose a person or type a new name")
    existing = {p.name: p for p in store.personas()}
    cleaned = " ".join(name.split())
    if cleaned in existing:
        return existing[cleaned]
    return create_persona(store, cleaned)[0]


# -- labeling ---------------------------------------------------------------------------------


def _checked_faces(store: StateStore, face_ids: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(f for f in face_ids if f))
    if not unique:
        raise ActionError("select at least one face first")
    known = {f.face_id for f in store.faces(unique)}
    missing = [f for f in unique if f not in known]
    if missing:
        raise ActionError(f"{len(missing)} selected face(s) no longer exist; reload the page")
    return unique


def _append(
    store: StateStore, face_ids: Sequence[str], kind: LabelKind, persona_id: int | None, actor: str | None
) -> list[int]:
    faces = _checked_faces(store, face_ids)
    now = time.time()
    events = [LabelEvent(f, kind, persona_id, source=APP_SOURCE, actor=actor, created_at=now) for f in faces]
    return store.append_label_events(events)


def confirm_faces(store: StateStore, face_ids: Sequence[str], persona_id: int, actor: str | None = None) -> list[int]:
    """People agree with the prediction: CONFIRM events (the classifier learns them as labels)."""
    target = persona_for(store, persona_id=persona_id)
    return _append(store, face_ids, LabelKind.CONFIRM, target.persona_id, actor)


def assign_faces(
    store: StateStore,
    face_ids: Sequence[str],
    persona_id: int | None = None,
    name: str | None = None,
    actor: str | None = None,
) -> tuple[Persona, list[int]]:
    """Label faces as a persona (an existing one, or a new one by name): a correction or a new label."""
    faces = _checked_faces(store, face_ids)
    target = persona_for(store, persona_id=persona_id, name=name)
    return target, _append(store, faces, LabelKind.ASSIGN, target.persona_id, actor)


def reject_faces(store: StateStore, face_ids: Sequence[str], persona_id: int, actor: str | None = None) -> list[int]:
    """Say "not this persona": the classifier never predicts it for these faces again."""
    target = persona_for(store, persona_id=persona_id)
    return _append(store, face_ids, LabelKind.REJECT, target.persona_id, actor)


def remove_labels(store: StateStore, face_ids: Sequence[str], actor: str | None = None) -> list[int]:
    """Forget the human label of these faces (the events stay in the log)."""
    return _append(store, face_ids, LabelKind.REMOVE, None, actor)


def set_aside(store: StateStore, face_ids: Sequence[str], kind: LabelKind, actor: str | None = None) -> list[int]:
    """A stranger (someone nobody here knows) or not a face: never asked about or predicted again."""
    if kind not in (LabelKind.STRANGER, LabelKind.NOT_FACE):
        raise ActionError(f"{kind} is not a stranger or not-a-face verdict")
    return _append(store, face_ids, kind, None, actor)


def restore_faces(store: StateStore, face_ids: Sequence[str], actor: str | None = None) -> list[int]:
    """Take back a stranger / not-a-face verdict: the face is open again (a REMOVE lifts it)."""
    return remove_labels(store, face_ids, actor=actor)
