"""What every tab reads: a :class:`Snapshot` taken once per request, which applies what the
stored predictions cannot know yet (labels, rejections and deletions given since the last
prediction run), and the few reads of it more than one tab shows (a face's caption, a person's
labeled faces). No Gradio in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from resources.state_store.ports import AppSnapshot, PhotoLibrary
from resources.state_store.records import FaceLabelState, FaceRecord, LabelKind, Persona, Prediction
from resources.state_store.rules import resolve as resolve_persona

SET_ASIDE_CAPTIONS = {LabelKind.STRANGER: "stranger", LabelKind.NOT_FACE: "not a face"}


@dataclass
class Snapshot:
    """Personas, label states and predictions read once, with merges and fresh labels applied."""

    personas: dict[int, Persona]  # every persona, merged ones included
    states: dict[str, FaceLabelState]
    predictions: dict[str, Prediction]  # as stored by the last prediction run
    # People whose every label was taken away (deleted): listed nowhere, predicted for no face,
    # until a label brings them back. A person just added, with no label yet, is not deleted.
    deleted: frozenset[int] = frozenset()

    def resolve(self, persona_id: int | None) -> int | None:
        """The persona a (possibly merged) persona's labels count for now (the store's rule)."""
        return resolve_persona(persona_id, self.personas)

    def name(self, persona_id: int | None) -> str:
        """The name the person goes by now (a merged persona's target's); "unknown" for none."""
        persona = self.personas.get(self.resolve(persona_id)) if persona_id is not None else None
        return persona.name if persona else "unknown"

    def active_personas(self) -> list[Persona]:
        """Everyone shown: not merged away, not deleted."""
        active = (p for p in self.personas.values() if p.merged_into is None and p.persona_id not in self.deleted)
        return sorted(active, key=lambda p: p.name.lower())

    def label_of(self, face_id: str) -> int | None:
        """The persona people labeled this face as, if any."""
        state = self.states.get(face_id)
        return state.persona_id if state else None

    def settled(self, face_id: str) -> bool:
        """Labeled, or said to be a stranger or no face: nothing to ask about it."""
        state = self.states.get(face_id)
        return state is not None and state.settled

    def set_aside_faces(self) -> dict[str, LabelKind]:
        """Faces said to be strangers or no faces, with which."""
        return {f: s.set_aside for f, s in sorted(self.states.items()) if s.set_aside is not None}

    def open_prediction(self, face_id: str) -> Prediction | None:
        """The prediction as it stands now: None for settled faces; a rejected persona becomes unknown."""
        if self.settled(face_id):
            return None
        prediction = self.predictions.get(face_id)
        if prediction is None:
            return None
        rejected = self.states.get(face_id, FaceLabelState(None)).rejected
        persona = self.resolve(prediction.persona_id)
        candidate = self.resolve(prediction.candidate_persona_id)
        if persona in rejected or persona in self.deleted:
            persona = None
        if candidate in rejected or candidate in self.deleted:
            candidate = None
        return Prediction(face_id, persona, prediction.confidence, prediction.model_version, candidate)

    def open_predictions(self) -> dict[str, Prediction]:
        """Every prediction as it stands now (see :meth:`open_prediction`), settled faces left out."""
        return {f: p for f in self.predictions if (p := self.open_prediction(f)) is not None}


def snapshot(store: AppSnapshot) -> Snapshot:
    """The state read once for one request, so every tab answers from one consistent picture."""
    personas = {p.persona_id: p for p in store.personas(include_merged=True)}  # merge loops broken
    states = store.label_states()
    labeled_kinds = (LabelKind.ASSIGN, LabelKind.CONFIRM)
    ever = {e.persona_id for e in store.label_events() if e.kind in labeled_kinds and e.persona_id is not None}
    labeled_now = {s.persona_id for s in states.values()}
    return Snapshot(
        personas=personas,
        states=states,
        predictions=store.predictions(),
        deleted=frozenset(resolve_persona(p, personas) for p in ever) - labeled_now,
    )


@dataclass(frozen=True)
class FaceItem:
    """One face as a gallery shows it."""

    face_id: str
    persona_id: int | None
    confidence: float | None = None  # None for human labels
    candidate_persona_id: int | None = None


def labeled_faces(snap: Snapshot, persona_id: int) -> list[FaceItem]:
    """Faces people labeled as this persona (merged personas' labels included)."""
    target = snap.resolve(persona_id)
    return [FaceItem(f, target) for f, s in sorted(snap.states.items()) if s.persona_id == target]


def face_records(store: PhotoLibrary, face_ids: Sequence[str]) -> dict[str, FaceRecord]:
    """The faces' records by id, in one read (a grid of 300 tiles asks once, not 300 times)."""
    return {f.face_id: f for f in store.faces(list(face_ids))}


def face_caption(snap: Snapshot, face_id: str) -> str:
    """Who a face is, in a word: the label, the prediction with "?", unknown, or why it was set aside."""
    state = snap.states.get(face_id)
    if state is not None and state.persona_id is not None:
        return snap.name(state.persona_id)
    if state is not None and state.set_aside is not None:
        return SET_ASIDE_CAPTIONS[state.set_aside]
    prediction = snap.open_prediction(face_id)
    if prediction is not None and prediction.persona_id is not None:
        return f"{snap.name(prediction.persona_id)}?"
    return "unknown"
