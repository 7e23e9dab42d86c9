"""Turn the label log into a trained, calibrated FaceClassifier (no Dagster here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assets.classifier.knownness import calibrate_threshold, l2_normalize, library_graph
from assets.classifier.metrics import held_out_metrics
from assets.classifier.model import FaceClassifier, compute_devices, fit_weights, out_of_fold_proba
from resources.state_store import StateStore


class TrainingError(ValueError):
    """Labels that cannot make a classifier yet; the message tells a person what is missing."""


@dataclass
class TrainingResult:
    classifier: FaceClassifier
    metrics: dict
    held_out_true: np.ndarray
    held_out_proba: np.ndarray
    persona_names: list[str]


def train_classifier(store: StateStore, space: str, watermark: int) -> TrainingResult:
    """Train on every face labeled up to ``watermark``; evaluate by stratified k-fold."""
    face_ids, embeddings = store.load_embeddings(space)
    row_of = {face_id: row for row, face_id in enumerate(face_ids)}
    states = store.label_states(upto=watermark)
    labeled = sorted(
        (face_id, state.persona_id)
        for face_id, state in states.items()
        if state.persona_id is not None and face_id in row_of
    )
    persona_ids = sorted({persona for _, persona in labeled})
    if len(persona_ids) < 2:
        raise TrainingError(f"need labeled faces of at least 2 personas to train, have {len(persona_ids)}")
    names_by_id = {p.persona_id: p.name for p in store.personas(include_merged=True)}
    names = [names_by_id.get(p, str(p)) for p in persona_ids]
    column = {persona: i for i, persona in enumerate(persona_ids)}
    rows = np.array([row_of[face_id] for face_id, _ in labeled])
    classes = np.array([column[persona] for _, persona in labeled])

    labeled_unit = l2_normalize(embeddings[rows])  # only the labeled faces train
    oof_proba, oof_rows = out_of_fold_proba(labeled_unit, classes, len(persona_ids))
    weights = fit_weights(labeled_unit, classes, len(persona_ids))
    threshold, calibration = calibrate_threshold(library_graph(store, space, face_ids, embeddings), rows, classes)

    metrics = {
        "labeled_faces": len(rows),
        "personas": len(persona_ids),
        "label_watermark": watermark,
        "devices": compute_devices(),
        **calibration,
    }
    if len(oof_rows):
        metrics.update(held_out_metrics(classes[oof_rows], oof_proba, names))
    else:
        metrics.update({"accuracy": None, "held_out_faces": 0})
    classifier = FaceClassifier(
        weights=weights,
        persona_ids=persona_ids,
        knownness_threshold=threshold,
        labeled_face_ids=[face_id for face_id, _ in labeled],
        labeled_persona_ids=[persona for _, persona in labeled],
        info={"space": space, "label_watermark": watermark},
    )
    return TrainingResult(classifier, metrics, classes[oof_rows], oof_proba, names)
