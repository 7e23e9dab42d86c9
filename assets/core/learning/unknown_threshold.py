"""The unknown threshold: is this face one of the labeled people at all?

A softmax always picks some persona, so it cannot say "nobody we know". A face is "unknown" when
the label mass spread over the library's face graph (graph.py) that reaches it is below the
unknown threshold, calibrated here from held-out labels. On lfw10 this separates unknown people
far better than any per-face similarity threshold (see ARCHITECTURE.md), and it needs no labels of
unknown people to calibrate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from assets.core.learning.graph import NEIGHBOURS, positions_in, spread_within_reach


@dataclass(frozen=True)
class ThresholdCalibration:
    """The threshold, its stats for the version's metrics, and the scores it was cut between
    (what the chance a name is right is fitted on, calibration.py)."""

    threshold: float
    stats: dict
    genuine: np.ndarray
    impostor: np.ndarray  # the stand-ins and the strangers


def calibrate(
    graph: sp.csr_matrix,
    labeled_rows: np.ndarray,
    classes: np.ndarray,
    repeats: int = 3,
    max_personas: int = 20,
    stranger_rows: np.ndarray | None = None,
) -> ThresholdCalibration:
    """Threshold from held-out labels, no unknown examples needed.

    Genuine scores: labeled faces whose own label is hidden (5 folds, ``repeats`` shuffles).
    Impostor scores: the labeled faces of one persona with all its labels hidden, which is exactly
    what a person nobody labeled looks like (every persona, up to ``max_personas``). The threshold
    is the point equally many robust standard deviations from both medians in log space, nudged
    10% toward keeping known faces (a wrong "unknown" costs a click, a wrong name costs trust);
    the nudge was chosen on lfw10. Robust statistics keep it stable on a few dozen labels, where
    picking the best cut between the samples swung with the fold draw.

    From the first label on, what is missing is stood in for (``calibration`` in the stats says
    which): a persona's only label cannot be hidden and still be learned, so its genuine score
    comes from its nearest faces in the graph standing in as its second label; with one persona
    there is nobody else to hide, so the impostors are the library's other faces the label mass
    reaches (most faces of a library are not the one person named; robust statistics shrug off
    the few that are).

    Faces a person called a stranger ("don't ask again", ``stranger_rows``) are real impostors:
    the label mass of every label that reaches them is an impostor score. They count where that
    helps: the threshold is also cut between the held-out labels and the strangers, and the
    stricter cut is kept (up to losing 10% of the held-out labels), so strangers can make more
    faces unknown but never fewer.
    """
    strangers = np.asarray(stranger_rows if stranger_rows is not None else [], dtype=np.int64)
    strangers = np.setdiff1d(strangers, labeled_rows)
    counts = np.bincount(classes)
    columns = _genuine_columns(labeled_rows, classes, counts, repeats)
    held_out_sets = len(columns)
    columns += _single_label_columns(graph, labeled_rows, classes, counts)
    genuine_sets = len(columns)
    personas = np.unique(classes)
    one_persona = len(personas) == 1
    if one_persona:
        columns.append((labeled_rows, np.setdiff1d(np.arange(graph.shape[0]), labeled_rows)))
    else:
        if len(personas) > max_personas:
            personas = np.random.default_rng(0).choice(personas, max_personas, replace=False)
        columns += [(labeled_rows[classes != persona], labeled_rows[classes == persona]) for persona in personas]
    columns.append((labeled_rows, strangers))  # every label's mass at the strangers
    *scores, stranger_scores = _scores_in_one_spread(graph, columns)
    gen = np.concatenate([np.zeros(0), *scores[:genuine_sets]])
    imp = np.concatenate([np.zeros(0), *scores[genuine_sets:]])
    method = "held-out labels"
    if one_persona:
        # Faces the labels never reach say nothing about where to cut; faces that look at least as
        # known as a typical held-out label are most likely the person (a library where the person
        # is an island of their own has no stand-ins left, and the fixed margin decides).
        imp = imp[(imp > REACHED) & (imp < np.median(gen) if len(gen) else True)]
        method = "one persona: the library's other faces as impostors"
        if len(imp) < MIN_IMPOSTORS:
            method = "one persona, too few faces reached: a fixed margin below the held-out labels"
    if counts.min() < 2:
        method += "; single labels: nearest faces stand in as a second label"
    if not len(gen):  # no label has a neighbour: nothing to calibrate on, every face the labels reach is known
        threshold, method = REACHED, "no held-out estimate: every face the labels reach counts as known"
    elif one_persona and len(imp) < MIN_IMPOSTORS:
        threshold = float(np.exp(np.median(np.log(np.maximum(gen, 1e-12))) - ONE_PERSONA_MARGIN))
    else:
        threshold = float(equal_z_threshold(gen, imp, genuine_floor=floor_for(one_persona, counts)) * np.exp(-0.1))
    if len(gen) and len(stranger_scores):
        threshold, stranger_note = _with_strangers(threshold, gen, imp, stranger_scores, floor_for(one_persona, counts))
        method += stranger_note
    imp = np.concatenate([imp, stranger_scores])
    stats = {
        "unknown_threshold": threshold,
        "genuine_kept": float((gen >= threshold).mean()),
        "impostor_rejected": float((imp < threshold).mean()) if len(imp) else None,
        "calibration_faces": len(labeled_rows),
        "held_out_genuine": int(sum(len(scored) for scored in scores[:held_out_sets])),
        "strangers": len(stranger_scores),
        "calibration": method,
    }
    return ThresholdCalibration(threshold, stats, gen, imp)


def floor_for(one_persona: bool, counts: np.ndarray) -> float:
    """The floor on the genuine scores' robust spread (see the constants below)."""
    return max(ONE_PERSONA_SPREAD_FLOOR * one_persona, SINGLE_LABEL_SPREAD_FLOOR * (counts.min() < 2))


