"""Reading the state for the app: a :class:`Snapshot` taken once per request, which applies what
the stored predictions cannot know yet (labels, rejections and deletions given since the last
prediction run), and the classifier's status. No Gradio in here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assets.core.learning.gate import training_problem
from resources.state_store.base import StateStore
from resources.state_store.records import (
    FaceLabelState,
    FaceRecord,
    ImageStatus,
    LabelKind,
    ModelVersion,
    Persona,
    Prediction,
    Serving,
)
from resources.state_store.rules import resolve as resolve_persona
from resources.state_store.rules import teaches_the_model

APP_SOURCE = "app"
CLUSTER_DISTANCE = 0.07  # deepface's cosine threshold for "same person" with the Dlib model
MAX_CLUSTER_FACES = 5000  # agglomerative clustering is O(n^2) memory; beyond this, the least recent are left out


WAITING = "…"  # how an outcome still on its way ends ("waiting for predictions…")
SET_ASIDE_CAPTIONS = {LabelKind.STRANGER: "stranger", LabelKind.NOT_FACE: "not a face"}


class ActionError(ValueError):
    """A request the app refuses, with a message for the person who clicked."""


# -- reading the state ------------------------------------------------------------------------


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
        persona = self.personas.get(self.resolve(persona_id)) if persona_id is not None else None
        return persona.name if persona else "unknown"

    def active_personas(self) -> list[Persona]:
        """Everyone shown: not merged away, not deleted."""
        active = (p for p in self.personas.values() if p.merged_into is None and p.persona_id not in self.deleted)
        return sorted(active, key=lambda p: p.name.lower())

    def label_of(self, face_id: str) -> int | None:
        state = self.states.get(face_id)
        return state.persona_id if state else None

    def settled(self, face_id: str) -> bool:
        """Labeled, or said to be a stranger or no face: nothing to ask about it."""
        state = self.states.get(face_id)
        return state is not None and state.settled

    def excluded(self) -> dict[str, LabelKind]:
        """Faces said to be strangers or no faces, with which."""
        return {f: s.excluded for f, s in sorted(self.states.items()) if s.excluded is not None}

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
        return {f: p for f in self.predictions if (p := self.open_prediction(f)) is not None}


def snapshot(store: StateStore) -> Snapshot:
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


def predicted_faces(snap: Snapshot, persona_id: int) -> list[FaceItem]:
    """Faces the classifier puts in this persona, least confident first (where a check helps most)."""
    target = snap.resolve(persona_id)
    items = [
        FaceItem(f, p.persona_id, p.confidence, p.candidate_persona_id)
        for f, p in snap.open_predictions().items()
        if p.persona_id == target
    ]
    return sorted(items, key=lambda item: (item.confidence or 0.0, item.face_id))


# -- classifier status ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStatus:
    promoted: ModelVersion | None  # the quality gate's choice (a pin may serve another)
    latest: ModelVersion | None  # newest version, promoted or not
    label_watermark: int
    labels_since_model: int  # label events the serving model has not seen
    prediction_update: dict | None
    labels_since_predictions: int  # label events the stored predictions do not reflect yet
    faces: int
    training_problem: str | None = None  # why the newest training or gate gave no serving classifier
    serving_state: Serving | None = None  # which version serves, and the pin if one holds

    @property
    def serving(self) -> ModelVersion | None:
        """The version predictions come from: a labeler's pin, else the promoted one."""
        return self.serving_state.model if self.serving_state else self.promoted


def model_status(store: StateStore) -> ModelStatus:
    state = store.serving()
    promoted, serving = state.promoted, state.model
    latest = store.latest_model()
    update = store.latest_prediction_update()
    model_mark = serving.label_watermark if serving else 0
    prediction_mark = update["label_watermark"] if update else 0
    events = [e for e in store.label_events(since=min(model_mark, prediction_mark)) if teaches_the_model(e)]
    return ModelStatus(
        promoted=promoted,
        latest=latest,
        label_watermark=store.label_watermark(),
        labels_since_model=sum(1 for e in events if (e.seq or 0) > model_mark),
        prediction_update=update,
        labels_since_predictions=sum(1 for e in events if (e.seq or 0) > prediction_mark),
        faces=len(store.faces()),
        training_problem=training_problem(latest),
        serving_state=state,
    )


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


def face_records(store: StateStore, face_ids: Sequence[str]) -> dict[str, FaceRecord]:
    return {f.face_id: f for f in store.faces(list(face_ids))}


def photo_outcomes(store: StateStore, snap: Snapshot, keys: Sequence[str]) -> dict[str, str]:
    """What became of photos added (by key): waiting, no face, could not read, or "N faces → who"."""
    wanted = set(keys)
    images = {image.key: image for image in store.images() if image.key in wanted}
    unreadable = store.unreadable_photos()
    found = {image.image_id for image in images.values() if image.status == ImageStatus.DONE}
    faces_of: dict[str, list[str]] = {}
    for face in store.faces():
        if face.image_id in found:
            faces_of.setdefault(face.image_id, []).append(face.face_id)
    predicting = store.promoted_model() is not None  # else no prediction is on its way
    outcomes = {}
    for key in keys:
        image = images.get(key)
        if key in unreadable and image is None:
            outcomes[key] = f"could not read: {unreadable[key] or 'unreadable'}"
        elif image is None or image.status == ImageStatus.NEW:
            outcomes[key] = f"waiting for the pipeline to find its faces{WAITING}"
        elif image.status == ImageStatus.NO_FACE:
            outcomes[key] = "no face found"
        elif image.status == ImageStatus.ERROR:
            outcomes[key] = f"could not read: {image.reason or 'unreadable'}"
        else:
            outcomes[key] = _faces_outcome(snap, sorted(faces_of.get(image.image_id, [])), predicting)
    return outcomes


def face_caption(snap: Snapshot, face_id: str) -> str:
    """Who a face is, in a word: the label, the prediction with "?", unknown, or why it was set aside."""
    state = snap.states.get(face_id)
    if state is not None and state.persona_id is not None:
        return snap.name(state.persona_id)
    if state is not None and state.excluded is not None:
        return SET_ASIDE_CAPTIONS[state.excluded]
    prediction = snap.open_prediction(face_id)
    if prediction is not None and prediction.persona_id is not None:
        return f"{snap.name(prediction.persona_id)}?"
    return "unknown"


def pending(snap: Snapshot, face_id: str) -> bool:
    """Open, with no prediction yet: the next prediction run will say who it is."""
    return not snap.settled(face_id) and face_id not in snap.predictions


def _faces_outcome(snap: Snapshot, face_ids: list[str], predicting: bool = False) -> str:
    count = len(face_ids)
    found = f"{count} face{'s' if count != 1 else ''}"
    if predicting and any(pending(snap, f) for f in face_ids):
        return f"{found} found · waiting for predictions{WAITING}"
    names = [name for f in face_ids if (name := face_caption(snap, f)) not in SET_ASIDE_CAPTIONS.values()]
    return f"{found} → " + (", ".join(names) or "set aside")
