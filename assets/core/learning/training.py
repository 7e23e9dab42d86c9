"""Turn the label log into a trained, calibrated FaceClassifier (no Dagster here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from assets.core.learning.calibration import ChanceCalibration, fit_chance
from assets.core.learning.graph import l2_normalize, leave_one_out_posterior
from assets.core.learning.metrics import held_out_digest, held_out_metrics
from assets.core.learning.model import FaceClassifier, compute_devices, fit_weights, out_of_fold_proba
from assets.core.learning.unknown_threshold import ThresholdCalibration, calibrate
from resources.state_store.records import FaceLabelState, LabelKind

LABEL_CHECK_ROWS = 20  # the labels the model disagrees with most, kept with each version


class TrainingError(ValueError):
    """Labels that cannot make a classifier yet; the message tells a person what is missing."""


@dataclass
class TrainingResult:
    classifier: FaceClassifier
    metrics: dict
    held_out_true: np.ndarray
    held_out_proba: np.ndarray
    persona_names: list[str]


def train_classifier(
    face_ids: list[str],
    embeddings: np.ndarray,
    graph: sp.csr_matrix,
    states: dict[str, FaceLabelState],
    names_by_id: dict[int, str],
    space: str,
    watermark: int,
) -> TrainingResult:
    """Train on every labeled face in ``states`` (the label log up to ``watermark``); evaluate by
    stratified k-fold.

    One persona is a valid model: every other face is that person or unknown, decided by the
    unknown threshold alone (a softmax over one class says nothing). A version whose people have
    no second label has no held-out accuracy; the gate serves it as provisional (gate.py).
    Faces a person called a stranger in ``states`` are impostors for the unknown threshold, and
    for the chance a shown name is right (calibration.py), fitted here on the same held-out scores.
    """
    row_of = {face_id: row for row, face_id in enumerate(face_ids)}
    labeled = sorted(
        (face_id, state.persona_id)
        for face_id, state in states.items()
        if state.persona_id is not None and face_id in row_of
    )
    persona_ids = sorted({persona for _, persona in labeled})
    if not persona_ids:
        raise TrainingError("need labeled faces of at least 1 persona to train, have 0")
    names = [names_by_id.get(p, str(p)) for p in persona_ids]
    column = {persona: i for i, persona in enumerate(persona_ids)}
    rows = np.array([row_of[face_id] for face_id, _ in labeled])
    classes = np.array([column[persona] for _, persona in labeled])

    labeled_unit = l2_normalize(embeddings[rows])  # only the labeled faces train
    strangers = [row_of[f] for f, state in states.items() if state.set_aside == LabelKind.STRANGER and f in row_of]
    cut = calibrate(graph, rows, classes, stranger_rows=np.array(strangers, dtype=np.int64))
    threshold, calibration = cut.threshold, cut.stats
    metrics = {
        "labeled_faces": len(rows),
        "personas": len(persona_ids),
        "label_watermark": watermark,
        "devices": compute_devices(),
        **calibration,
    }
    if len(persona_ids) == 1:
        weights = [np.zeros((labeled_unit.shape[1], 1), np.float32), np.zeros(1, np.float32)]
        oof_proba, oof_rows = np.ones((0, 1), np.float32), np.zeros(0, np.int64)
        metrics.update(one_persona_metrics(calibration, len(rows)))
    else:
        oof_proba, oof_rows = out_of_fold_proba(labeled_unit, classes, len(persona_ids))
        weights = fit_weights(labeled_unit, classes, len(persona_ids))
        if len(oof_rows):
            metrics.update(held_out_metrics(classes[oof_rows], oof_proba, names))
        else:
            metrics.update({"accuracy": None, "held_out_faces": 0})
    metrics["held_out_digest"] = held_out_digest([labeled[i][0] for i in oof_rows.tolist()])
    metrics["provisional"] = metrics["accuracy"] is None
    combined = (
        product_of_experts(leave_one_out_posterior(graph, rows, classes, len(persona_ids)), oof_proba, oof_rows)
        if len(persona_ids) >= 2
        else None  # one persona: every label agrees with the only persona there is
    )
    metrics["label_check"] = (
        label_check([face_id for face_id, _ in labeled], classes, names, combined) if combined is not None else []
    )
    chance = chance_calibration(cut, combined, oof_rows, classes)
    metrics["chance_calibration"] = chance.method
    classifier = FaceClassifier(
        weights=weights,
        persona_ids=persona_ids,
        unknown_threshold=threshold,
        labeled_face_ids=[face_id for face_id, _ in labeled],
        labeled_persona_ids=[persona for _, persona in labeled],
        calibration=chance,
        info={"space": space, "label_watermark": watermark},
    )
    return TrainingResult(classifier, metrics, classes[oof_rows], oof_proba, names)


def chance_calibration(
    cut: ThresholdCalibration, combined: np.ndarray | None, oof_rows: np.ndarray, classes: np.ndarray
) -> ChanceCalibration:
    """The chance a name is right, fitted on the threshold's held-out scores and the held-out labels'
    out-of-fold top probability (none for a one-persona model: its only persona always wins)."""
    held_out = combined[oof_rows] if combined is not None else np.zeros((0, 1))
    top, correct = held_out.max(axis=1), held_out.argmax(axis=1) == classes[oof_rows]
    return fit_chance(cut.genuine, cut.impostor, cut.threshold, top, correct)


def one_persona_metrics(calibration: dict, labeled_faces: int) -> dict:
    """Held-out accuracy of a one-persona model ("that person" or "unknown"), balanced over the two
    answers: the share of its labels, each hidden in turn, that it still names, and the share of
    the impostor stand-ins it calls unknown (the first alone where there are none). None from a
    single label: nothing can be hidden."""
    if not calibration["held_out_genuine"]:
        return {"accuracy": None, "held_out_faces": 0, "one_persona": True}
    kept, rejected = calibration["genuine_kept"], calibration["impostor_rejected"]
    accuracy = kept if rejected is None else (kept + rejected) / 2
    return {"accuracy": accuracy, "held_out_faces": labeled_faces, "one_persona": True}


def product_of_experts(posterior: np.ndarray, oof_proba: np.ndarray, oof_rows: np.ndarray) -> np.ndarray:
    """(labels, classes) leave-one-out persona probabilities: the label-spreading posterior from
    every other label, times the softmax of the fold that did not see the face (as in predictions)."""
    combined = np.maximum(posterior, 1e-6)
    if len(oof_rows):
        combined[oof_rows] *= oof_proba
    return combined / combined.sum(axis=1, keepdims=True)


def label_check(face_ids: list[str], classes: np.ndarray, names: list[str], combined: np.ndarray) -> list[dict]:
    """The people's own labels ranked by how little the model, trained without each one, agrees.

    Agreement is the leave-one-out probability of the given persona (``product_of_experts``). A
    persona's only label cannot be checked (without it the persona does not exist), nor can labels
    of a one-persona model.
    """
    counts = np.bincount(classes, minlength=len(names))
    agreement = combined[np.arange(len(classes)), classes]
    checkable = np.flatnonzero(counts[classes] >= 2)
    order = checkable[np.argsort(agreement[checkable], kind="stable")][:LABEL_CHECK_ROWS]
    others = combined.copy()
    others[np.arange(len(classes)), classes] = -1.0
    return [
        {
            "face_id": face_ids[i],
            "persona": names[classes[i]],
            "agreement": round(float(agreement[i]), 4),
            "model_says": names[int(others[i].argmax())],
        }
        for i in order
    ]
