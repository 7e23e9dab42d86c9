"""The Find similar tab's domain: the faces in a new photo, named by the serving classifier, with
their nearest labeled faces. No Gradio in here."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gradio_app.errors import ActionError
from resources.artifact_store.base import ArtifactStore
from resources.face_engine.base import FaceEngine
from resources.state_store.ports import SimilarSearch
from resources.state_store.records import (
    FaceLabelState,
    ModelVersion,
    Prediction,
)

if TYPE_CHECKING:
    from assets.core.learning.model import FaceClassifier


class ClassifierCache:
    """The promoted classifier, loaded once per artifact: not fetched from the artifact store (a
    file share in Azure) on every request, and an artifact older than ``weights.npz`` loads Keras."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._classifier = None

    def get(self, artifact_store: ArtifactStore, version: ModelVersion) -> FaceClassifier:
        """The classifier of ``version``, read from the artifact store only when it changed."""
        from assets.core.learning.model import FaceClassifier

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
    state_store: SimilarSearch,
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
    from assets.core.ingest.decode import PhotoError, decode_photo
    from assets.core.learning.graph import l2_normalize
    from assets.core.learning.scoring import predict_faces

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
    promoted = state_store.serving_model()  # a labeler's pin, else the promoted version

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
