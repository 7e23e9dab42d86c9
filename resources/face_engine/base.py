"""The face engine interface: find faces in a photo and turn aligned faces into embeddings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from dagster import ConfigurableResource


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


class FaceEngine(ConfigurableResource, ABC):
    """Detection + alignment + embedding, configured by deepface model and detector names."""

    model_name: str = "Dlib"
    detector_backend: str = "dlib"

    @property
    def embedding_space(self) -> str:
        """Embeddings are only comparable within one model; stored rows are keyed by this."""
        return self.model_name

    @abstractmethod
    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """All faces in a BGR uint8 photo, largest first."""

    @abstractmethod
    def embed(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """A float32 (n, d) matrix, one embedding per aligned face."""
