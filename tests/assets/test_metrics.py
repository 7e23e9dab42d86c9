"""Held-out metrics in NumPy give scikit-learn's numbers; the picture is still a PNG."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from assets.core.learning.metrics import confusion_matrix_markdown, held_out_metrics


def sklearn_metrics(true, proba, num_classes):
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

    predicted = proba.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=np.arange(num_classes), zero_division=0
    )
    present = np.unique(true)
    columns = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
    mapped = np.searchsorted(present, true)
    if len(present) == 2:
        auc = roc_auc_score(mapped, columns[:, 1])
    else:
        auc = roc_auc_score(mapped, columns, multi_class="ovr", average="macro")
    return accuracy_score(true, predicted), precision, recall, f1, support, auc


@pytest.mark.parametrize(("num_classes", "present"), [(6, 6), (6, 4), (3, 2)])
def test_held_out_metrics_equal_scikit_learns(num_classes, present):
    rng = np.random.default_rng(num_classes + present)
    true = rng.integers(0, present, size=60)
    proba = rng.random((60, num_classes))
    proba[np.arange(60), true] += rng.random(60)  # better than chance, not perfect
    proba[::7] = np.round(proba[::7], 1)  # tied scores
    proba /= proba.sum(axis=1, keepdims=True)
    names = [f"p{i}" for i in range(num_classes)]
    ours = held_out_metrics(true, proba, names)
    accuracy, precision, recall, f1, support, auc = sklearn_metrics(true, proba, num_classes)
    assert ours["accuracy"] == pytest.approx(accuracy)
    assert ours["macro_auc"] == pytest.approx(auc, abs=1e-12)
    for c in np.unique(true):
        row = ours["per_persona"][names[c]]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
            (round(precision[c], 4), round(recall[c], 4), round(f1[c], 4))
        )
        assert row["support"] == support[c]


def test_confusion_matrix_is_a_png_data_url_and_large_ones_are_not_drawn():
    true = np.array([0, 0, 1, 1, 2])
    markdown = confusion_matrix_markdown(true, np.array([0, 1, 1, 1, 2]), ["a", "b", "c"])
    encoded = markdown.split("base64,", 1)[1].rstrip(")")
    assert base64.b64decode(encoded).startswith(b"\x89PNG")
    many = np.arange(50)
    assert "too many" in confusion_matrix_markdown(many, many, [str(i) for i in many])


def test_the_confusion_matrix_kept_with_a_version_rebuilds_the_counts():
    from assets.core.learning.metrics import confusion_counts, confusion_matrix_of, confusion_table

    rng = np.random.default_rng(3)
    true, predicted = rng.integers(0, 6, size=80), rng.integers(0, 6, size=80)
    predicted[true == 5] = 5  # class 4 never predicted, 5 always right
    names = [f"p{i}" for i in range(8)]  # 6 and 7 never seen: left out
    kept = confusion_table(true, predicted, names)
    present = np.unique(np.concatenate([true, predicted]))
    assert kept["personas"] == [names[c] for c in present]
    expected = confusion_counts(true, predicted, len(names))[np.ix_(present, present)]
    np.testing.assert_array_equal(confusion_matrix_of(kept), expected)
    assert all(count > 0 for _, _, count in kept["cells"])  # only the non-zero cells are kept


def test_the_confusion_matrix_picture_fits_the_dagster_ui_with_a_legend_of_short_names():
    from PIL import Image

    from assets.core.learning.metrics import MAX_MATRIX_CLASSES, MAX_PICTURE_PX, confusion_markdown, short_names

    assert short_names(["Tony_Blair", "Tony Bennett", "Tom", "George_W_Bush"]) == ["TB", "TB2", "TO", "GWB"]
    names = [f"Person_{chr(65 + i // 26)}{chr(65 + i % 26)}_Long_Surname" for i in range(MAX_MATRIX_CLASSES)]
    cells = [[i, i, 3] for i in range(len(names))] + [[0, 1, 12]]
    markdown = confusion_markdown({"personas": names, "cells": cells})
    legend, picture = markdown.split("\n\n![confusion matrix](data:image/png;base64,")
    assert all(name in legend for name in names)
    width, _ = Image.open(io.BytesIO(base64.b64decode(picture.rstrip(")")))).size
    assert width <= MAX_PICTURE_PX
