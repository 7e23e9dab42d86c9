"""The open-set gate on synthetic clusters: labeled people are known, unlabeled clusters are not."""

from __future__ import annotations

import numpy as np

from assets.classifier.knownness import calibrate_threshold, knn_graph, knownness, l2_normalize


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
    score = knownness(graph, seeds)
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
