"""One softmax model, two training engines: NumPy (default, no TensorFlow) and TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from assets.core.learning.graph import l2_normalize
from assets.core.learning.model import FaceClassifier, fit_weights, trainer, weights_proba


def labeled_clusters(seed: int = 0, people: int = 6, per_person: int = 4, dim: int = 32):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim))
    classes = np.repeat(np.arange(people), per_person)
    features = centres[classes] + 0.8 * rng.normal(size=(len(classes), dim))
    return l2_normalize(features.astype(np.float32)), classes


def test_numpy_and_tensorflow_engines_fit_the_same_weights(monkeypatch):
    features, classes = labeled_clusters()
    monkeypatch.setenv("FACELOOP_TRAINER", "numpy")
    by_numpy = fit_weights(features, classes, 6, seed=3)
    monkeypatch.setenv("FACELOOP_TRAINER", "tensorflow")
    by_tensorflow = fit_weights(features, classes, 6, seed=3)
    for ours, theirs in zip(by_numpy, by_tensorflow, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    probe, _ = labeled_clusters(seed=1)
    np.testing.assert_allclose(weights_proba(by_numpy, probe), weights_proba(by_tensorflow, probe), atol=1e-4)


def test_numpy_engine_learns_the_training_labels_and_is_deterministic(monkeypatch):
    monkeypatch.setenv("FACELOOP_TRAINER", "numpy")
    features, classes = labeled_clusters()
    weights = fit_weights(features, classes, 6)
    assert weights_proba(weights, features).argmax(axis=1).tolist() == classes.tolist()
    again = fit_weights(features, classes, 6)
    assert all(np.array_equal(a, b) for a, b in zip(weights, again, strict=True))


def test_an_unknown_trainer_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("FACELOOP_TRAINER", "torch")
    with pytest.raises(ValueError, match="FACELOOP_TRAINER='torch'"):
        trainer()


def test_training_evaluating_and_storing_a_version_imports_neither_tensorflow_nor_sklearn():
    """A CPU retrain run pays no TensorFlow (~3 s) or scikit-learn (~0.8 s) import."""
    script = """
import sys
import numpy as np
from assets.core.learning.metrics import held_out_metrics
from assets.core.learning.model import FaceClassifier, compute_devices, fit_weights, out_of_fold_proba
rng = np.random.default_rng(0)
x = rng.normal(size=(30, 8)).astype(np.float32)
y = np.repeat(np.arange(3), 10)
proba, rows = out_of_fold_proba(x, y, 3)
held_out_metrics(y[rows], proba, ["a", "b", "c"])
blob = FaceClassifier(fit_weights(x, y, 3), [1, 2, 3], 0.1, [], []).to_bytes()
FaceClassifier.from_bytes(blob).score(x)
compute_devices()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "sklearn")))
"""
    env = {"PATH": "/usr/bin:/bin", "FACELOOP_TRAINER": "numpy", "PYTHONPATH": "."}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_keras_file_in_the_artifact_holds_the_served_weights(tmp_path):
    import io
    import zipfile

    import keras

    features, classes = labeled_clusters()
    classifier = FaceClassifier(fit_weights(features, classes, 6), list(range(6)), 0.1, [], [])
    with zipfile.ZipFile(io.BytesIO(classifier.to_bytes())) as archive:
        archive.extract("model.keras", tmp_path)
    model = keras.models.load_model(tmp_path / "model.keras")
    for loaded, served in zip(model.get_weights(), classifier.weights, strict=True):
        np.testing.assert_array_equal(loaded, served)


@pytest.mark.parametrize("splits", [2, 3, 5])
def test_stratified_folds_are_scikit_learns(splits):
    from sklearn.model_selection import StratifiedKFold

    from assets.core.learning.model import stratified_folds

    rng = np.random.default_rng(splits)
    classes = rng.permutation(np.repeat(np.arange(7), rng.integers(splits, 12, size=7)))
    expected = np.empty(len(classes), dtype=int)
    for fold, (_, test) in enumerate(StratifiedKFold(splits, shuffle=True, random_state=0).split(classes, classes)):
        expected[test] = fold
    assert stratified_folds(classes, splits).tolist() == expected.tolist()
