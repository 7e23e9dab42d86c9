"""The chance a shown name is right: isotonic maps fitted on held-out labels, kept in the artifact."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from assets.core.learning.calibration import ChanceCalibration, pool_adjacent_violators
from assets.core.learning.graph import knn_graph, l2_normalize
from assets.core.learning.model import FaceClassifier
from assets.core.learning.scoring import predict_faces
from assets.core.learning.training import train_classifier
from resources.state_store.records import FaceLabelState


def test_pool_adjacent_violators_equals_scipys_isotonic_regression():
    rng = np.random.default_rng(0)
    x = rng.random(200)
    y = (rng.random(200) < x).astype(float)
    weights = rng.uniform(0.5, 2.0, 200)
    knots_x, knots_y = pool_adjacent_violators(x, y, weights, pseudo=0.0)
    order = np.argsort(x, kind="stable")
    expected = isotonic_regression(y[order], weights=weights[order]).x
    np.testing.assert_allclose(np.interp(x[order], knots_x, knots_y), expected, atol=1e-9)
    assert np.all(np.diff(knots_y) >= 0)


def test_pseudo_counts_keep_a_perfect_record_below_certainty():
    _, values = pool_adjacent_violators(np.linspace(0.9, 1.0, 24), np.ones(24))
    assert values.max() == pytest.approx(24.5 / 25)


def library(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(9, 32))
    points = np.repeat(centres, 15, axis=0) + 0.25 * rng.normal(size=(135, 32))
    return points.astype(np.float32), np.repeat(np.arange(9), 15)


def test_predictions_store_a_chance_that_is_low_for_people_nobody_named_and_high_for_named_ones():
    points, person = library()
    face_ids = [f"img{i:04d}:0" for i in range(len(points))]
    rows = np.concatenate([np.flatnonzero(person == p)[:4] for p in range(6)])  # people 6-8 never named
    states = {face_ids[r]: FaceLabelState(100 + int(person[r])) for r in rows}
    graph = knn_graph(l2_normalize(points))
    result = train_classifier(face_ids, points, graph, states, {}, "synthetic", watermark=len(rows))
    classifier = FaceClassifier.from_bytes(result.classifier.to_bytes())
    assert classifier.calibration == result.classifier.calibration
    assert "isotonic" in result.metrics["chance_calibration"]
    by_face = {p.face_id: p for p in predict_faces(classifier, 1, face_ids, points, states, graph)}
    nobody = [by_face[f] for i, f in enumerate(face_ids) if person[i] >= 6]
    named = [(by_face[f], 100 + person[i]) for i, f in enumerate(face_ids) if person[i] < 6 and f in by_face]
    raw = classifier.score(points[person >= 6]).max(axis=1)
    assert raw.mean() > 0.6  # the softmax alone would name them
    assert all(p.confidence < 0.5 for p in nobody if p.persona_id is None)
    assert np.mean([p.confidence for p in nobody]) < 0.2
    right = np.mean([p.candidate_persona_id == truth for p, truth in named])
    assert np.mean([p.confidence for p, _ in named]) == pytest.approx(right, abs=0.1)


def test_an_artifact_from_before_calibration_loads_with_the_uncalibrated_maps():
    classifier = FaceClassifier(
        weights=[np.zeros((4, 2), np.float32), np.zeros(2, np.float32)],
        persona_ids=[1, 2],
        unknown_threshold=0.1,
        labeled_face_ids=["a:0", "b:0"],
        labeled_persona_ids=[1, 2],
        calibration=ChanceCalibration(right_x=(0.5, 1.0), right_y=(0.2, 0.9), method="fitted"),
    )
    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(classifier.to_bytes())) as source, zipfile.ZipFile(old, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "meta.json":
                meta = json.loads(data)
                del meta["calibration"]
                data = json.dumps(meta).encode()
            target.writestr(name, data)
    assert FaceClassifier.from_bytes(classifier.to_bytes()).calibration == classifier.calibration
    loaded = FaceClassifier.from_bytes(old.getvalue())
    assert loaded.calibration == ChanceCalibration()
    chance = loaded.chance(np.array([0.9, 0.9]), np.array([1.0, 0.001]), np.array([True, False]))
    assert chance[0] > 0.5 > chance[1]
