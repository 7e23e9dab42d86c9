"""The persona classifier: softmax regression in Keras on L2-normalized embeddings.

A single dense softmax layer is what the data supports (a handful of labels per persona); it
matches logistic regression on lfw10 and trains in about a second, on the GPU when TensorFlow
sees one. Unknown faces are told apart by the known-ness gate (knownness.py), not by softmax.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from assets.classifier.knownness import l2_normalize

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EPOCHS = 300
LEARNING_RATE = 0.05
L2_PENALTY = 1e-4
INPUT_SCALE = 10.0  # unit vectors have tiny components; scaling speeds up convergence


def compute_devices() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")] or ["CPU"]


def train_softmax(features: np.ndarray, classes: np.ndarray, num_classes: int, seed: int = 0):
    """A fitted Keras model mapping unit embeddings to persona probabilities."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(features.shape[1],)),
            keras.layers.Rescaling(INPUT_SCALE),
            keras.layers.Dense(
                num_classes,
                activation="softmax",
                kernel_regularizer=keras.regularizers.L2(L2_PENALTY),
            ),
        ]
    )
    counts = np.bincount(classes, minlength=num_classes).astype(np.float32)
    sample_weight = (len(classes) / (num_classes * counts[classes])).astype(np.float32)
    steps = max(50, min(EPOCHS, EPOCHS * 512 // max(len(features), 1)))
    batch = min(len(features), 8192)
    # Keras pays ~50 ms of Python per epoch; a repeated dataset run as one compiled call of
    # `steps` optimizer steps trains in a fraction of a second instead.
    import tensorflow as tf

    dataset = (
        tf.data.Dataset.from_tensor_slices((features, classes, sample_weight))
        .shuffle(len(features), seed=seed)
        .batch(batch)
        .repeat()
    )
    steps_per_epoch = -(-len(features) // batch)
    total = steps * steps_per_epoch
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        steps_per_execution=total,
    )
    model.fit(dataset, epochs=1, steps_per_epoch=total, verbose=0, shuffle=False)
    return model


def predict_proba(model, features: np.ndarray, batch: int = 65536) -> np.ndarray:
    out = [np.asarray(model(features[i : i + batch], training=False)) for i in range(0, len(features), batch)]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), dtype=np.float32)


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
        model = train_softmax(features[train_rows], classes[train_rows], num_classes)
        proba[rows[test_idx]] = predict_proba(model, features[rows[test_idx]])
    return proba[rows], rows


@dataclass
class FaceClassifier:
    """A trained classifier plus what predicting needs: class order and the open-set gate."""

    model: object
    persona_ids: list[int]
    knownness_threshold: float
    labeled_face_ids: list[str]
    labeled_persona_ids: list[int]
    min_confidence: float = 0.0
    info: dict = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w") as archive:
            path = os.path.join(tmp, "model.keras")
            self.model.save(path)
            archive.write(path, "model.keras")
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
        import keras

        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(tmp)
            model = keras.models.load_model(os.path.join(tmp, "model.keras"))
            meta = json.loads(archive.read("meta.json"))
        return cls(model=model, **meta)

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Persona probabilities (columns in ``persona_ids`` order) for raw embeddings."""
        return predict_proba(self.model, l2_normalize(embeddings))


__all__ = ["FaceClassifier", "compute_devices", "out_of_fold_proba", "train_softmax"]
