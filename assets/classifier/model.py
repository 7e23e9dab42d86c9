"""The persona classifier: softmax regression in Keras on L2-normalized embeddings.

A single dense softmax layer is what the data supports (a handful of labels per persona); it
matches logistic regression on lfw10 and trains in tens of milliseconds, on the GPU when
TensorFlow sees one. Unknown faces are told apart by the known-ness gate (knownness.py), not by softmax.
"""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from assets.classifier.knownness import l2_normalize

if TYPE_CHECKING:
    import keras

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EPOCHS = 300  # full-batch Adam steps
LEARNING_RATE = 0.05
L2_PENALTY = 1e-4
INPUT_SCALE = 10.0  # unit vectors have tiny components; scaling speeds up convergence


def compute_devices() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")] or ["CPU"]


def softmax_model(dim: int, num_classes: int, weights: list[np.ndarray] | None = None):
    """The Keras model that is versioned and served: rescale, then one dense softmax layer."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(dim,)),
            keras.layers.Rescaling(INPUT_SCALE),
            keras.layers.Dense(num_classes, activation="softmax"),
        ]
    )
    if weights is not None:
        model.set_weights(weights)
    return model


@functools.cache
def _full_batch_adam():
    """One TensorFlow graph for every training in this process.

    Keras ``fit`` re-traces its loop for each new model (seconds, per cross-validation fold);
    this loop is traced once for any (n, d, classes) and then trains in tens of milliseconds.
    """
    import tensorflow as tf

    spec = [
        tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.int32),
    ]

    @tf.function(input_signature=spec)
    def fit(x, y, w, num_classes, steps, seed):
        x = x * INPUT_SCALE
        kernel = tf.random.stateless_normal(tf.stack([tf.shape(x)[1], num_classes]), seed=tf.stack([seed, 0])) * 0.01
        bias = tf.zeros(tf.expand_dims(num_classes, 0))
        zeros = [tf.zeros_like(kernel), tf.zeros_like(bias)]
        beta1, beta2, eps = 0.9, 0.999, 1e-7

        def step(t, params, first, second):
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits = tf.matmul(x, params[0]) + params[1]
                loss = tf.reduce_sum(w * tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)) / tf.reduce_sum(w)
                loss += L2_PENALTY * tf.reduce_sum(tf.square(params[0]))
            grads = tape.gradient(loss, params)
            t1 = tf.cast(t + 1, tf.float32)
            first = [beta1 * m + (1 - beta1) * g for m, g in zip(first, grads, strict=True)]
            second = [beta2 * v + (1 - beta2) * g * g for v, g in zip(second, grads, strict=True)]
            rate = LEARNING_RATE * tf.sqrt(1 - beta2**t1) / (1 - beta1**t1)
            params = [p - rate * m / (tf.sqrt(v) + eps) for p, m, v in zip(params, first, second, strict=True)]
            return t + 1, params, first, second

        _, params, _, _ = tf.while_loop(
            lambda t, *_: t < steps, step, [tf.constant(0), [kernel, bias], zeros, list(zeros)]
        )
        return params

    return fit


def fit_weights(features: np.ndarray, classes: np.ndarray, num_classes: int, seed: int = 0) -> list[np.ndarray]:
    """Softmax regression by full-batch Adam with balanced class weights: [kernel, bias]."""
    counts = np.bincount(classes, minlength=num_classes).astype(np.float32)
    sample_weight = (len(classes) / (num_classes * counts[classes])).astype(np.float32)
    kernel, bias = _full_batch_adam()(
        features.astype(np.float32), classes.astype(np.int32), sample_weight, num_classes, EPOCHS, seed
    )
    return [kernel.numpy(), bias.numpy()]


def weights_proba(weights: list[np.ndarray], features: np.ndarray) -> np.ndarray:
    """The Keras model's forward pass (rescale, dense, softmax) in NumPy."""
    logits = (features * INPUT_SCALE) @ weights[0] + weights[1]
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def out_of_fold_proba(features: np.ndarray, classes: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out probabilities for every labeled face by stratified k-fold (k <= 5)."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(classes, minlength=num_classes)
    evaluable = counts[classes] >= 2  # a persona with one label cannot be held out and learned
    rows = np.flatnonzero(evaluable)
    proba = np.zeros((len(features), num_classes), dtype=np.float32)
    splits = int(min(5, counts[counts >= 2].min())) if rows.size else 0
    if splits < 2:
        return proba[:0], rows[:0]
    folds = StratifiedKFold(n_splits=splits, shuffle=True, random_state=0)
    for train_idx, test_idx in folds.split(features[rows], classes[rows]):
        train_rows = np.concatenate([rows[train_idx], np.flatnonzero(~evaluable)])
        weights = fit_weights(features[train_rows], classes[train_rows], num_classes)
        proba[rows[test_idx]] = weights_proba(weights, features[rows[test_idx]])
    return proba[rows], rows


@dataclass
class FaceClassifier:
    """A trained classifier plus what predicting needs: class order and the open-set gate.

    ``weights`` ([kernel, bias]) are the Keras model's parameters. The artifact keeps both the
    Keras model (``model.keras``, for anyone who loads it with Keras) and the same weights as
    plain arrays (``weights.npz``): serving a single dense layer is one matrix product, and
    scoring in NumPy spares the relabel run TensorFlow's import (~3 s, ~500 MB).
    """

    weights: list[np.ndarray]
    persona_ids: list[int]
    knownness_threshold: float
    labeled_face_ids: list[str]
    labeled_persona_ids: list[int]
    min_confidence: float = 0.0
    info: dict = field(default_factory=dict)

    def keras_model(self) -> keras.Sequential:
        """The served weights as the Keras model, for the artifact and anyone who uses Keras."""
        return softmax_model(self.weights[0].shape[0], len(self.persona_ids), self.weights)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w") as archive:
            path = os.path.join(tmp, "model.keras")
            self.keras_model().save(path)
            archive.write(path, "model.keras")
            arrays = io.BytesIO()
            np.savez(arrays, kernel=self.weights[0], bias=self.weights[1])
            archive.writestr("weights.npz", arrays.getvalue())
            meta = {
                "persona_ids": self.persona_ids,
                "knownness_threshold": self.knownness_threshold,
                "labeled_face_ids": self.labeled_face_ids,
                "labeled_persona_ids": self.labeled_persona_ids,
                "min_confidence": self.min_confidence,
                "info": self.info,
            }
            archive.writestr("meta.json", json.dumps(meta))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceClassifier:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read("meta.json"))
            if "weights.npz" in archive.namelist():
                with np.load(io.BytesIO(archive.read("weights.npz"))) as arrays:
                    weights = [arrays["kernel"], arrays["bias"]]
            else:  # an artifact written before weights.npz existed: read them through Keras
                weights = _keras_weights(archive.read("model.keras"))
        return cls(weights=weights, **meta)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Persona probabilities (columns in ``persona_ids`` order) for raw embeddings."""
        return weights_proba(self.weights, l2_normalize(embeddings))


def _keras_weights(model_bytes: bytes) -> list[np.ndarray]:
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as handle:
            handle.write(model_bytes)
        return [np.asarray(w) for w in keras.models.load_model(path).get_weights()]


__all__ = ["FaceClassifier", "compute_devices", "fit_weights", "out_of_fold_proba"]
