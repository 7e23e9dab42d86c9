"""predicted_labels: the promoted classifier applied to every face without a human label."""

import numpy as np
import scipy.sparse as sp
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.classifier.knownness import CLASS_ITERATIONS, knn_graph, l2_normalize, library_graph, spread
from assets.classifier.model import FaceClassifier
from resources.artifact_store import ArtifactStore
from resources.face_engine import FaceEngine
from resources.state_store import StateStore
from resources.state_store.records import FaceLabelState, Prediction


def predict_faces(
    classifier: FaceClassifier,
    version: int,
    face_ids: list[str],
    embeddings: np.ndarray,
    states: dict[str, FaceLabelState],
    graph: sp.csr_matrix | None = None,
) -> list[Prediction]:
    """Vectorized over all faces.

    The persona is the product of two experts: the Keras softmax on the face's own embedding and
    the label-spreading posterior from its neighbourhood in the library. The face is "unknown"
    when too little label mass reaches it (the calibrated known-ness gate).
    """
    column = {persona: i for i, persona in enumerate(classifier.persona_ids)}
    row_of = {face_id: row for row, face_id in enumerate(face_ids)}
    seeds = np.zeros((len(face_ids), len(column)), dtype=np.float32)
    for face_id, persona in zip(classifier.labeled_face_ids, classifier.labeled_persona_ids, strict=True):
        if face_id in row_of and persona in column:
            seeds[row_of[face_id], column[persona]] = 1.0
    graph = graph if graph is not None else knn_graph(l2_normalize(embeddings))
    known_all = spread(graph, seeds.any(axis=1))
    mass = spread(graph, seeds, iterations=CLASS_ITERATIONS)
    targets = np.array(
        [row for row, f in enumerate(face_ids) if states.get(f, FaceLabelState(None)).persona_id is None], dtype=int
    )
    if targets.size == 0:
        return []
    known = known_all[targets]
    neighbourhood = mass[targets] / np.maximum(mass[targets].sum(axis=1), 1e-12)[:, None]
    combined = classifier.score(embeddings[targets]) * np.maximum(neighbourhood, 1e-6)
    for i, row in enumerate(targets):
        state = states.get(face_ids[row])
        if state and state.rejected:  # "not this persona" is a hard constraint
            combined[i, [column[p] for p in state.rejected if p in column]] = 0.0
    combined /= np.maximum(combined.sum(axis=1, keepdims=True), 1e-12)
    best = combined.argmax(axis=1)
    confidence = combined[np.arange(len(targets)), best]
    is_known = (known >= classifier.knownness_threshold) & (confidence > classifier.min_confidence)
    personas = np.asarray(classifier.persona_ids)[best]
    return [
        Prediction(
            face_id=face_ids[row],
            persona_id=int(personas[i]) if is_known[i] else None,
            confidence=round(float(confidence[i]), 4),
            model_version=version,
            candidate_persona_id=int(personas[i]),
        )
        for i, row in enumerate(targets)
    ]


@asset(deps=["face_embeddings", "face_classifier"], group_name="learn", compute_kind="tensorflow")
def predicted_labels(
    context: AssetExecutionContext,
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
) -> MaterializeResult:
    """Predictions for unlabeled faces; only rows whose prediction changed are written."""
    promoted = state_store.promoted_model()
    if promoted is None:
        context.log.info("no promoted classifier yet: label faces of at least two personas")
        return MaterializeResult(metadata={"status": "no promoted classifier yet", "written": 0})
    face_ids, embeddings = state_store.load_embeddings(face_engine.embedding_space)
    watermark = state_store.label_watermark()
    # "Reflected" means in the model: the labels the promoted version was trained on.
    reflected = (promoted.version, promoted.label_watermark, len(face_ids))
    last = state_store.latest_prediction_update()
    last_key = last and (last["model_version"], last["label_watermark"], last["faces"])
    if last_key == reflected and watermark == promoted.label_watermark:
        return MaterializeResult(metadata={"status": "up to date", "written": 0, "model_version": promoted.version})
    classifier = FaceClassifier.from_bytes(artifact_store.get(promoted.artifact_key))
    states = state_store.label_states(upto=watermark)
    graph = library_graph(state_store, face_engine.embedding_space, face_ids, embeddings)
    predictions = predict_faces(classifier, promoted.version, face_ids, embeddings, states, graph)
    labeled_now = [f for f, s in states.items() if s.persona_id is not None]
    written = state_store.write_predictions(predictions, drop=labeled_now)
    if last_key != reflected:
        state_store.record_prediction_update(*reflected)
    unknown = sum(p.persona_id is None for p in predictions)
    return MaterializeResult(
        metadata={
            "model_version": promoted.version,
            "label_watermark": promoted.label_watermark,
            "human_labels_applied_upto": watermark,
            "predicted_faces": len(predictions),
            "unknown": unknown,
            "written": written,
        }
    )
