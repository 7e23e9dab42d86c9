"""What the labeling app does, as plain functions over the stores (no Gradio in here).

Every write goes through the StateStore API the assets use: a person's click becomes label
events with source ``"app"``, exactly like a sidecar label becomes events with source
``"import"``. Reads go through a :class:`Snapshot` taken once per request, which applies what the
stored predictions cannot know yet: labels and rejections given since the last prediction run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assets.classifier.gate import training_problem
from resources.artifact_store import ArtifactStore
from resources.face_engine import FaceEngine
from resources.state_store import StateStore
from resources.state_store.records import (
    FaceLabelState,
    FaceRecord,
    LabelEvent,
    LabelKind,
    ModelVersion,
    Persona,
    Prediction,
)
from resources.state_store.rules import resolve as resolve_persona

APP_SOURCE = "app"
CLUSTER_DISTANCE = 0.07  # deepface's cosine threshold for "same person" with the Dlib model
MAX_CLUSTER_FACES = 5000  # agglomerative clustering is O(n^2) memory; beyond this, the least recent are left out


class ActionError(ValueError):
    """A request the app refuses, with a message for the person who clicked."""


# -- reading the state ------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Personas, label states and predictions read once, with merges and fresh labels applied."""

    personas: dict[int, Persona]  # every persona, merged ones included
    states: dict[str, FaceLabelState]
    predictions: dict[str, Prediction]  # as stored by the last prediction run

    def resolve(self, persona_id: int | None) -> int | None:
        """The persona a (possibly merged) persona's labels count for now (the store's rule)."""
        return resolve_persona(persona_id, self.personas)

    def name(self, persona_id: int | None) -> str:
        persona = self.personas.get(self.resolve(persona_id)) if persona_id is not None else None
        return persona.name if persona else "unknown"

    def active_personas(self) -> list[Persona]:
        return sorted((p for p in self.personas.values() if p.merged_into is None), key=lambda p: p.name.lower())

    def label_of(self, face_id: str) -> int | None:
        state = self.states.get(face_id)
        return state.persona_id if state else None

    def open_prediction(self, face_id: str) -> Prediction | None:
        """The prediction as it stands now: None for labeled faces; a rejected persona becomes unknown."""
        if self.label_of(face_id) is not None:
            return None
        prediction = self.predictions.get(face_id)
        if prediction is None:
            return None
        rejected = self.states.get(face_id, FaceLabelState(None)).rejected
        persona = self.resolve(prediction.persona_id)
        candidate = self.resolve(prediction.candidate_persona_id)
        if persona in rejected:
            persona = None
        if candidate in rejected:
            candidate = None
        return Prediction(face_id, persona, prediction.confidence, prediction.model_version, candidate)

    def open_predictions(self) -> dict[str, Prediction]:
        return {f: p for f in self.predictions if (p := self.open_prediction(f)) is not None}


def snapshot(store: StateStore) -> Snapshot:
    return Snapshot(
        personas={p.persona_id: p for p in store.personas(include_merged=True)},  # merge loops broken
        states=store.label_states(),
        predictions=store.predictions(),
    )


@dataclass(frozen=True)
class PersonaSummary:
    persona_id: int
    name: str
    labeled: int
    predicted: int


def persona_summaries(snap: Snapshot) -> list[PersonaSummary]:
    """Every active persona with its human-labeled and predicted face counts, by name."""
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


def merge_personas(store: StateStore, source_id: int | None, target_id: int | None) -> Persona:
    """Every label of ``source`` now counts for ``target``; returns the target."""
    if source_id is None or target_id is None:
        raise ActionError("pick both the person to merge and the person to merge into")
    active = {p.persona_id: p for p in store.personas()}
    if int(source_id) not in active or int(target_id) not in active:
        raise ActionError("both people must exist and not be merged already")
    try:
        store.merge_personas(int(source_id), int(target_id))
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    return active[int(target_id)]


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


# -- review queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    face_id: str
    persona_id: int  # the persona to ask about: the prediction, or the candidate of an unknown
    confidence: float
    unknown: bool  # the known-ness gate said "nobody we know"; persona_id is only its best guess
    usefulness: float  # higher: a person's answer teaches the classifier more


