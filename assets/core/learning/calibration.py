"""The chance a shown name is right: raw scores mapped to a calibrated probability (pure NumPy/SciPy).

The product of experts (softmax x label spreading, predictions.py) reads ~100% for nearly every
face, strangers included: it is renormalized among the people the model knows. What a person
needs is "how likely is this name right", so two monotone maps are fitted at training time on
held-out labels, by isotonic regression (pool-adjacent-violators), and applied to every prediction:

- ``known``: is the face one of the labeled people at all? Fitted on the log label mass relative
  to the unknown threshold: genuine scores (hidden labels) against impostor scores (hidden
  personas, and faces a person called a stranger), weighted to count equally.
- ``right``: given that, is the top persona the right one? Fitted on the out-of-fold
  product-of-experts top probability of the held-out labels and whether it named them.

chance = known(mass) x right(top probability). Each pooled block is shrunk by half a pseudo-count
each way (24 correct answers read 98%, not 100%). A face the unknown threshold calls unknown
reads at most half its ``right``: "probably someone not named yet" is never shown above 50%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLIP = 3.0  # log units of mass either side of the threshold that still inform "known" (unreached: -25)
PSEUDO = 0.5
# Before a version has held-out scores (and for artifacts from before calibration): "known"
# rises linearly through 1/2 at the threshold, and the raw top probability stands.
DEFAULT_KNOWN = ((-1.0, 0.0, 1.0), (0.1, 0.5, 0.9))
DEFAULT_RIGHT = ((0.0, 1.0), (0.0, 1.0))


def pool_adjacent_violators(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, pseudo: float = PSEUDO
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted isotonic (non-decreasing) fit of 0/1 outcomes ``y`` on ``x``: knots for np.interp.

    Each pooled block's value is (weighted hits + pseudo) / (weight + 2 pseudo), at both of its
    edges (flat inside a block, linear between blocks); shrinking toward 1/2 can break the order
    of neighbouring blocks, so a running maximum restores it.
    """
    order = np.argsort(x, kind="stable")
    xs = np.asarray(x, dtype=np.float64)[order]
    ws = np.ones(len(xs)) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    hits = np.asarray(y, dtype=np.float64)[order] * ws
    blocks: list[list[float]] = []  # [hits, weight, low x, high x]
    for xi, hi, wi in zip(xs, hits, ws, strict=True):
        blocks.append([hi, wi, xi, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            h, w, _, high = blocks.pop()
            blocks[-1][0] += h
            blocks[-1][1] += w
            blocks[-1][3] = high
    table = np.array(blocks, dtype=np.float64).reshape(-1, 4)
    values = np.maximum.accumulate((table[:, 0] + pseudo) / (table[:, 1] + 2 * pseudo))
    return table[:, 2:].ravel(), np.repeat(values, 2)


def relative_mass(mass: np.ndarray, threshold: float) -> np.ndarray:
    """Log label mass above the unknown threshold, clipped to +-CLIP."""
    z = np.log(np.maximum(mass, 1e-12)) - np.log(max(threshold, 1e-12))
    return np.clip(z, -CLIP, CLIP)


@dataclass(frozen=True)
class ChanceCalibration:
    """The two fitted maps as interpolation knots, stored in the classifier artifact (``to_dict``)."""

    known_x: tuple[float, ...] = DEFAULT_KNOWN[0]  # relative mass -> chance the face is someone named
    known_y: tuple[float, ...] = DEFAULT_KNOWN[1]
    right_x: tuple[float, ...] = DEFAULT_RIGHT[0]  # top probability -> chance the top persona is right
    right_y: tuple[float, ...] = DEFAULT_RIGHT[1]
    method: str = "uncalibrated"

    def chance(self, top: np.ndarray, mass: np.ndarray, threshold: float, known: np.ndarray) -> np.ndarray:
        """Chance each face's named (or, if unknown, best-guess) persona is right."""
        right = np.interp(top, self.right_x, self.right_y)
        chance = np.interp(relative_mass(mass, threshold), self.known_x, self.known_y) * right
        return np.where(known, chance, np.minimum(chance, 0.5 * right))

    def to_dict(self) -> dict:
        return {
            "known_x": list(self.known_x),
            "known_y": list(self.known_y),
            "right_x": list(self.right_x),
            "right_y": list(self.right_y),
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> ChanceCalibration:
        if not data:
            return cls()
        knots = {key: tuple(float(v) for v in data[key]) for key in ("known_x", "known_y", "right_x", "right_y")}
        return cls(**knots, method=str(data.get("method", "")))


def fit_chance(
    genuine: np.ndarray, impostor: np.ndarray, threshold: float, top: np.ndarray, correct: np.ndarray
) -> ChanceCalibration:
    """Fit both maps on held-out scores: label mass of genuine and impostor stand-ins, and the
    out-of-fold top probability of held-out labels with whether it named them right."""
    known_x, known_y = DEFAULT_KNOWN
    notes = ["known: no genuine or impostor scores, a fixed ramp through 1/2 at the threshold"]
    if len(genuine) and len(impostor):
        feature = relative_mass(np.concatenate([genuine, impostor]), threshold)
        positive = np.arange(len(feature)) < len(genuine)
        weights = np.where(positive, 0.5 / len(genuine), 0.5 / len(impostor)) * len(feature)  # count equally
        known_x, known_y = pool_adjacent_violators(feature, positive, weights)
        notes = [f"known: isotonic on {len(genuine)} genuine / {len(impostor)} impostor scores"]
    right_x, right_y = DEFAULT_RIGHT
    notes.append("right: no held-out labels, the raw probability")
    if len(top):
        right_x, right_y = pool_adjacent_violators(top, correct)
        notes[-1] = f"right: isotonic on {len(top)} held-out labels"
    return ChanceCalibration(
        tuple(float(v) for v in known_x),
        tuple(float(v) for v in known_y),
        tuple(float(v) for v in right_x),
        tuple(float(v) for v in right_y),
        "; ".join(notes),
    )
