"""The unknown threshold and the graph it reads, on synthetic clusters: labeled people are known."""

from __future__ import annotations

import numpy as np
import pytest

from assets.core.learning.graph import ITERATIONS, knn_graph, l2_normalize, spread, within_hops
from assets.core.learning.unknown_threshold import calibrate, equal_z_threshold


def calibrate_threshold(*args, **kwargs) -> tuple[float, dict]:
    calibration = calibrate(*args, **kwargs)
    return calibration.threshold, calibration.stats


def clusters(people: int, per_person: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 64))
    points = np.repeat(centres, per_person, axis=0) + 0.15 * rng.normal(size=(people * per_person, 64))
    return l2_normalize(points), np.repeat(np.arange(people), per_person)


def test_label_mass_reaches_labeled_people_and_not_unlabeled_ones():
    unit, person = clusters(people=8, per_person=12)
    labeled_people = np.arange(6)  # people 6 and 7 are never labeled
    rows = np.concatenate([np.flatnonzero(person == p)[:3] for p in labeled_people])
    graph = knn_graph(unit)
    threshold, stats = calibrate_threshold(graph, rows, person[rows])
    seeds = np.zeros(len(unit), dtype=bool)
    seeds[rows] = True
    score = spread(graph, seeds)  # how much label mass of any persona reaches each face
    unlabeled = ~seeds
    known_faces = unlabeled & np.isin(person, labeled_people)
    assert (score[known_faces] >= threshold).mean() >= 0.95
    assert (score[np.isin(person, [6, 7])] < threshold).mean() >= 0.95
    assert stats["genuine_kept"] >= 0.9 and stats["impostor_rejected"] >= 0.9


def test_graph_is_symmetric_without_self_loops():
    unit, _ = clusters(people=3, per_person=5)
    graph = knn_graph(unit, k=3)
    assert (abs(graph - graph.T) > 1e-6).nnz == 0
    assert graph.diagonal().max() == 0


def test_calibration_in_one_spread_equals_one_spread_per_hidden_set():
    unit, person = clusters(people=10, per_person=12, seed=1)
    rows = np.concatenate([np.flatnonzero(person == p)[:4] for p in range(3)])
    graph = knn_graph(unit)
    assert len(within_hops(graph, rows, ITERATIONS)) < len(unit) // 2  # the subgraph path is taken
    threshold, stats = calibrate_threshold(graph, rows, person[rows])

    def hidden_scores(hidden: np.ndarray) -> np.ndarray:  # the plain way: the whole graph per hidden set
        mask = np.zeros(len(unit), dtype=bool)
        mask[rows] = True
        mask[hidden] = False
        return spread(graph, mask)[hidden]

    genuine = []
    for repeat in range(3):
        folds = np.random.default_rng(repeat).permutation(len(rows)) % 5
        genuine += [hidden_scores(rows[folds == fold]) for fold in np.unique(folds)]
    impostor = [hidden_scores(rows[person[rows] == p]) for p in range(3)]
    expected = float(equal_z_threshold(np.concatenate(genuine), np.concatenate(impostor)) * np.exp(-0.1))
    assert threshold == pytest.approx(expected, rel=1e-4)
    assert stats["genuine_kept"] == pytest.approx(float((np.concatenate(genuine) >= expected).mean()))


def test_leave_one_out_posterior_equals_spreading_without_each_label(monkeypatch):
    import assets.core.learning.graph as graph_module
    from assets.core.learning.graph import CLASS_ITERATIONS, leave_one_out_posterior

    unit, person = clusters(people=5, per_person=10, seed=2)
    rows = np.concatenate([np.flatnonzero(person == p)[:3] for p in range(4)])
    graph = knn_graph(unit)
    monkeypatch.setattr(graph_module, "LOO_COLUMNS", 5)  # several batches, a ragged last one
    posterior = leave_one_out_posterior(graph, rows, person[rows], 4)
    for i, row in enumerate(rows):
        seeds = np.zeros((len(unit), 4), dtype=np.float32)
        others = np.delete(np.arange(len(rows)), i)
        seeds[rows[others], person[rows[others]]] = 1.0
        mass = spread(graph, seeds, CLASS_ITERATIONS)[row]
        np.testing.assert_allclose(posterior[i], mass / mass.sum(), rtol=1e-4, atol=1e-6)


def test_one_persona_calibration_keeps_its_held_out_labels_and_rejects_the_other_clusters():
    unit, person = clusters(people=6, per_person=12, seed=4)
    rows = np.flatnonzero(person == 0)[:3]
    graph = knn_graph(unit)
    threshold, stats = calibrate_threshold(graph, rows, np.zeros(3, dtype=np.int64))
    seeds = np.zeros(len(unit), dtype=bool)
    seeds[rows] = True
    score = spread(graph, seeds)
    own = np.setdiff1d(np.flatnonzero(person == 0), rows)
    assert (score[own] >= threshold).mean() >= 0.85
    assert (score[person != 0] < threshold).mean() >= 0.95
    assert stats["held_out_genuine"] == 9 and stats["calibration"].startswith("one persona")


def test_single_labels_get_a_genuine_estimate_from_their_neighbours():
    unit, person = clusters(people=6, per_person=12, seed=5)
    rows = np.array([np.flatnonzero(person == p)[0] for p in range(4)])
    graph = knn_graph(unit)
    threshold, stats = calibrate_threshold(graph, rows, person[rows])
    seeds = np.zeros(len(unit), dtype=bool)
    seeds[rows] = True
    score = spread(graph, seeds)
    known = np.isin(person, range(4)) & ~seeds
    assert "nearest faces stand in" in stats["calibration"] and stats["held_out_genuine"] == 0
    assert (score[known] >= threshold).mean() >= 0.9
    assert (score[np.isin(person, [4, 5])] < threshold).mean() >= 0.9


def lookalike_library(seed: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Eight people; person 7 looks like person 0 (a sibling): label mass of 0 leaks to 7's faces."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, 64))
    centres[7] = centres[0] + 0.15 * rng.normal(size=64)
    points = np.repeat(centres, 12, axis=0) + 0.15 * rng.normal(size=(96, 64))
    return l2_normalize(points), np.repeat(np.arange(8), 12)


def test_strangers_near_a_labeled_person_raise_the_threshold_and_far_ones_never_lower_it():
    unit, person = lookalike_library()
    rows = np.concatenate([np.flatnonzero(person == p)[:3] for p in range(6)])  # people 6 and 7 unlabeled
    graph = knn_graph(unit)
    seeds = np.zeros(len(unit), dtype=bool)
    seeds[rows] = True
    score = spread(graph, seeds)
    sibling = np.flatnonzero(person == 7)
    without, _ = calibrate_threshold(graph, rows, person[rows])
    # A person called the sibling's likeliest-looking faces strangers ("don't ask again").
    strangers = sibling[np.argsort(-score[sibling])][:4]
    near, stats = calibrate_threshold(graph, rows, person[rows], stranger_rows=strangers)
    assert near > without and "raised it" in stats["calibration"] and stats["strangers"] == 4
    assert stats["genuine_kept"] >= 0.9 - 1e-9  # never at the cost of more than 10% of the held-out labels
    assert (score[sibling] < near).sum() > (score[sibling] < without).sum()  # more of the sibling is unknown
    far, far_stats = calibrate_threshold(graph, rows, person[rows], stranger_rows=np.flatnonzero(person == 6)[:4])
    assert far >= without and "stranger" in far_stats["calibration"]
