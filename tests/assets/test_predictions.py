"""Relabeling: the chunked, reach-limited scoring gives exactly what the plain dense formula gives."""

from __future__ import annotations

import numpy as np
import pytest

import assets.core.learning.scoring as scoring_module
from assets.core.learning.graph import (
    CLASS_ITERATIONS,
    ITERATIONS,
    knn_graph,
    l2_normalize,
    spread,
    spread_within_reach,
    within_hops,
)
from assets.core.learning.model import FaceClassifier, fit_weights
from assets.core.learning.scoring import predict_faces
from resources.state_store.records import FaceLabelState


def library(people: int = 9, per_person: int = 15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 32))
    points = np.repeat(centres, per_person, axis=0) + 0.2 * rng.normal(size=(people * per_person, 32))
    return points.astype(np.float32), np.repeat(np.arange(people), per_person)


def dense_reference(classifier, face_ids, embeddings, states, graph) -> dict[str, tuple]:
    """The product of experts written the obvious way: whole (faces x personas) matrices, then the
    classifier's chance that the name is right."""
    column = {persona: i for i, persona in enumerate(classifier.persona_ids)}
    row_of = {face_id: row for row, face_id in enumerate(face_ids)}
    seeds = np.zeros((len(face_ids), len(column)), dtype=np.float32)
    for face_id, persona in zip(classifier.labeled_face_ids, classifier.labeled_persona_ids, strict=True):
        seeds[row_of[face_id], column[persona]] = 1.0
    known = spread(graph, seeds.any(axis=1))
    mass = spread(graph, seeds, iterations=CLASS_ITERATIONS)
    neighbourhood = mass / np.maximum(mass.sum(axis=1), 1e-12)[:, None]
    combined = classifier.score(embeddings) * np.maximum(neighbourhood, 1e-6)
    for face_id, state in states.items():
        combined[row_of[face_id], [column[p] for p in state.rejected if p in column]] = 0.0
    combined /= np.maximum(combined.sum(axis=1, keepdims=True), 1e-12)
    best = combined.argmax(axis=1)
    out = {}
    for row, face_id in enumerate(face_ids):
        if states.get(face_id, FaceLabelState(None)).persona_id is not None:
            continue
        confidence = float(combined[row, best[row]])
        persona = classifier.persona_ids[best[row]]
        is_known = known[row] >= classifier.unknown_threshold and confidence > classifier.min_confidence
        chance = classifier.chance(np.array([confidence]), np.array([known[row]]), np.array([is_known]))[0]
        out[face_id] = (persona if is_known else None, round(float(chance), 4), persona)
    return out


@pytest.fixture
def labeled_library():
    points, person = library()
    face_ids = [f"img{i:04d}:0" for i in range(len(points))]
    labeled_people = [0, 1, 2]  # people 3 to 8 are never labeled
    rows = np.concatenate([np.flatnonzero(person == p)[:3] for p in labeled_people])
    classes = person[rows]
    classifier = FaceClassifier(
        weights=fit_weights(l2_normalize(points[rows]), classes, len(labeled_people)),
        persona_ids=[100 + p for p in labeled_people],
        unknown_threshold=0.02,
        labeled_face_ids=[face_ids[r] for r in rows],
        labeled_persona_ids=[100 + int(c) for c in classes],
    )
    states = {face_ids[r]: FaceLabelState(100 + int(person[r])) for r in rows}
    some_face_of_person_1 = face_ids[np.flatnonzero(person == 1)[5]]
    states[some_face_of_person_1] = FaceLabelState(None, frozenset({101}))  # "not person 1"
    return classifier, face_ids, points, states, person


