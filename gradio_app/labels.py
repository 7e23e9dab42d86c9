"""Labeling faces, as plain functions over the store: what Review, People and Unknown faces
write when a person confirms, corrects, names or sets faces aside (no Gradio in here).

Every write goes through the StateStore API the assets use: a person's click becomes label
events with source ``"app"``, exactly like a sidecar label becomes events with source
``"import"``. Each function returns the events it logged, which is what Undo takes back.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from gradio_app.errors import ActionError
from resources.state_store.ports import FaceLabeling, PersonaDirectory, PhotoLibrary
from resources.state_store.records import LabelEvent, LabelKind, Persona

APP_SOURCE = "app"


def persona_for(store: PersonaDirectory, persona_id: int | None = None, name: str | None = None) -> Persona:
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
    try:
        return store.ensure_persona(cleaned)
    except ValueError as exc:
        raise ActionError(str(exc)) from None


def _checked_faces(store: PhotoLibrary, face_ids: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(f for f in face_ids if f))
    if not unique:
        raise ActionError("select at least one face first")
    known = {f.face_id for f in store.faces(unique)}
    missing = [f for f in unique if f not in known]
    if missing:
        raise ActionError(f"{len(missing)} selected face(s) no longer exist; reload the page")
    return unique


def _append(
    store: FaceLabeling, face_ids: Sequence[str], kind: LabelKind, persona_id: int | None, actor: str | None
) -> list[int]:
    faces = _checked_faces(store, face_ids)
    now = time.time()
    events = [LabelEvent(f, kind, persona_id, source=APP_SOURCE, actor=actor, created_at=now) for f in faces]
    return store.append_label_events(events)


def confirm_faces(store: FaceLabeling, face_ids: Sequence[str], persona_id: int, actor: str | None = None) -> list[int]:
    """People agree with the prediction: CONFIRM events (the classifier learns them as labels)."""
    target = persona_for(store, persona_id=persona_id)
    return _append(store, face_ids, LabelKind.CONFIRM, target.persona_id, actor)


def assign_faces(
    store: FaceLabeling,
    face_ids: Sequence[str],
    persona_id: int | None = None,
    name: str | None = None,
    actor: str | None = None,
) -> tuple[Persona, list[int]]:
    """Label faces as a persona (an existing one, or a new one by name): a correction or a new label."""
    faces = _checked_faces(store, face_ids)
    target = persona_for(store, persona_id=persona_id, name=name)
    return target, _append(store, faces, LabelKind.ASSIGN, target.persona_id, actor)


def reject_faces(store: FaceLabeling, face_ids: Sequence[str], persona_id: int, actor: str | None = None) -> list[int]:
    """Say "not this persona": the classifier never predicts it for these faces again."""
    target = persona_for(store, persona_id=persona_id)
    return _append(store, face_ids, LabelKind.REJECT, target.persona_id, actor)


def remove_labels(store: FaceLabeling, face_ids: Sequence[str], actor: str | None = None) -> list[int]:
    """Forget the human label of these faces (the events stay in the log)."""
    return _append(store, face_ids, LabelKind.REMOVE, None, actor)


def set_aside(store: FaceLabeling, face_ids: Sequence[str], kind: LabelKind, actor: str | None = None) -> list[int]:
    """A stranger (someone nobody here knows) or not a face: never asked about or predicted again."""
    if kind not in (LabelKind.STRANGER, LabelKind.NOT_FACE):
        raise ActionError(f"{kind} is not a stranger or not-a-face verdict")
    return _append(store, face_ids, kind, None, actor)


def restore_faces(store: FaceLabeling, face_ids: Sequence[str], actor: str | None = None) -> list[int]:
    """Take back a stranger / not-a-face verdict: the face is open again (a REMOVE lifts it)."""
    return remove_labels(store, face_ids, actor=actor)