def _with_strangers(
    threshold: float, gen: np.ndarray, imp: np.ndarray, strangers: np.ndarray, floor: float
) -> tuple[float, str]:
    """The cut between the held-out labels and the strangers (real impostors, where the stand-ins
    are guesses), if that is stricter; never so strict that it drops more than
    ``STRANGER_MAX_GENUINE_LOSS`` of the held-out labels."""
    reached = strangers[strangers > REACHED]
    if not len(reached):
        return threshold, f"; {len(strangers)} stranger(s), none reached by the labels"
    cut = float(equal_z_threshold(gen, reached, genuine_floor=floor) * np.exp(-0.1))
    cut = min(cut, float(np.quantile(gen, STRANGER_MAX_GENUINE_LOSS, method="lower")))
    if cut > threshold:
        return cut, f"; {len(reached)} stranger(s) as impostors raised it"
    return threshold, f"; {len(reached)} stranger(s) as impostors, the cut without them is stricter"


STRANGER_MAX_GENUINE_LOSS = 0.1  # strangers may raise the threshold until it drops this share of held-out labels
REACHED = 1e-9  # label mass below this is float noise: the face is not connected to any label
MIN_IMPOSTORS = 5
ONE_PERSONA_MARGIN = 1.5  # log units below the genuine median when nothing else can say where to cut
# Floors on the genuine log-scores' robust spread (both chosen on lfw10): a spread measured on 2-3
# held-out labels is mostly luck, and nearest faces standing in for a second label sit one edge
# away, closer than most of the person's other photos.
ONE_PERSONA_SPREAD_FLOOR = 0.25
SINGLE_LABEL_SPREAD_FLOOR = 0.5


def _genuine_columns(
    labeled_rows: np.ndarray, classes: np.ndarray, counts: np.ndarray, repeats: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(seed rows, scored rows): each fold's labels hidden, scored where the persona keeps a label."""
    columns = []
    learnable = counts[classes] >= 2
    for repeat in range(repeats):
        folds = np.random.default_rng(repeat).permutation(len(labeled_rows)) % min(5, len(labeled_rows))
        for fold in np.unique(folds):
            hidden = folds == fold
            if (hidden & learnable).any():
                columns.append((labeled_rows[~hidden], labeled_rows[hidden & learnable]))
    return columns


def _single_label_columns(
    graph: sp.csr_matrix, labeled_rows: np.ndarray, classes: np.ndarray, counts: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A persona's only label, scored with each of its graph neighbours standing in as its second label."""
    columns = []
    labeled = set(labeled_rows.tolist())
    for position in np.flatnonzero(counts[classes] == 1):
        row = labeled_rows[position]
        others = np.delete(labeled_rows, position)
        start, end = graph.indptr[row], graph.indptr[row + 1]
        order = np.argsort(-graph.data[start:end])
        neighbours = [n for n in graph.indices[start:end][order][:NEIGHBOURS] if n not in labeled]
        columns += [(np.append(others, neighbour), np.array([row])) for neighbour in neighbours]
    return columns


def _scores_in_one_spread(graph: sp.csr_matrix, columns: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Mass at each column's scored rows from its seed rows: one spread of many columns on the
    subgraph the labels reach, instead of one whole-library spread per column (and, per connected
    component of the graph, only of the columns scored there)."""

    def matrix(part: int) -> sp.csr_matrix:  # column j holds ones at columns[j][part]
        rows = [pair[part] for pair in columns]
        return sp.csr_matrix(
            (
                np.ones(sum(len(r) for r in rows), dtype=np.float32),
                (np.concatenate(rows), np.repeat(np.arange(len(columns)), [len(r) for r in rows])),
            ),
            shape=(graph.shape[0], len(columns)),
        )

    reach, mass = spread_within_reach(graph, matrix(0), wanted=matrix(1))
    out = []
    for j, (_, scored) in enumerate(columns):
        at, inside = positions_in(reach, scored)
        out.append(np.where(inside, mass[at, j], 0.0))
    return out


def equal_z_threshold(genuine: np.ndarray, impostor: np.ndarray, genuine_floor: float = 0.0) -> float:
    """exp of the point between the log-score medians at equal robust z (median, MAD) distance."""

    def robust(scores: np.ndarray) -> tuple[float, float]:
        logs = np.log(np.maximum(scores, 1e-12))
        median = float(np.median(logs))
        return median, 1.4826 * float(np.median(np.abs(logs - median))) + 1e-6

    mg, sg = robust(genuine)
    mi, si = robust(impostor)
    sg = max(sg, genuine_floor)
    return float(np.exp((mg * si + mi * sg) / (si + sg)))
