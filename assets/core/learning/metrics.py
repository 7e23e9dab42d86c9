"""Held-out metrics and the confusion-matrix picture shown in the Dagster UI."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np

MAX_MATRIX_CLASSES = 30  # beyond this the picture is wider than MAX_PICTURE_PX (unreadable) and bloats the event log


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
        "confusion": confusion_table(true, predicted, names),
    }


def confusion_table(true: np.ndarray, predicted: np.ndarray, names: list[str]) -> dict:
    """The confusion matrix as kept with a version: the people seen, and its non-zero cells as
    ``[labeled, predicted, faces]`` positions in that list (small for any number of people)."""
    present = np.unique(np.concatenate([true, predicted])).astype(int)
    position = {int(c): i for i, c in enumerate(present)}
    matrix = confusion_counts(true, predicted, len(names))[np.ix_(present, present)]
    cells = [[int(i), int(j), int(matrix[i, j])] for i, j in zip(*np.nonzero(matrix), strict=True)]
    return {"personas": [names[c] for c in position], "cells": cells}


def confusion_matrix_of(table: dict) -> np.ndarray:
    """The dense matrix of a ``confusion_table`` (rows labeled, columns predicted)."""
    n = len(table["personas"])
    matrix = np.zeros((n, n), dtype=np.int64)
    for i, j, count in table["cells"]:
        matrix[i, j] = count
    return matrix


def short_names(names: list[str]) -> list[str]:
    """Unique 2-3 letter codes ("Tony_Blair" -> "TB") so a matrix of many people fits the page."""
    codes: list[str] = []
    for name in names:
        words = [w for w in name.replace("_", " ").replace("-", " ").split() if w]
        base = ("".join(w[0] for w in words[:3]) if len(words) > 1 else (words[0][:2] if words else "?")).upper()
        code, n = base, 2
        while code in codes:
            code, n = f"{base}{n}", n + 1
        codes.append(code)
    return codes


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


MAX_PICTURE_PX = 480  # the Dagster UI's metadata column: wider pictures are scaled down, numbers unreadable
CELL_PX, MIN_CELL_PX, LABEL_PX, FONT_PX = 24, 14, 34, 11
LIGHT, DARK = np.array([247, 251, 255]), np.array([8, 48, 107])  # matplotlib's "Blues" ends


def confusion_matrix_markdown(true: np.ndarray, predicted: np.ndarray, names: list[str]) -> str:
    return confusion_markdown(confusion_table(true, predicted, names))


def confusion_markdown(table: dict) -> str:
    """A legend of short names, then a small PNG embedded as markdown (Dagster 1.13 has no image
    metadata type). Short codes instead of names keep the picture under ``MAX_PICTURE_PX`` wide,
    so it is shown at full size, numbers readable, beside the other metadata.

    Drawn with Pillow: matplotlib's import and layout cost the label-to-prediction path ~0.8 s
    per retrain run, for a grid of numbered squares.
    """
    names = table["personas"]
    if len(names) > MAX_MATRIX_CLASSES:
        return f"_{len(names)} personas: too many to draw; see per-persona metrics._"
    codes = short_names(names)
    buffer = io.BytesIO()
    matrix_picture(confusion_matrix_of(table), codes).save(buffer, format="PNG", optimize=True)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    legend = " · ".join(f"**{code}** {name}" for code, name in zip(codes, names, strict=True))
    return f"Rows: labeled, columns: predicted. {legend}\n\n![confusion matrix](data:image/png;base64,{encoded})"


def matrix_picture(matrix: np.ndarray, labels: list[str]):
    """Rows = labeled, columns = predicted; darker = more faces; short names left and on top."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(labels)
    cell = max(MIN_CELL_PX, min(CELL_PX, (MAX_PICTURE_PX - LABEL_PX - 8) // max(n, 1)))
    font = ImageFont.load_default(size=FONT_PX if cell >= 20 else 9)
    top = 18
    picture = Image.new("RGB", (LABEL_PX + n * cell + 8, top + n * cell + 8), "white")
    draw = ImageDraw.Draw(picture)
    shade = matrix / max(int(matrix.max()), 1)
    for (i, j), value in np.ndenumerate(matrix):
        x, y = LABEL_PX + j * cell, top + i * cell
        colour = tuple(int(c) for c in LIGHT + (DARK - LIGHT) * shade[i, j])
        draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=colour)
        if value:
            ink = "white" if shade[i, j] > 0.5 else "black"
            draw.text((x + cell / 2, y + cell / 2), str(value), fill=ink, font=font, anchor="mm")
    for i, label in enumerate(labels):
        draw.text((LABEL_PX - 4, top + i * cell + cell / 2), label, fill="black", font=font, anchor="rm")
        draw.text((LABEL_PX + i * cell + cell / 2, top - 4), label, fill="black", font=font, anchor="ms")
    return picture