def review_queue(snap: Snapshot, limit: int = 50, skip: Sequence[str] = ()) -> list[ReviewItem]:
    """Unlabeled faces ordered by how much one answer helps (uncertainty sampling).

    A known prediction is as useful as it is unsure (1 - confidence). An unknown with a candidate
    is doubted twice, by the gate and by its own confidence, so it scores 1 - confidence / 2: it
    comes before any prediction that is more than half sure. Unknowns without a candidate are
    left to the look-alike groups.
    """
    skipped = set(skip)
    items = []
    for face_id, p in snap.open_predictions().items():
        if face_id in skipped:
            continue
        if p.persona_id is not None:
            items.append(ReviewItem(face_id, p.persona_id, p.confidence, False, 1.0 - p.confidence))
        elif p.candidate_persona_id is not None:
            items.append(ReviewItem(face_id, p.candidate_persona_id, p.confidence, True, 1.0 - p.confidence / 2))
    items.sort(key=lambda item: (-item.usefulness, item.face_id))
    return items[:limit] if limit else items


def answer_review(
    store: StateStore, item: ReviewItem, answer: str, other: str | int | None = None, actor: str | None = None
) -> str:
    """Record a reviewer's answer: "yes", "no", or "other" (with a persona id or a new name)."""
    if answer == "yes":
        if item.unknown:  # nothing was predicted, so this is a new label rather than a confirmation
            assign_faces(store, [item.face_id], persona_id=item.persona_id, actor=actor)
        else:
            confirm_faces(store, [item.face_id], item.persona_id, actor=actor)
        return "yes"
    if answer == "no":
        reject_faces(store, [item.face_id], item.persona_id, actor=actor)
        return "no"
    if answer == "other":
        if isinstance(other, int):
            target, _ = assign_faces(store, [item.face_id], persona_id=other, actor=actor)
        else:
            target, _ = assign_faces(store, [item.face_id], name=other, actor=actor)
        return target.name
    raise ActionError(f"unknown answer {answer!r}")


# -- unknown faces in look-alike groups --------------------------------------------------------


@dataclass(frozen=True)
class FaceCluster:
    cluster_id: str  # the group's first face id: stable while the group keeps that face
    face_ids: list[str]
    candidate_persona_id: int | None  # the most common candidate among its faces, if any


def unknown_face_ids(snap: Snapshot, embedded: Sequence[str]) -> list[str]:
    """Faces nobody labeled whose prediction is "unknown", or that have no prediction yet."""
    out = []
    for face_id in embedded:
        if snap.label_of(face_id) is not None:
            continue
        prediction = snap.open_prediction(face_id)
        if prediction is None or prediction.persona_id is None:
            out.append(face_id)
    return out


def unknown_clusters(
    store: StateStore, snap: Snapshot, space: str, distance: float = CLUSTER_DISTANCE
) -> list[FaceCluster]:
    """Unknown faces grouped by average-linkage agglomerative clustering on cosine distance.

    Largest groups first: naming one names many faces. Faces that look like nobody else come
    last, one per group.
    """
    face_ids, vectors = store.load_embeddings(space)
    row = {f: i for i, f in enumerate(face_ids)}
    unknown = unknown_face_ids(snap, face_ids)[-MAX_CLUSTER_FACES:]
    if not unknown:
        return []
    if len(unknown) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        from sklearn.cluster import AgglomerativeClustering

        matrix = vectors[[row[f] for f in unknown]]
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
        ).fit_predict(matrix)
    groups: dict[int, list[str]] = {}
    for face_id, label in zip(unknown, labels, strict=True):
        groups.setdefault(int(label), []).append(face_id)
    clusters = []
    for members in groups.values():
        members.sort()
        candidates = Counter(
            p.candidate_persona_id
            for f in members
            if (p := snap.open_prediction(f)) is not None and p.candidate_persona_id is not None
        )
        top = candidates.most_common(1)[0][0] if candidates else None
        clusters.append(FaceCluster(members[0], members, top))
    clusters.sort(key=lambda c: (-len(c.face_ids), c.cluster_id))
    return clusters


def name_faces(
    store: StateStore, face_ids: Sequence[str], name: str, actor: str | None = None
) -> tuple[Persona, list[int]]:
    """Name a group of faces at once: an existing persona, or a new one created by this name."""
    return assign_faces(store, face_ids, name=name, actor=actor)


# -- find similar -----------------------------------------------------------------------------


