"""Scoring: the serving classifier applied to faces, as one vectorized pass.

Used by the relabel (``predicted_labels``) and by the app's Find similar, so a face scores the
same wherever it is shown.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from assets.core.learning.graph import CLASS_ITERATIONS, knn_graph, l2_normalize, spread_within_reach
from assets.core.learning.model import FaceClassifier
from resources.state_store.records import FaceLabelState, PredictionColumns

BATCH = 65_536  # faces scored at a time: memory stays flat however large the library
UNKNOWN_FLOOR = 0.05  # in a shared photo, a face takes a persona other than its best only if at least this likely


def predict_faces(
    classifier: FaceClassifier,
    version: int,
    face_ids: list[str],
    embeddings: np.ndarray,
    states: dict[str, FaceLabelState],
    graph: sp.csr_matrix | None = None,
    one_person_per_photo: bool = True,
) -> PredictionColumns:
    """Vectorized over all faces, in batches, with no per-face Python objects.

    The persona is the product of two experts: the Keras softmax on the face's own embedding and
    the label-spreading posterior from its neighbourhood in the library. The face is "unknown"
    when too little label mass reaches it (below the calibrated unknown threshold). A rejected persona
    ("not this person") is never predicted for that face. The faces of one photo are solved
    together (``assign_per_photo``) so that no two get the same persona. The confidence stored is
    the calibrated chance that the persona is right (``chance_of_name``).
    """
    classes = len(classifier.persona_ids)
    column = {persona: i for i, persona in enumerate(classifier.persona_ids)}
    row_of = {face_id: row for row, face_id in enumerate(face_ids)}
    graph = graph if graph is not None else knn_graph(l2_normalize(embeddings))
    known_all, reached_at, reached_mass = label_reach(classifier, graph, row_of, column)
    targets, rejected = targets_and_rejections(states, row_of, column, len(face_ids))

    photo_of = photo_positions(face_ids)
    shared = sharing_targets(photo_of, targets)
    shared_scores = {}
    best = np.empty(len(targets), dtype=np.int64)
    confidence = np.empty(len(targets), dtype=np.float32)
    for start in range(0, len(targets), BATCH):
        rows = targets[start : start + BATCH]
        neighbourhood = np.zeros((len(rows), classes), dtype=np.float32)
        inside = reached_at[rows] >= 0
        mass = reached_mass[reached_at[rows[inside]]]
        neighbourhood[inside] = mass / np.maximum(mass.sum(axis=1), 1e-12)[:, None]
        combined = classifier.score(embeddings[rows]) * np.maximum(neighbourhood, 1e-6)
        combined[rejected[rows].toarray()] = 0.0
        combined /= np.maximum(combined.sum(axis=1, keepdims=True), 1e-12)
        best[start : start + len(rows)] = combined.argmax(axis=1)
        confidence[start : start + len(rows)] = combined[np.arange(len(rows)), best[start : start + len(rows)]]
        for position in np.flatnonzero(shared[start : start + len(rows)]):
            shared_scores[start + position] = combined[position]
    is_known = (known_all[targets] >= classifier.unknown_threshold) & (confidence > classifier.min_confidence)
    if one_person_per_photo and shared_scores:
        hand_labeled: dict[int, list[int]] = {}
        for face_id, state in states.items():
            if face_id in row_of and state.persona_id in column and photo_of[row_of[face_id]] >= 0:
                hand_labeled.setdefault(int(photo_of[row_of[face_id]]), []).append(column[state.persona_id])
        assign_per_photo(photo_of[targets], shared_scores, hand_labeled, best, confidence, is_known)
    return PredictionColumns(
        face_ids=[face_ids[row] for row in targets.tolist()],
        candidate_persona_ids=np.asarray(classifier.persona_ids, dtype=np.int64)[best],
        known=is_known,
        confidences=chance_of_name(classifier, confidence, known_all[targets], is_known),
        model_version=version,
    )


def label_reach(
    classifier: FaceClassifier, graph: sp.csr_matrix, row_of: dict[str, int], column: dict[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the training labels' spread mass says about every face: the total label mass it
    receives (for the unknown threshold), and per persona (position in ``reached_mass`` per face,
    -1 where none arrives)."""
    n, classes = graph.shape[0], len(column)
    seed_pairs = [
        (row_of[face_id], column[persona])
        for face_id, persona in zip(classifier.labeled_face_ids, classifier.labeled_persona_ids, strict=True)
        if face_id in row_of and persona in column
    ]
    seed_rows, seed_cols = np.array(seed_pairs, dtype=np.int64).reshape(-1, 2).T
    seeds = sp.csr_matrix((np.ones(len(seed_rows), np.float32), (seed_rows, seed_cols)), shape=(n, classes))
    seeds.data[:] = 1.0  # a face listed twice is still one seed
    known_all = np.zeros(n, dtype=np.float32)
    labeled = sp.csr_matrix((seeds.getnnz(axis=1) > 0).astype(np.float32)[:, None])
    labeled_rows, labeled_mass = spread_within_reach(graph, labeled)
    known_all[labeled_rows] = labeled_mass[:, 0]
    reached_rows, reached_mass = spread_within_reach(graph, seeds, CLASS_ITERATIONS)
    reached_at = np.full(n, -1, dtype=np.int64)
    reached_at[reached_rows] = np.arange(len(reached_rows))
    return known_all, reached_at, reached_mass


