"""The face engine interface: find faces in a photo and turn aligned faces into embeddings."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import cv2
import numpy as np
from dagster import ConfigurableResource

from resources.face_engine.records import DetectedFace, FaceLocation


class FaceEngine(ConfigurableResource, ABC):
    """Detection + alignment + embedding, configured by deepface model and detector names.

    ``locate`` runs on a copy of at most ``detect_max_side`` pixels and ``align`` on whatever
    resolution keeps the face sharp, so ingest can decode each photo only as large as it needs.
    """

    model_name: str = "Dlib"
    detector_backend: str = "dlib"
    detect_max_side: int = 640
    min_face_px: int = 20

    @property
    def embedding_space(self) -> str:
        """Embeddings are only comparable within one model; stored rows are keyed by this."""
        return self.model_name

    def warm_up(self) -> None:
        """Load the models now (once per process), so the first photo's timing is not the load time."""

    @abstractmethod
    def locate(self, copy_bgr: np.ndarray, downscaled: bool) -> list[FaceLocation]:
        """Faces the detector sees in ``copy_bgr`` (``downscaled``: a reduced copy of the photo)."""

    @abstractmethod
    def align(self, image_bgr: np.ndarray, face: FaceLocation) -> np.ndarray:
        """The eye-aligned BGR uint8 crop of ``face``, located in ``image_bgr``'s coordinates."""

    @abstractmethod
    def embed(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        """A float32 (n, d) matrix, one embedding per aligned face."""

    def detection_copy(self, image_bgr: np.ndarray) -> np.ndarray:
        """The photo area-averaged down to ``detect_max_side`` (itself when already that small)."""
        height, width = image_bgr.shape[:2]
        scale = self.detect_max_side / max(height, width)
        if scale >= 1.0:
            return image_bgr
        size = (round(width * scale), round(height * scale))
        return cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)

    def locate_in_photo(self, copy_bgr: np.ndarray, full_size: tuple[int, int]) -> list[FaceLocation]:
        """Faces found in the detection copy, in full-resolution (width, height) coordinates, largest first."""
        height, width = copy_bgr.shape[:2]
        downscaled = (width, height) != tuple(full_size)
        scale_x, scale_y = full_size[0] / width, full_size[1] / height
        found = [face.scaled(scale_x, scale_y, bounds=full_size) for face in self.locate(copy_bgr, downscaled)]
        found = [face for face in found if face.box[2] >= self.min_face_px and face.box[3] >= self.min_face_px]
        return sorted(found, key=lambda face: face.box[2] * face.box[3], reverse=True)

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """All faces in a full-resolution BGR uint8 photo, largest first."""
        full_size = (image_bgr.shape[1], image_bgr.shape[0])
        faces = []
        for face in self.locate_in_photo(self.detection_copy(image_bgr), full_size):
            aligned = self.align(image_bgr, face)
            if aligned.size:
                faces.append(DetectedFace(face.box, face.confidence, aligned))
        return faces
