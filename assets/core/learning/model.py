"""The persona classifier: softmax regression on L2-normalized embeddings.

A single dense softmax layer is what the data supports (a handful of labels per persona); it
matches logistic regression on lfw10. Unknown faces are told apart by the unknown threshold
(unknown_threshold.py), not by softmax.

One model, one loss, one optimizer, two engines. Full-batch Adam runs in NumPy by default: a
retrain of a few hundred labels takes milliseconds there, while importing TensorFlow costs a fresh
run process ~3 s and ~500 MB (bench.label_latency, ARCHITECTURE.md). ``FACELOOP_TRAINER=tensorflow``
runs the same steps in one TensorFlow graph (on the GPU when TensorFlow sees one); both start from
the same initial weights and agree to float32 round-off (tests/assets/test_classifier_model.py).
"""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from assets.core.learning.calibration import ChanceCalibration
from assets.core.learning.graph import l2_normalize

if TYPE_CHECKING:
    import keras

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EPOCHS = 300  # full-batch Adam steps
LEARNING_RATE = 0.05
L2_PENALTY = 1e-4
INPUT_SCALE = 10.0  # unit vectors have tiny components; scaling speeds up convergence
ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-7  # Keras' Adam defaults
TRAINERS = ("numpy", "tensorflow")


def trainer() -> str:
    """The engine that fits the weights: ``FACELOOP_TRAINER``, default ``numpy``."""
    name = os.environ.get("FACELOOP_TRAINER", "numpy").strip().lower() or "numpy"
    if name not in TRAINERS:
        raise ValueError(f"FACELOOP_TRAINER={name!r}: expected one of {', '.join(TRAINERS)}")
    return name


def compute_devices() -> list[str]:
    """Where training runs, for the version's metadata (imports TensorFlow only when it trains)."""
    if trainer() == "numpy":
        return ["CPU (NumPy)"]
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")] or ["CPU"]


def softmax_model(dim: int, num_classes: int, weights: list[np.ndarray] | None = None):
    """The model as Keras layers: rescale, then one dense softmax layer (``weights_proba`` in NumPy)."""
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


def initial_weights(dim: int, num_classes: int, seed: int) -> list[np.ndarray]:
    """Small random kernel, zero bias: the one starting point of both engines."""
    kernel = np.random.default_rng(seed).standard_normal((dim, num_classes), dtype=np.float32) * 0.01
    return [kernel, np.zeros(num_classes, dtype=np.float32)]


def balanced_sample_weights(classes: np.ndarray, num_classes: int) -> np.ndarray:
    counts = np.bincount(classes, minlength=num_classes).astype(np.float32)
    return (len(classes) / (num_classes * counts[classes])).astype(np.float32)


def fit_weights(features: np.ndarray, classes: np.ndarray, num_classes: int, seed: int = 0) -> list[np.ndarray]:
    """Softmax regression by full-batch Adam with balanced class weights: [kernel, bias]."""
    x = np.ascontiguousarray(features, dtype=np.float32)
    y = np.asarray(classes, dtype=np.int32)
    sample_weight = balanced_sample_weights(y, num_classes)
    start = initial_weights(x.shape[1], num_classes, seed)
    if trainer() == "tensorflow":
        return _adam_tensorflow(x, y, sample_weight, start, EPOCHS)
    # A few hundred labels make tiny matrices: BLAS threads cost more than they save, and on a
    # busy machine their spin-waits made one fit 0.13 s -> 5 s (same weights; ARCHITECTURE.md).
    from threadpoolctl import threadpool_limits  # 30 ms: imported by a fit, not by every definitions load

    with threadpool_limits(1, user_api="blas"):
        return _adam_numpy(x, y, sample_weight, start, EPOCHS)


def _adam_numpy(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, start: list[np.ndarray], steps: int
) -> list[np.ndarray]:
    """Mean weighted cross-entropy + L2 on the kernel, minimized by Adam; gradients by hand."""
    x = x * np.float32(INPUT_SCALE)
    # d(loss)/d(logits) = w * (softmax - onehot) / sum(w): the onehot part is fixed.
    scale = (sample_weight / sample_weight.sum())[:, None].astype(np.float32)
    onehot = np.zeros((len(y), start[1].shape[0]), dtype=np.float32)
    onehot[np.arange(len(y)), y] = 1.0
    params = [p.copy() for p in start]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        logits = x @ params[0] + params[1]
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        delta = scale * (proba - onehot)
        grads = [x.T @ delta + np.float32(2 * L2_PENALTY) * params[0], delta.sum(axis=0)]
        rate = np.float32(LEARNING_RATE * np.sqrt(1 - ADAM_BETA2**t) / (1 - ADAM_BETA1**t))
        for p, m, v, g in zip(params, first, second, grads, strict=True):
            m *= ADAM_BETA1
            m += (1 - ADAM_BETA1) * g
            v *= ADAM_BETA2
            v += (1 - ADAM_BETA2) * g * g
            p -= rate * m / (np.sqrt(v) + ADAM_EPSILON)
    return params


