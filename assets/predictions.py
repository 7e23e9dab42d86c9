"""predicted_labels: the promoted classifier applied to every face without a human label."""

import time

import numpy as np
import scipy.sparse as sp
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.classifier.knownness import (
    CLASS_ITERATIONS,
    knn_graph,
    l2_normalize,
    library_graph,
    spread_within_reach,
)
from assets.classifier.model import FaceClassifier
from resources.artifact_store import ArtifactStore
from resources.face_engine import FaceEngine
from resources.state_store import StateStore
from resources.state_store.records import FaceLabelState, PredictionColumns

CHUNK = 65_536  # faces scored at a time: memory stays flat however large the library


class PhaseClock:
    """Seconds per phase of a run, for its log line and metadata."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self.laps[phase] = round(now - self._last, 3)
        self._last = now

    def __str__(self) -> str:
        return ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in self.laps.items())


def predict_faces(
    classifier: FaceClassifier,
    version: int,
    face_ids: list[str],
    embeddings: np.ndarray,
    states: dict[str, FaceLabelState],
    graph: sp.csr_matrix | None = None,
) -> PredictionColumns:
    """Vectorized over all faces, in chunks, with no per-face Python objects.

    The persona is the product of two experts: the Keras softmax on the face's own embedding and
    the label-spreading posterior from its neighbourhood in the library. The face is "unknown"
    when too little label mass reaches it (the calibrated known-ness gate).
    """
    n, classes = len(face_ids), len(classifier.persona_ids)
    column = {persona: i for i, persona in enumerate(classifier.persona_ids)}
    row_of = {face_id: row for row, face_id in enumerate(face_ids)}
    seed_pairs = [
        (row_of[face_id], column[persona])
        for face_id, persona in zip(classifier.labeled_face_ids, classifier.labeled_persona_ids, strict=True)
        if face_id in row_of and persona in column
    ]
    seed_rows, seed_cols = np.array(seed_pairs, dtype=np.int64).reshape(-1, 2).T
    seeds = sp.csr_matrix((np.ones(len(seed_rows), np.float32), (seed_rows, seed_cols)), shape=(n, classes))
    seeds.data[:] = 1.0  # a face listed twice is still one seed
    graph = graph if graph is not None else knn_graph(l2_normalize(embeddings))
    known_all = np.zeros(n, dtype=np.float32)
    labeled = sp.csr_matrix((seeds.getnnz(axis=1) > 0).astype(np.float32)[:, None])
    labeled_rows, labeled_mass = spread_within_reach(graph, labeled)
    known_all[labeled_rows] = labeled_mass[:, 0]
    reached_rows, reached_mass = spread_within_reach(graph, seeds, CLASS_ITERATIONS)
    reached_at = np.full(n, -1, dtype=np.int64)
    reached_at[reached_rows] = np.arange(len(reached_rows))

    is_target = np.ones(n, dtype=bool)
    rejected_rows, rejected_cols = [], []
    for face_id, state in states.items():
        row = row_of.get(face_id)
        if row is None:
            continue
        if state.persona_id is not None:
            is_target[row] = False
        for persona in state.rejected:  # "not this persona" is a hard constraint
            if persona in column:
                rejected_rows.append(row)
                rejected_cols.append(column[persona])
    targets = np.flatnonzero(is_target)
    rejected = sp.csr_matrix(
        (np.ones(len(rejected_rows), dtype=bool), (rejected_rows, rejected_cols)), shape=(n, classes)
    )

    best = np.empty(len(targets), dtype=np.int64)
    confidence = np.empty(len(targets), dtype=np.float32)
    for start in range(0, len(targets), CHUNK):
        rows = targets[start : start + CHUNK]
        neighbourhood = np.zeros((len(rows), classes), dtype=np.float32)
        inside = reached_at[rows] >= 0
        mass = reached_mass[reached_at[rows[inside]]]
        neighbourhood[inside] = mass / np.maximum(mass.sum(axis=1), 1e-12)[:, None]
        combined = classifier.score(embeddings[rows]) * np.maximum(neighbourhood, 1e-6)
        combined[rejected[rows].toarray()] = 0.0
        combined /= np.maximum(combined.sum(axis=1, keepdims=True), 1e-12)
        best[start : start + len(rows)] = combined.argmax(axis=1)
        confidence[start : start + len(rows)] = combined[np.arange(len(rows)), best[start : start + len(rows)]]
    is_known = (known_all[targets] >= classifier.knownness_threshold) & (confidence > classifier.min_confidence)
    return PredictionColumns(
        face_ids=[face_ids[row] for row in targets.tolist()],
        candidate_persona_ids=np.asarray(classifier.persona_ids, dtype=np.int64)[best],
        known=is_known,
        confidences=np.round(confidence.astype(np.float64), 4),
        model_version=version,
    )


@asset(deps=["face_embeddings", "face_classifier"], group_name="learn", compute_kind="numpy")
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
    clock = PhaseClock()
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
    clock.lap("load")
    graph = library_graph(state_store, face_engine.embedding_space, face_ids, embeddings)
    clock.lap("graph")
    predictions = predict_faces(classifier, promoted.version, face_ids, embeddings, states, graph)
    clock.lap("score")
    labeled_now = [f for f, s in states.items() if s.persona_id is not None]
    written = state_store.write_predictions(predictions, drop=labeled_now)
    if last_key != reflected:
        state_store.record_prediction_update(*reflected)
    clock.lap("write")
    context.log.info(f"predicted_labels: {len(predictions)} faces, {written} predictions written; {clock}")
    return MaterializeResult(
        metadata={
            "model_version": promoted.version,
            "label_watermark": promoted.label_watermark,
            "human_labels_applied_upto": watermark,
            "predicted_faces": len(predictions),
            "unknown": int((~predictions.known).sum()),
            "written": written,
            **{f"seconds_{phase}": seconds for phase, seconds in clock.laps.items()},
        }
    )
