"""Held-out metrics and the confusion-matrix picture shown in the Dagster UI."""

from __future__ import annotations

import base64
import io

import numpy as np

MAX_MATRIX_CLASSES = 40  # beyond this a picture is unreadable and bloats the event log


def held_out_metrics(true: np.ndarray, proba: np.ndarray, names: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    predicted = proba.argmax(axis=1)
    labels = np.arange(len(names))
    precision, recall, f1, support = precision_recall_fscore_support(true, predicted, labels=labels, zero_division=0)
    present = np.unique(true)
    auc = None
    if len(present) >= 2:
        columns = proba[:, present]
        columns = columns / np.maximum(columns.sum(axis=1, keepdims=True), 1e-12)
        remap = {c: i for i, c in enumerate(present)}
        mapped = np.array([remap[c] for c in true])
        if len(present) == 2:
            auc = float(roc_auc_score(mapped, columns[:, 1]))
        else:
            auc = float(roc_auc_score(mapped, columns, multi_class="ovr", average="macro"))
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
        "accuracy": float(accuracy_score(true, predicted)),
        "macro_f1": float(np.mean([per_persona[names[c]]["f1"] for c in present])),
        "macro_auc": auc,
        "held_out_faces": len(true),
        "per_persona": per_persona,
    }


def per_persona_markdown(per_persona: dict) -> str:
    lines = ["| persona | precision | recall | F1 | held-out faces |", "|---|---|---|---|---|"]
    for name, row in sorted(per_persona.items()):
        lines.append(f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | {row['support']} |")
    return "\n".join(lines)


def confusion_matrix_markdown(true: np.ndarray, predicted: np.ndarray, names: list[str]) -> str:
    """A small PNG embedded as markdown (Dagster 1.13 has no image metadata type)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    present = np.unique(np.concatenate([true, predicted]))
    if len(present) > MAX_MATRIX_CLASSES:
        return f"_{len(present)} personas: too many to draw; see per-persona metrics._"
    matrix = confusion_matrix(true, predicted, labels=present)
    short = [names[c][:18] for c in present]
    side = 2.0 + 0.32 * len(present)
    fig, ax = plt.subplots(figsize=(side, side), dpi=72)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(present)), short, rotation=90, fontsize=7)
    ax.set_yticks(range(len(present)), short, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("labeled")
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > matrix.max() / 2 else "black",
            )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![confusion matrix](data:image/png;base64,{encoded})"