def test_chunked_relabel_matches_the_dense_formula(labeled_library, monkeypatch):
    classifier, face_ids, points, states, _ = labeled_library
    graph = knn_graph(l2_normalize(points))
    labeled_rows = [face_ids.index(f) for f in classifier.labeled_face_ids]
    assert len(within_hops(graph, labeled_rows, ITERATIONS)) < len(face_ids) // 2  # the subgraph path is taken
    monkeypatch.setattr(scoring_module, "BATCH", 7)  # many batches, and a ragged last one
    columns = predict_faces(classifier, 3, face_ids, points, states, graph)
    got = {p.face_id: (p.persona_id, p.confidence, p.candidate_persona_id) for p in columns}
    expected = dense_reference(classifier, face_ids, points, states, graph)
    assert got.keys() == expected.keys()
    for face_id, (persona, confidence, candidate) in expected.items():
        assert got[face_id][0] == persona and got[face_id][2] == candidate, face_id
        assert got[face_id][1] == pytest.approx(confidence, abs=2e-4), face_id
    assert {p.model_version for p in columns} == {3}


def test_relabel_names_labeled_people_respects_rejections_and_leaves_strangers_unknown(labeled_library):
    classifier, face_ids, points, states, person = labeled_library
    columns = predict_faces(classifier, 1, face_ids, points, states)
    by_face = {p.face_id: p for p in columns}
    assert not any(face_id in by_face for face_id, s in states.items() if s.persona_id is not None)
    rejected = next(f for f, s in states.items() if s.rejected)
    assert by_face[rejected].candidate_persona_id != 101
    known_people = [p for p in columns if person[face_ids.index(p.face_id)] < 3]
    strangers = [p for p in columns if person[face_ids.index(p.face_id)] >= 3]
    assert np.mean([p.persona_id == 100 + person[face_ids.index(p.face_id)] for p in known_people]) >= 0.95
    assert np.mean([p.persona_id is None for p in strangers]) >= 0.9


def test_spreading_within_reach_equals_spreading_everywhere():
    points, person = library(people=12, per_person=10, seed=3)
    graph = knn_graph(l2_normalize(points))
    seeds = np.zeros((len(points), 3), dtype=np.float32)
    for column, p in enumerate([0, 4, 7]):
        seeds[np.flatnonzero(person == p)[:2], column] = 1.0
    import scipy.sparse as sp

    rows, mass = spread_within_reach(graph, sp.csr_matrix(seeds), CLASS_ITERATIONS)
    full = spread(graph, seeds, CLASS_ITERATIONS)
    assert len(rows) < len(points)  # the shortcut was taken
    np.testing.assert_allclose(mass, full[rows], rtol=1e-5, atol=1e-7)
    outside = np.setdiff1d(np.arange(len(points)), rows)
    assert not full[outside].any()


def test_spreading_per_component_gives_exactly_the_whole_library_spread():
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    points, person = library(people=12, per_person=10, seed=4)
    graph = knn_graph(l2_normalize(points))
    assert connected_components(graph, directed=False)[0] > 3  # several islands to split the work over
    seeds = np.zeros((len(points), 4), dtype=np.float32)
    for column, people in enumerate([[0, 5], [1], [2, 5, 9], [11]]):  # columns seeded in several islands
        for p in people:
            seeds[np.flatnonzero(person == p)[:2], column] = 1.0
    wanted = np.zeros_like(seeds, dtype=bool)
    wanted[np.flatnonzero(person == 5), 0] = True  # column 0 read only in person 5's island
    wanted[:, 1:] = True
    full = spread(graph, seeds, ITERATIONS)
    rows, mass = spread_within_reach(graph, sp.csr_matrix(seeds), ITERATIONS, wanted=sp.csr_matrix(wanted))
    at = np.full(len(points), -1)
    at[rows] = np.arange(len(rows))
    inside = wanted & (at >= 0)[:, None]
    assert np.array_equal(mass[at[np.nonzero(inside)[0]], np.nonzero(inside)[1]], full[inside])  # bit for bit
    assert not full[wanted & (at < 0)[:, None]].any()  # nothing wanted lies outside the reach
    assert not mass[:, 0][person[rows] == 0].any()  # column 0 was not spread where nobody reads it

    nobody = spread_within_reach(graph, sp.csr_matrix(seeds.shape, dtype=np.float32), ITERATIONS)
    assert len(nobody[0]) == 0 and nobody[1].shape == (0, 4)  # no label yet: no mass anywhere
    empty = spread_within_reach(sp.csr_matrix((0, 0), dtype=np.float32), sp.csr_matrix((0, 4), dtype=np.float32))
    assert empty[1].shape == (0, 4)  # an empty library


