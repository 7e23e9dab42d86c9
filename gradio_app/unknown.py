"""The Unknown faces tab's domain: faces nobody named, grouped by how alike they look, so naming
one group names many faces at once (naming and setting aside are ``labels``). No Gradio in here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradio_app.snapshot import Snapshot
from resources.state_store.ports import EmbeddingLibrary

CLUSTER_DISTANCE = 0.07  # deepface's cosine threshold for "same person" with the Dlib model
MAX_CLUSTER_FACES = 5000  # agglomerative clustering is O(n^2) memory; beyond this, the least recent are left out


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
    store: EmbeddingLibrary, snap: Snapshot, space: str, distance: float = CLUSTER_DISTANCE
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
