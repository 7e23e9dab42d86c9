"""The classifier artifact: NumPy serving gives the Keras model's probabilities, old artifacts still load."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from assets.core.learning.graph import l2_normalize
from assets.core.learning.model import FaceClassifier, fit_weights


def trained_classifier() -> tuple[FaceClassifier, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 16)).astype(np.float32)
    classes = np.repeat(np.arange(4), 10)
    features += 2.0 * np.eye(16, dtype=np.float32)[classes]
    classifier = FaceClassifier(
        weights=fit_weights(l2_normalize(features), classes, 4),
        persona_ids=[11, 12, 13, 14],
        unknown_threshold=0.1,
        labeled_face_ids=[f"f{i}" for i in range(40)],
        labeled_persona_ids=[11 + int(c) for c in classes],
    )
    return classifier, features


def test_served_probabilities_equal_the_keras_models(tmp_path):
    classifier, features = trained_classifier()
    loaded = FaceClassifier.from_bytes(classifier.to_bytes())
    with zipfile.ZipFile(io.BytesIO(classifier.to_bytes())) as archive:
        archive.extract("model.keras", tmp_path)
    import keras

    keras_model = keras.models.load_model(tmp_path / "model.keras")
    expected = np.asarray(keras_model(l2_normalize(features), training=False))
    np.testing.assert_allclose(loaded.score(features), expected, rtol=1e-4, atol=1e-6)
    assert loaded.score(features).argmax(axis=1).tolist() == np.repeat(np.arange(4), 10).tolist()


def test_an_artifact_without_plain_weights_still_loads_through_keras():
    classifier, features = trained_classifier()
    new = classifier.to_bytes()
    old = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(new)) as source, zipfile.ZipFile(old, "w") as target:
        for name in ("model.keras", "meta.json"):  # what versions before weights.npz wrote
            target.writestr(name, source.read(name))
    loaded = FaceClassifier.from_bytes(old.getvalue())
    np.testing.assert_allclose(loaded.score(features), classifier.score(features), rtol=1e-5, atol=1e-7)
    with zipfile.ZipFile(io.BytesIO(new)) as archive:
        assert json.loads(archive.read("meta.json"))["persona_ids"] == loaded.persona_ids