def test_two_faces_of_one_photo_never_get_the_same_persona():
    from assets.core.learning.scoring import assign_per_photo

    # Photo 0: both faces look most like persona 0; the likelier keeps it, the other takes its next
    # persona. Photo 1: the second face has no plausible second persona, so it becomes unknown.
    scores = {
        0: np.array([0.9, 0.08, 0.02]),
        1: np.array([0.6, 0.35, 0.05]),
        2: np.array([0.93, 0.04, 0.03]),
        3: np.array([0.97, 0.02, 0.01]),
    }
    photos = np.array([0, 0, 1, 1])
    best, confidence = np.zeros(4, dtype=np.int64), np.array([0.9, 0.6, 0.93, 0.97], dtype=np.float32)
    known = np.ones(4, dtype=bool)
    assign_per_photo(photos, scores, {}, best, confidence, known)
    assert best[:2].tolist() == [0, 1] and confidence[1] == pytest.approx(0.35)
    assert known.tolist() == [True, True, False, True] and best[3] == 0


def test_a_persona_a_person_gave_a_face_in_the_photo_is_not_predicted_for_another_there():
    from assets.core.learning.scoring import assign_per_photo

    best, confidence, known = np.zeros(1, dtype=np.int64), np.array([0.8], dtype=np.float32), np.ones(1, dtype=bool)
    assign_per_photo(np.array([0]), {0: np.array([0.8, 0.15, 0.05])}, {0: [0]}, best, confidence, known)
    assert best[0] == 1 and known[0]


def test_hand_labels_may_name_one_person_twice_in_a_photo(labeled_library):
    """A mirror: two faces of one photo labeled as one persona by hand. Both stay labeled; a third
    face there, of the same person, is not predicted as that persona (a person already gave it)."""
    classifier, face_ids, points, states, person = labeled_library
    labeled = [f for f in classifier.labeled_face_ids if person[face_ids.index(f)] == 0][:2]
    unlabeled = next(f for i, f in enumerate(face_ids) if person[i] == 0 and f not in states)
    renamed = {labeled[0]: "mirror:0", labeled[1]: "mirror:1", unlabeled: "mirror:2"}
    before = {p.face_id: p.persona_id for p in predict_faces(classifier, 1, face_ids, points, states)}
    assert before[unlabeled] == 100  # alone in its photo, the face is named persona 100
    face_ids = [renamed.get(f, f) for f in face_ids]
    states = {renamed.get(f, f): s for f, s in states.items()}
    classifier.labeled_face_ids = [renamed.get(f, f) for f in classifier.labeled_face_ids]

    columns = {p.face_id: p for p in predict_faces(classifier, 1, face_ids, points, states)}

    assert "mirror:0" not in columns and "mirror:1" not in columns
    assert states["mirror:0"].persona_id == states["mirror:1"].persona_id == 100
    assert columns["mirror:2"].persona_id != 100
    assert all(p.persona_id == before[f] for f, p in columns.items() if not f.startswith("mirror"))


def test_a_face_whose_persona_a_person_gave_another_face_there_is_unknown_without_a_plausible_second():
    from assets.core.learning.scoring import assign_per_photo

    best, confidence, known = np.zeros(1, dtype=np.int64), np.array([0.98], dtype=np.float32), np.ones(1, dtype=bool)
    assign_per_photo(np.array([0]), {0: np.array([0.98, 0.015, 0.005])}, {0: [0]}, best, confidence, known)
    assert not known[0]