def _adam_tensorflow(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, start: list[np.ndarray], steps: int
) -> list[np.ndarray]:
    kernel, bias = _tensorflow_graph()(x, y, sample_weight, start[0], start[1], steps)
    return [kernel.numpy(), bias.numpy()]


@functools.cache
def _tensorflow_graph():
    """The same Adam steps in one TensorFlow graph, traced once per process for any shape."""
    import tensorflow as tf

    spec = [
        tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([], tf.int32),
    ]

    @tf.function(input_signature=spec)
    def fit(x, y, w, kernel, bias, steps):
        x = x * INPUT_SCALE
        zeros = [tf.zeros_like(kernel), tf.zeros_like(bias)]

        def step(t, params, first, second):
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits = tf.matmul(x, params[0]) + params[1]
                loss = tf.reduce_sum(w * tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)) / tf.reduce_sum(w)
                loss += L2_PENALTY * tf.reduce_sum(tf.square(params[0]))
            grads = tape.gradient(loss, params)
            t1 = tf.cast(t + 1, tf.float32)
            first = [ADAM_BETA1 * m + (1 - ADAM_BETA1) * g for m, g in zip(first, grads, strict=True)]
            second = [ADAM_BETA2 * v + (1 - ADAM_BETA2) * g * g for v, g in zip(second, grads, strict=True)]
            rate = LEARNING_RATE * tf.sqrt(1 - ADAM_BETA2**t1) / (1 - ADAM_BETA1**t1)
            params = [p - rate * m / (tf.sqrt(v) + ADAM_EPSILON) for p, m, v in zip(params, first, second, strict=True)]
            return t + 1, params, first, second

        _, params, _, _ = tf.while_loop(
            lambda t, *_: t < steps, step, [tf.constant(0), [kernel, bias], zeros, list(zeros)]
        )
        return params

    return fit


def weights_proba(weights: list[np.ndarray], features: np.ndarray) -> np.ndarray:
    """The model's forward pass (rescale, dense, softmax) in NumPy."""
    logits = (features * INPUT_SCALE) @ weights[0] + weights[1]
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def stratified_folds(classes: np.ndarray, splits: int, seed: int = 0) -> np.ndarray:
    """The test fold of each row, exactly as ``StratifiedKFold(splits, shuffle=True, random_state=seed)``.

    scikit-learn's algorithm in a dozen lines of NumPy: importing ``sklearn.model_selection``
    costs a fresh retrain process ~0.8 s; the test checks the folds are sklearn's own.
    """
    _, first_seen, inverse = np.unique(classes, return_index=True, return_inverse=True)
    _, class_order = np.unique(first_seen, return_inverse=True)
    encoded = class_order[inverse]  # classes numbered by first appearance, as sklearn does
    ordered = np.sort(encoded)
    num_classes = len(first_seen)
    allocation = np.asarray([np.bincount(ordered[i::splits], minlength=num_classes) for i in range(splits)])
    rng = np.random.RandomState(seed)
    folds = np.empty(len(classes), dtype=np.int64)
    for k in range(num_classes):
        of_class = np.arange(splits).repeat(allocation[:, k])
        rng.shuffle(of_class)
        folds[encoded == k] = of_class
    return folds


