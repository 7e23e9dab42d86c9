"""deepface behind the FaceEngine interface.

Detection runs on a copy downscaled to ``detect_max_side`` (detectors find the same faces on a
640-px copy at a fraction of the cost), while alignment and embedding use the full-resolution
pixels, exactly as ``DeepFace.represent`` would prepare them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import PrivateAttr

from resources.face_engine.base import DetectedFace, FaceEngine
from resources.face_engine.weights import provision_weights
from resources.settings import deepface_home

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class DeepFaceEngine(FaceEngine):
    """Loads deepface models once per process; safe to share between threads."""

    detect_max_side: int = 640
    normalization: str = "base"
    min_face_px: int = 20
    weights_home: str = ""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _loaded: tuple[Any, Any] | None = PrivateAttr(default=None)

    def _models(self) -> tuple[Any, Any]:
        if self._loaded is None:
            home = Path(self.weights_home) if self.weights_home else deepface_home()
            os.environ["DEEPFACE_HOME"] = str(home)
            provision_weights(home)
            from deepface.modules import modeling

            self._loaded = (
                modeling.build_model(task="face_detector", model_name=self.detector_backend),
                modeling.build_model(task="facial_recognition", model_name=self.model_name),
            )
        return self._loaded

    def warm_up(self) -> None:
        """Load the models now, so the first photo's timing is not the load time."""
        with self._lock:
            self._models()

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        from deepface.models.Detector import FacialAreaRegion
        from deepface.modules.detection import extract_face

        height, width = image_bgr.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = image_bgr
        if scale < 1.0:
            small = cv2.resize(image_bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        # deepface pads by half the size before detecting so faces at the border survive alignment.
        pad_y, pad_x = small.shape[0] // 2, small.shape[1] // 2
        padded = cv2.copyMakeBorder(small, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=0)
        with self._lock:
            detector, _ = self._models()
            regions = detector.detect_faces(padded)

        def to_full(point: tuple[int, int] | None) -> tuple[int, int] | None:
            if point is None:
                return None
            return (round((point[0] - pad_x) / scale), round((point[1] - pad_y) / scale))

        faces = []
        for region in regions:
            x = max(0, round((region.x - pad_x) / scale))
            y = max(0, round((region.y - pad_y) / scale))
            w = min(width - x, round(region.w / scale))
            h = min(height - y, round(region.h / scale))
            if w < self.min_face_px or h < self.min_face_px:
                continue
            full_region = FacialAreaRegion(
                x=x,
                y=y,
                w=w,
                h=h,
                left_eye=to_full(region.left_eye),
                right_eye=to_full(region.right_eye),
                confidence=region.confidence,
            )
            extracted = extract_face(
                facial_area=full_region,
                img=image_bgr,
                align=True,
                expand_percentage=0,
                width_border=0,
                height_border=0,
                detector_backend=self.detector_backend,
            )
            if extracted.img.size == 0:
                continue
            faces.append(
                DetectedFace(
                    box=(x, y, w, h),
                    confidence=float(region.confidence or 0.0),
                    aligned=np.ascontiguousarray(extracted.img, dtype=np.uint8),
                )
            )
        faces.sort(key=lambda face: face.box[2] * face.box[3], reverse=True)
        return faces

    def embed(self, aligned_faces: Sequence[np.ndarray]) -> np.ndarray:
        from deepface.modules import preprocessing

        if not aligned_faces:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            _, recognizer = self._models()
            target = recognizer.input_shape
            batch = []
            for face in aligned_faces:
                # Same steps as DeepFace.represent: [0, 1] floats, letterbox resize, normalization.
                pixels = face.astype(np.float32) / 255.0
                pixels = preprocessing.resize_image(pixels, (target[1], target[0]))
                batch.append(preprocessing.normalize_input(pixels, normalization=self.normalization))
            vectors = recognizer.forward(np.concatenate(batch, axis=0))
        matrix = np.asarray(vectors, dtype=np.float32)
        return matrix.reshape(len(aligned_faces), -1)
