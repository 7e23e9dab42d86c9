"""Held-out metrics and the confusion-matrix picture shown in the Dagster UI."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np

MAX_MATRIX_CLASSES = 40  # beyond this a picture is unreadable and bloats the event log


def held_out_metrics(true: np.ndarray, proba: np.ndarray, names: list[str]) -> dict:
    """Accuracy, per-persona precision/recall/F1 and macro one-vs-rest AUC, as scikit-learn defines
    them (tests/assets/test_metrics.py compares), in NumPy: importing sklearn.metrics costs a
    fresh retrain process ~0.8 s."""
    predicted = proba.argmax(axis=1)
    matrix = confusion_counts(true, predicted, len(names))
    hits = np.diag(matrix).astype(float)
    support = matrix.sum(axis=1)
    precision = np.divide(hits, matrix.sum(axis=0), out=np.zeros_like(hits), where=matrix.sum(axis=0) > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    f1_denominator = support + matrix.sum(axis=0)
    f1 = np.divide(2 * hits, f1_denominator, out=np.zeros_like(hits), where=f1_denominator > 0)
    present = np.unique(true)
    auc = None
    if len(present) >= 2:
        columns = proba[:, present]
        columns = columns / np.maximum(columns.sum(axis=1, keepdims=True), 1e-12)
        positives = true[:, None] == present[None, :]
        scored = [1] if len(present) == 2 else range(len(present))  # binary: sklearn scores class 1
        auc = float(np.mean([binary_auc(positives[:, i], columns[:, i]) for i in scored]))
    per_persona = {
        names[c]: {
            "precision": round(float(precision[c]), 4),
            "recall": round(float(recall[c]), 4),
            "f1": round(float(f1[c]), 4),
            "support": int(support[c]),
        }
        for c in present
    }
    return {
        "accuracy": float(np.mean(predicted == true)),
        "macro_f1": float(np.mean([per_persona[names[c]]["f1"] for c in present])),
        "macro_auc": auc,
        "held_out_faces": len(true),
        "per_persona": per_persona,
    }


def held_out_digest(face_ids: list[str]) -> str:
    """A short fingerprint of which faces were held out: two versions whose held-out accuracy
    differs may simply have been scored on different faces (the Classifier tab says so)."""
    return hashlib.blake2b("\n".join(sorted(face_ids)).encode(), digest_size=8).hexdigest()


def confusion_counts(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: labeled class, columns: predicted class."""
    flat = np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic, tied scores counting half."""
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    average_rank = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return float((average_rank[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def per_persona_markdown(per_persona: dict) -> str:
    lines = ["| persona | precision | recall | F1 | held-out faces |", "|---|---|---|---|---|"]
    for name, row in sorted(per_persona.items()):
        lines.append(f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | {row['support']} |")
    return "\n".join(lines)


CELL_PX, LABEL_PX, FONT_PX = 24, 120, 11
LIGHT, DARK = np.array([247, 251, 255]), np.array([8, 48, 107])  # matplotlib's "Blues" ends


def confusion_matrix_markdown(true: np.ndarray, predicted: np.ndarray, names: list[str]) -> str:
    """A small PNG embedded as markdown (Dagster 1.13 has no image metadata type).

    Drawn with Pillow: matplotlib's import and layout cost the label-to-prediction path ~0.8 s
    per retrain run, for a grid of numbered squares.
    """
    present = np.unique(np.concatenate([true, predicted]))
    if len(present) > MAX_MATRIX_CLASSES:
        return f"_{len(present)} personas: too many to draw; see per-persona metrics._"
    matrix = confusion_counts(true, predicted, len(names))[np.ix_(present, present)]
    buffer = io.BytesIO()
    matrix_picture(matrix, [names[c][:18] for c in present]).save(buffer, format="PNG", optimize=True)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![confusion matrix](data:image/png;base64,{encoded})"


def matrix_picture(matrix: np.ndarray, labels: list[str]):
    """Rows = labeled, columns = predicted; darker = more faces; names left and below."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=FONT_PX)
    n = len(labels)
    side = LABEL_PX + n * CELL_PX + 8
    picture = Image.new("RGB", (side, side + 14), "white")
    draw = ImageDraw.Draw(picture)
    top = 4
    shade = matrix / max(int(matrix.max()), 1)
    for (i, j), value in np.ndenumerate(matrix):
        x, y = LABEL_PX + j * CELL_PX, top + i * CELL_PX
        colour = tuple(int(c) for c in LIGHT + (DARK - LIGHT) * shade[i, j])
        draw.rectangle([x, y, x + CELL_PX - 1, y + CELL_PX - 1], fill=colour)
        if value:
            ink = "white" if shade[i, j] > 0.5 else "black"
            draw.text((x + CELL_PX / 2, y + CELL_PX / 2), str(value), fill=ink, font=font, anchor="mm")
    for i, label in enumerate(labels):
        draw.text((LABEL_PX - 4, top + i * CELL_PX + CELL_PX / 2), label, fill="black", font=font, anchor="rm")
    bottom = top + n * CELL_PX
    column_labels = Image.new("RGB", (LABEL_PX, n * CELL_PX), "white")
    column_draw = ImageDraw.Draw(column_labels)
    for j, label in enumerate(labels):
        column_draw.text((LABEL_PX - 4, j * CELL_PX + CELL_PX / 2), label, fill="black", font=font, anchor="rm")
    picture.paste(column_labels.rotate(90, expand=True), (LABEL_PX, bottom + 4))
    draw.text((LABEL_PX + n * CELL_PX / 2, side + 6), "predicted", fill="black", font=font, anchor="mm")
    draw.text((4, bottom + 4), "rows: labeled", fill="black", font=font)
    return picture