def out_of_fold_proba(features: np.ndarray, classes: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out probabilities for every labeled face by stratified k-fold (k <= 5)."""
    counts = np.bincount(classes, minlength=num_classes)
    evaluable = counts[classes] >= 2  # a persona with one label cannot be held out and learned
    rows = np.flatnonzero(evaluable)
    proba = np.zeros((len(features), num_classes), dtype=np.float32)
    splits = int(min(5, counts[counts >= 2].min())) if rows.size else 0
    if splits < 2:
        return proba[:0], rows[:0]
    folds = stratified_folds(classes[rows], splits)
    for fold in range(splits):
        test_rows = rows[folds == fold]
        train_rows = np.concatenate([rows[folds != fold], np.flatnonzero(~evaluable)])
        weights = fit_weights(features[train_rows], classes[train_rows], num_classes)
        proba[test_rows] = weights_proba(weights, features[test_rows])
    return proba[rows], rows


@dataclass
class FaceClassifier:
    """A trained classifier plus what predicting needs: class order and the unknown threshold.

    ``weights`` ([kernel, bias]) are the softmax layer's parameters. The artifact keeps them as
    plain arrays (``weights.npz``, what serving reads: one matrix product, no TensorFlow) and as
    a Keras model file (``model.keras``, for anyone who loads it with Keras), which is written
    from the same arrays without importing Keras (``keras_file_bytes``).
    """

    weights: list[np.ndarray]
    persona_ids: list[int]
    unknown_threshold: float
    labeled_face_ids: list[str]
    labeled_persona_ids: list[int]
    min_confidence: float = 0.0
    info: dict = field(default_factory=dict)
    # Raw scores -> the chance the name is right; an artifact from before it reads as uncalibrated
    # (a fixed rise of "known" through 1/2 at the unknown threshold, the raw top probability).
    calibration: ChanceCalibration = field(default_factory=ChanceCalibration)

    def keras_model(self) -> keras.Sequential:
        """The served weights as the Keras model, for anyone who uses Keras."""
        return softmax_model(self.weights[0].shape[0], len(self.persona_ids), self.weights)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("model.keras", keras_file_bytes(self.weights))
            arrays = io.BytesIO()
            np.savez(arrays, kernel=self.weights[0], bias=self.weights[1])
            archive.writestr("weights.npz", arrays.getvalue())
            meta = {
                "persona_ids": self.persona_ids,
                "unknown_threshold": self.unknown_threshold,
                "labeled_face_ids": self.labeled_face_ids,
                "labeled_persona_ids": self.labeled_persona_ids,
                "min_confidence": self.min_confidence,
                "info": self.info,
                "calibration": self.calibration.to_dict(),
            }
            archive.writestr("meta.json", json.dumps(meta))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FaceClassifier:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read("meta.json"))
            meta["calibration"] = ChanceCalibration.from_dict(meta.get("calibration"))
            if "knownness_threshold" in meta:  # an artifact written before the field's rename
                meta["unknown_threshold"] = meta.pop("knownness_threshold")
            if "weights.npz" in archive.namelist():
                with np.load(io.BytesIO(archive.read("weights.npz"))) as arrays:
                    weights = [arrays["kernel"], arrays["bias"]]
            else:  # an artifact written before weights.npz existed: read them through Keras
                weights = _keras_weights(archive.read("model.keras"))
        return cls(weights=weights, **meta)

    def chance(self, top: np.ndarray, mass: np.ndarray, known: np.ndarray) -> np.ndarray:
        """The chance each face's persona is right, from its top persona probability and the label
        mass that reaches it (calibration.py)."""
        return self.calibration.chance(top, mass, self.unknown_threshold, known)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Persona probabilities (columns in ``persona_ids`` order) for raw embeddings."""
        return weights_proba(self.weights, l2_normalize(embeddings))


KERAS_VERSION = "3.15.1"  # the Keras the file format below was taken from (pyproject.toml pins it)


def _keras_config(dim: int, num_classes: int) -> dict:
    """``softmax_model``'s architecture as a Keras 3 ``.keras`` config (unset fields take defaults)."""

    def layer(class_name: str, **config) -> dict:
        return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}

    layers = [
        layer("InputLayer", batch_shape=[None, dim], dtype="float32", name="input_layer"),
        layer("Rescaling", name="rescaling", scale=INPUT_SCALE, offset=0.0),
        layer("Dense", name="dense", units=num_classes, activation="softmax", use_bias=True),
    ]
    for built in layers[1:]:
        built["build_config"] = {"input_shape": [None, dim]}
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers, "build_input_shape": [None, dim]},
        "registered_name": None,
        "build_config": {"input_shape": [None, dim]},
        "compile_config": {},
    }


def keras_file_bytes(weights: list[np.ndarray]) -> bytes:
    """``softmax_model(...).save()``'s ``.keras`` file, written with h5py instead of Keras.

    Saving through Keras imports TensorFlow (~3 s per run process) for a file nobody in the
    pipeline reads; the test loads this file with ``keras.models.load_model``.
    """
    import h5py

    kernel, bias = (np.asarray(w, dtype=np.float32) for w in weights)
    h5 = io.BytesIO()
    with h5py.File(h5, "w") as file:
        dense = file.create_group("layers/dense/vars")
        dense.attrs["name"] = "dense"
        dense.create_dataset("0", data=kernel)
        dense.create_dataset("1", data=bias)
        file.create_group("layers/rescaling/vars").attrs["name"] = "rescaling"
        file.create_group("vars").attrs["name"] = "sequential"
    saved = time.strftime("%Y-%m-%d@%H:%M:%S")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": KERAS_VERSION, "date_saved": saved}))
        archive.writestr("config.json", json.dumps(_keras_config(kernel.shape[0], kernel.shape[1])))
        archive.writestr("model.weights.h5", h5.getvalue())
    return out.getvalue()


def _keras_weights(model_bytes: bytes) -> list[np.ndarray]:
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as handle:
            handle.write(model_bytes)
        return [np.asarray(w) for w in keras.models.load_model(path).get_weights()]


__all__ = ["FaceClassifier", "compute_devices", "fit_weights", "out_of_fold_proba", "weights_proba"]
