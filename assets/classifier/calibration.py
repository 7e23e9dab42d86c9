"""The chance a shown name is right: raw scores mapped to a calibrated probability (pure NumPy/SciPy).

The product of experts (softmax x label spreading, predictions.py) reads ~100% for nearly every
face, strangers included: it is renormalized among the people the model knows. What a person
needs is "how likely is this name right", so two monotone maps are fitted at training time on
held-out labels and applied to every prediction:

- ``known``: is the face one of the labeled people at all? Platt scaling (logistic regression) on
  the log label mass relative to the unknown threshold, genuine scores (hidden labels) against
  impostor scores (hidden personas, and faces a person called a stranger), balanced, and pinned
  to 1/2 at the unknown threshold: a face called unknown always reads less likely than not to be
  anyone named, a face called known more likely, so the number never contradicts the verdict.
- ``right``: given that, is the top persona the right one? Isotonic regression
  (pool-adjacent-violators) of the out-of-fold product-of-experts top probability on whether it
  named the held-out label, each pooled block shrunk by half a pseudo-count each way (a block of
  24 correct answers reads 98%, not 100%).

chance = known(mass) x right(top probability). Both maps are increasing, so the order of faces
by raw score is kept within each factor; the unknown threshold decides "unknown" as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_SLOPE = 2.0  # per log unit of mass, where nothing held out says how steep "known" rises
CLIP = 3.0  # log units of mass beyond the threshold that still inform the slope (unreached faces sit at -25)


def pool_adjacent_violators(x: np.ndarray, y: np.ndarray, pseudo: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Isotonic (non-decreasing) fit of 0/1 outcomes ``y`` on scores ``x``: block edges and values.

    Each pooled block's value is (hits + pseudo) / (n + 2 pseudo); smoothing can only shrink
    blocks toward 1/2, so the running maximum keeps the fit monotone.
    """
    order = np.argsort(x, kind="stable")
    xs, ys = np.asarray(x, dtype=np.float64)[order], np.asarray(y, dtype=np.float64)[order]
    sums, counts, lows, highs = [], [], [], []
    for xi, yi in zip(xs, ys, strict=True):
        sums.append(yi)
        counts.append(1.0)
        lows.append(xi)
        highs.append(xi)
        while len(sums) > 1 and sums[-2] / counts[-2] >= sums[-1] / counts[-1]:
            s, c, h = sums.pop(), counts.pop(), highs.pop()
            lows.pop()
            sums[-1] += s
            counts[-1] += c
            highs[-1] = h
    values = (np.array(sums) + pseudo) / (np.array(counts) + 2 * pseudo)
    values = np.maximum.accumulate(values)
    # Each block as its two edges, so np.interp is flat inside a block and linear between blocks.
    edges = np.column_stack([lows, highs]).ravel()
    return edges, np.repeat(values, 2)


def platt_slope(feature: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> float:
    """Weighted logistic regression of ``positive`` on one feature through the origin: its slope.

    Platt's targets ((N+ + 1)/(N+ + 2) and 1/(N- + 2)) keep the fit finite when the classes separate.
    """
    from scipy.optimize import minimize_scalar

    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    target = np.where(positive, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(slope: float) -> float:
        z = np.clip(slope * feature, -50, 50)
        return float(np.sum(weights * (np.logaddexp(0, -z) * target + np.logaddexp(0, z) * (1 - target))))

    return float(minimize_scalar(loss, bounds=(0.01, 50.0), method="bounded").x)


@dataclass(frozen=True)
class ChanceCalibration:
    """The two fitted maps, stored in the classifier artifact (``to_dict``)."""

    known_slope: float = DEFAULT_SLOPE  # logit of "known" per log unit of mass above the threshold
    right_x: tuple[float, ...] = (0.0, 1.0)  # top probability -> chance the top persona is right
    right_y: tuple[float, ...] = (0.0, 1.0)
    method: str = "uncalibrated"

    def known(self, mass: np.ndarray, threshold: float) -> np.ndarray:
        return 1 / (1 + np.exp(-self.known_slope * relative_mass(mass, threshold)))

    def right(self, top: np.ndarray) -> np.ndarray:
        return np.interp(top, self.right_x, self.right_y)

    def chance(self, top: np.ndarray, mass: np.ndarray, threshold: float, known: np.ndarray) -> np.ndarray:
        """Chance each face's named (or, if unknown, best-guess) persona is right.

        A face called unknown never reads likelier than a face at the unknown threshold (one
        called unknown because a likelier face of its photo took its persona has a high mass).
        """
        right = self.right(top)
        chance = self.known(mass, threshold) * right
        return np.where(known, chance, np.minimum(chance, 0.5 * right))

    def to_dict(self) -> dict:
        return {
            "known_slope": self.known_slope,
            "right_x": list(self.right_x),
            "right_y": list(self.right_y),
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> ChanceCalibration:
        if not data:
            return cls()
        return cls(
            float(data["known_slope"]),
            tuple(data["right_x"]),
            tuple(data["right_y"]),
            data.get("method", ""),
        )


def relative_mass(mass: np.ndarray, threshold: float) -> np.ndarray:
    """Log label mass above the unknown threshold, clipped to +-CLIP."""
    z = np.log(np.maximum(mass, 1e-12)) - np.log(max(threshold, 1e-12))
    return np.clip(z, -CLIP, CLIP)


def fit_chance(
    genuine: np.ndarray, impostor: np.ndarray, threshold: float, top: np.ndarray, correct: np.ndarray
) -> ChanceCalibration:
    """Fit both maps on held-out scores: label mass of genuine and impostor stand-ins, and the
    out-of-fold top probability of held-out labels with whether it named them right."""
    notes = []
    slope = DEFAULT_SLOPE
    if len(genuine) and len(impostor):
        feature = relative_mass(np.concatenate([genuine, impostor]), threshold)
        positive = np.arange(len(feature)) < len(genuine)
        weights = np.where(positive, 0.5 / len(genuine), 0.5 / len(impostor)) * len(feature)  # balanced
        slope = platt_slope(feature, positive, weights)
        notes.append(f"known: Platt on {len(genuine)} genuine / {len(impostor)} impostor scores")
    else:
        notes.append("known: no genuine or impostor scores, a fixed slope")
    if len(top):
        right_x, right_y = pool_adjacent_violators(top, correct)
        notes.append(f"right: isotonic on {len(top)} held-out labels")
    else:
        right_x, right_y = np.array([0.0, 1.0]), np.array([0.0, 1.0])
        notes.append("right: no held-out labels, the raw probability")
    return ChanceCalibration(
        slope, tuple(float(v) for v in right_x), tuple(float(v) for v in right_y), "; ".join(notes)
    )
