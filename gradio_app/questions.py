"""What to ask the labeler: the review queue, its answers, and unknown faces in look-alike groups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradio_app.labeling import assign_faces, confirm_faces, reject_faces
from gradio_app.reading import CLUSTER_DISTANCE, MAX_CLUSTER_FACES, ActionError, Snapshot
from resources.state_store.base import StateStore
from resources.state_store.records import (
    Persona,
)

# -- review queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    face_id: str
    persona_id: int  # the persona to ask about: the prediction, or the candidate of an unknown
    confidence: float
    unknown: bool  # the unknown threshold said "nobody we know"; persona_id is only its best guess
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
    return record_answer(store, item, answer, other, actor)[0]


def record_answer(
    store: StateStore, item: ReviewItem, answer: str, other: str | int | None = None, actor: str | None = None
) -> tuple[str, list[int]]:
    """:func:`answer_review`, also giving the events it logged (what Undo takes back)."""
    if answer == "yes":
        if item.unknown:  # nothing was predicted, so this is a new label rather than a confirmation
            return "yes", assign_faces(store, [item.face_id], persona_id=item.persona_id, actor=actor)[1]
        return "yes", confirm_faces(store, [item.face_id], item.persona_id, actor=actor)
    if answer == "no":
        return "no", reject_faces(store, [item.face_id], item.persona_id, actor=actor)
    if answer == "other":
        if isinstance(other, int):
            target, seqs = assign_faces(store, [item.face_id], persona_id=other, actor=actor)
        else:
            target, seqs = assign_faces(store, [item.face_id], name=other, actor=actor)
        return target.name, seqs
    raise ActionError(f"unknown answer {answer!r}")


# -- unknown faces in look-alike groups --------------------------------------------------------


@dataclass(frozen=True)
class FaceCluster:
    cluster_id: str  # the group's first face id: stable while the group keeps that face
    face_ids: list[str]
    candidate_persona_id: int | None  # the most common candidate among its faces, if any


def unknown_face_ids(snap: Snapshot, embedded: Sequence[str]) -> list[str]:
    """Faces nobody labeled (nor called a stranger or no face) whose prediction is "unknown", or
    that have no prediction yet."""
    out = []
    for face_id in embedded:
        if snap.settled(face_id):
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