def targets_and_rejections(
    states: dict[str, FaceLabelState], row_of: dict[str, int], column: dict[int, int], n: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """The rows to predict (not settled by a person), and the (face, persona) pairs a person
    rejected: "not this persona" is a hard constraint."""
    is_target = np.ones(n, dtype=bool)
    rejected_rows, rejected_cols = [], []
    for face_id, state in states.items():
        row = row_of.get(face_id)
        if row is None:
            continue
        if state.settled:  # labeled, a stranger or no face: nothing to predict
            is_target[row] = False
        for persona in state.rejected:
            if persona in column:
                rejected_rows.append(row)
                rejected_cols.append(column[persona])
    rejected = sp.csr_matrix(
        (np.ones(len(rejected_rows), dtype=bool), (rejected_rows, rejected_cols)), shape=(n, len(column))
    )
    return np.flatnonzero(is_target), rejected


def chance_of_name(classifier: FaceClassifier, top: np.ndarray, mass: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The stored confidence: the chance the named (or best-guess) persona is right, calibrated on
    held-out labels (assets/core/learning/calibration.py), not the raw product of experts (which is
    renormalized among the known people and reads ~100% for strangers too). Rounded to 4 places."""
    return np.round(classifier.chance(top.astype(np.float64), mass.astype(np.float64), known), 4)


def photo_positions(face_ids: list[str]) -> np.ndarray:
    """Each face's photo as a small integer, -1 for a face alone in its photo.

    Face ids are ``<image id>:<index>`` with indices from 0, so only photos with a face of index
    1 or more hold several; a library of portraits costs one pass of ``endswith``.
    """
    positions = np.full(len(face_ids), -1, dtype=np.int64)
    shared = {face_id.rpartition(":")[0] for face_id in face_ids if not face_id.endswith(":0")}
    if not shared:
        return positions
    photo_number: dict[str, int] = {}
    for row, face_id in enumerate(face_ids):
        photo = face_id.rpartition(":")[0]
        if photo in shared:
            positions[row] = photo_number.setdefault(photo, len(photo_number))
    return positions


def sharing_targets(photo_of: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each target face: does its photo hold another face (predicted or labeled)?"""
    if not len(photo_of) or photo_of.max() < 0:
        return np.zeros(len(targets), dtype=bool)
    faces_in_photo = np.bincount(photo_of[photo_of >= 0])
    photos = photo_of[targets]
    return (photos >= 0) & (faces_in_photo[photos.clip(min=0)] >= 2)


def assign_per_photo(
    target_photos: np.ndarray,
    scores: dict[int, np.ndarray],
    hand_labeled: dict[int, list[int]],
    best: np.ndarray,
    confidence: np.ndarray,
    is_known: np.ndarray,
) -> None:
    """No two faces of a photo predicted as one persona, nor as a persona a person gave another
    face there (in place).

    Each photo's known faces are an assignment problem (``scipy.optimize.linear_sum_assignment``)
    maximizing the summed log-probability; "unknown" is a free column per face, worth
    ``UNKNOWN_FLOOR`` (or half the face's best, if that is lower: alone, a face keeps its best), so
    a face whose persona went to a likelier face, or to a hand label, takes its next persona only
    when that is plausible. Hand labels are
    never touched: people may name the same person twice in one photo (a mirror).
    """
    from scipy.optimize import linear_sum_assignment

    by_photo: dict[int, list[int]] = {}
    for position in scores:
        if is_known[position]:
            by_photo.setdefault(int(target_photos[position]), []).append(position)
    for photo, positions in by_photo.items():
        taken = hand_labeled.get(photo, [])
        if len(positions) < 2 and not taken:
            continue
        proba = np.stack([scores[p] for p in positions]).astype(np.float64)
        unknown = np.log(np.minimum(UNKNOWN_FLOOR, 0.5 * proba.max(axis=1)).clip(min=1e-300))
        proba[:, taken] = 0.0
        value = np.log(np.maximum(proba, 1e-300))
        free = np.full((len(positions), len(positions)), -1e12)  # column j: "face j is unknown"
        np.fill_diagonal(free, unknown)
        matrix = np.hstack([value, free])
        face_rows, chosen = linear_sum_assignment(matrix, maximize=True)
        for face_row, col in zip(face_rows, chosen, strict=True):
            position = positions[face_row]
            if col < proba.shape[1] and proba[face_row, col] > 0:
                best[position], confidence[position] = col, proba[face_row, col]
            else:
                is_known[position] = False
