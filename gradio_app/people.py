"""The People tab's domain: everyone FaceLoop knows with their face counts, the faces predicted
as each, and the admin of people (add, rename, merge, delete). No Gradio in here.

Renames, merges and deletions are logged like labels, so each returns the events Undo takes back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from gradio_app.errors import ActionError
from gradio_app.labels import remove_labels
from gradio_app.snapshot import FaceItem, Snapshot, labeled_faces, snapshot
from resources.state_store.ports import FaceLabeling, LabelLog, PeopleEditing, PersonaDirectory
from resources.state_store.records import LabelKind, Persona


@dataclass(frozen=True)
class PersonaSummary:
    persona_id: int
    name: str
    labeled: int
    predicted: int


def persona_summaries(snap: Snapshot) -> list[PersonaSummary]:
    """Every active persona with its human-labeled and predicted face counts, by name.

    A person whose faces were all unlabeled (deleted) is left out; one just added, with no face
    yet, is listed.
    """
    labeled = Counter(s.persona_id for s in snap.states.values() if s.persona_id is not None)
    predicted = Counter(p.persona_id for p in snap.open_predictions().values() if p.persona_id is not None)
    return [
        PersonaSummary(p.persona_id, p.name, labeled[p.persona_id], predicted[p.persona_id])
        for p in snap.active_personas()
    ]


def predicted_faces(snap: Snapshot, persona_id: int) -> list[FaceItem]:
    """Faces the classifier puts in this persona, least confident first (where a check helps most)."""
    target = snap.resolve(persona_id)
    items = [
        FaceItem(f, p.persona_id, p.confidence, p.candidate_persona_id)
        for f, p in snap.open_predictions().items()
        if p.persona_id == target
    ]
    return sorted(items, key=lambda item: (item.confidence or 0.0, item.face_id))


def create_persona(store: PersonaDirectory, name: str) -> tuple[Persona, bool]:
    """The persona with this name and whether it is new (an existing name is reused, not doubled)."""
    before = {p.name for p in store.personas(include_merged=True)}
    try:
        persona = store.ensure_persona(name)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return persona, persona.name not in before


def rename_persona(
    store: FaceLabeling, persona_id: int | None, new_name: str, actor: str | None = None
) -> tuple[Persona, list[int]]:
    """The person under a new name, and the event it logged (none when the name was already so):
    Undo takes it back."""
    if persona_id is None:
        raise ActionError("pick the person to rename first")
    before = store.label_watermark()
    try:
        persona = store.rename_persona(int(persona_id), new_name, actor=actor)
    except (ValueError, KeyError) as exc:
        raise ActionError(str(exc).strip("'\"")) from None
    return persona, _persona_seqs(store, before, int(persona_id), LabelKind.RENAME)


def merge_personas(
    store: FaceLabeling, source_id: int | None, target_id: int | None, actor: str | None = None
) -> tuple[Persona, list[int]]:
    """Every label of ``source`` now counts for ``target``: the target, and the merge event (what
    Undo takes back)."""
    if source_id is None or target_id is None:
        raise ActionError("pick both the person to merge and the person to merge into")
    active = {p.persona_id: p for p in store.personas()}
    if int(source_id) not in active or int(target_id) not in active:
        raise ActionError("both people must exist and not be merged already")
    before = store.label_watermark()
    try:
        store.merge_personas(int(source_id), int(target_id), actor=actor)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return active[int(target_id)], _persona_seqs(store, before, int(source_id), LabelKind.MERGE)


def _persona_seqs(store: LabelLog, since: int, persona_id: int, kind: LabelKind) -> list[int]:
    return [e.seq for e in store.persona_events(since) if e.persona_id == persona_id and e.kind == kind and e.seq]


def delete_persona(store: PeopleEditing, persona_id: int | None, actor: str | None = None) -> list[int]:
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