class ClassifierCache:
    """The promoted classifier, loaded once per artifact: not fetched from the artifact store (a
    file share in Azure) on every request, and an artifact older than ``weights.npz`` loads Keras."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._classifier = None

    def get(self, artifact_store: ArtifactStore, version: ModelVersion):
        from assets.classifier.model import FaceClassifier

        with self._lock:
            if self._key != version.artifact_key:
                self._classifier = FaceClassifier.from_bytes(artifact_store.get(version.artifact_key))
                self._key = version.artifact_key
            return self._classifier


@dataclass(frozen=True)
class Neighbour:
    face_id: str
    persona_id: int
    similarity: float  # cosine similarity of the embeddings


@dataclass(frozen=True)
class FoundFace:
    box: tuple[int, int, int, int]
    persona_id: int | None  # None: unknown, or no classifier yet
    confidence: float | None
    candidate_persona_id: int | None
    neighbours: list[Neighbour] = field(default_factory=list)


@dataclass(frozen=True)
class SimilarResult:
    image_bgr: np.ndarray
    faces: list[FoundFace]
    model_version: int | None


def find_similar(
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
    data: bytes,
    neighbours: int = 5,
    cache: ClassifierCache | None = None,
) -> SimilarResult:
    """Faces in a photo, each with the persona the promoted classifier predicts and its nearest labeled faces.

    The prediction is the pipeline's own ``predict_faces`` over the library plus the new faces,
    so "unknown" means here exactly what it means in the galleries.
    """
    from assets.classifier.knownness import l2_normalize
    from assets.ingest.decode import PhotoError, decode_photo
    from assets.predictions import predict_faces

    try:
        image = decode_photo(data)
    except PhotoError as exc:
        raise ActionError(str(exc)) from None
    detected = face_engine.detect(image)
    if not detected:
        return SimilarResult(image, [], None)
    query = face_engine.embed([d.aligned for d in detected]).astype(np.float32)
    library_ids, library = state_store.load_embeddings(face_engine.embedding_space)
    states = state_store.label_states()
    promoted = state_store.promoted_model()

    predictions: list[Prediction | None] = [None] * len(detected)
    if promoted is not None and len(library_ids):
        classifier = (cache or ClassifierCache()).get(artifact_store, promoted)
        query_ids = [f"query:{i}" for i in range(len(detected))]
        # Only the query faces are targets: every library face is passed as already labeled.
        settled = {f: FaceLabelState(-1) for f in library_ids}
        found = predict_faces(
            classifier, promoted.version, [*library_ids, *query_ids], np.vstack([library, query]), settled
        )
        by_id = {p.face_id: p for p in found}
        predictions = [by_id.get(q) for q in query_ids]

    labeled_rows = [i for i, f in enumerate(library_ids) if states.get(f, FaceLabelState(None)).persona_id is not None]
    sims = (
        l2_normalize(query) @ l2_normalize(library[labeled_rows]).T
        if labeled_rows
        else np.zeros((len(detected), 0), dtype=np.float32)
    )
    faces = []
    for i, det in enumerate(detected):
        order = np.argsort(-sims[i])[:neighbours] if sims.shape[1] else []
        near = [
            Neighbour(
                library_ids[labeled_rows[j]],
                states[library_ids[labeled_rows[j]]].persona_id,
                round(float(sims[i, j]), 4),
            )
            for j in order
        ]
        p = predictions[i]
        faces.append(
            FoundFace(
                box=det.box,
                persona_id=p.persona_id if p else None,
                confidence=p.confidence if p else None,
                candidate_persona_id=p.candidate_persona_id if p else None,
                neighbours=near,
            )
        )
    return SimilarResult(image, faces, promoted.version if promoted else None)


# -- classifier status ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelStatus:
    promoted: ModelVersion | None
    latest: ModelVersion | None  # newest version, promoted or not
    label_watermark: int
    labels_since_model: int  # label events the promoted model has not seen
    prediction_update: dict | None
    labels_since_predictions: int  # label events the stored predictions do not reflect yet
    faces: int
    training_problem: str | None = None  # why the newest training or gate gave no serving classifier


def model_status(store: StateStore) -> ModelStatus:
    promoted = store.promoted_model()
    latest = store.latest_model()
    update = store.latest_prediction_update()
    model_mark = promoted.label_watermark if promoted else 0
    prediction_mark = update["label_watermark"] if update else 0
    events = store.label_events(since=min(model_mark, prediction_mark))
    return ModelStatus(
        promoted=promoted,
        latest=latest,
        label_watermark=store.label_watermark(),
        labels_since_model=sum(1 for e in events if (e.seq or 0) > model_mark),
        prediction_update=update,
        labels_since_predictions=sum(1 for e in events if (e.seq or 0) > prediction_mark),
        faces=len(store.faces()),
        training_problem=training_problem(latest),
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
