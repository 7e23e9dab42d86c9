"""What the face engine returns: plain records, importable without Dagster (the ingest pool and
its worker processes use them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

Point = tuple[int, int] | None


@dataclass(frozen=True)
class DetectedFace:
    """One face found in a photo.

    ``box`` is (x, y, w, h) in the full-resolution, orientation-corrected photo; ``aligned`` is
    the eye-aligned BGR uint8 crop that the embedding model consumes, kept so embedding can run
    in another process (or pod) without detecting again.
    """

    box: tuple[int, int, int, int]
    confidence: float
    aligned: np.ndarray


@dataclass(frozen=True)
class FaceLocation:
    """Where the detector saw a face (box and eyes), in the coordinates of the pixels it was given."""

    box: tuple[int, int, int, int]
    left_eye: Point
    right_eye: Point
    confidence: float

    def scaled(self, scale_x: float, scale_y: float, bounds: tuple[int, int] | None = None) -> FaceLocation:
        """The same face in pixels scaled by (scale_x, scale_y); ``bounds`` (width, height) clips the box."""
        if scale_x == scale_y == 1.0 and bounds is None:
            return self
        x, y, w, h = self.box
        x, y = max(0, round(x * scale_x)), max(0, round(y * scale_y))
        w, h = round(w * scale_x), round(h * scale_y)
        if bounds is not None:
            w, h = min(bounds[0] - x, w), min(bounds[1] - y, h)

        def point(p: Point) -> Point:
            return None if p is None else (round(p[0] * scale_x), round(p[1] * scale_y))

        return replace(self, box=(x, y, w, h), left_eye=point(self.left_eye), right_eye=point(self.right_eye))
