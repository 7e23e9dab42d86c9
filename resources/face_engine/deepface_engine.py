"""deepface behind the FaceEngine interface.

Detection runs on a copy downscaled to ``detect_max_side`` (detectors find the same faces on a
640-px copy at a fraction of the cost); alignment runs on pixels where the face keeps at least
the stored crop's size (ingest decodes no more of a JPEG than that), with deepface's own
alignment, as ``DeepFace.represent`` would prepare it. The price is a size floor: dlib's HOG
(80-px window, one upsampling) sees faces down to about 40 px of the copy, so on a 640-px copy
faces under ~1/16 of the photo's long side are not found (every lfw10 face is far above it; small
faces in a group photo may not be: raise ``detect_max_side``). On lfw10 upscaled 12x, all that
full-resolution detection finds below that floor is three spurious low-score boxes.

Only ``deepface.modules`` are imported, never ``deepface.DeepFace``: that module imports
TensorFlow (~3-6 s, ~500 MB), which neither the Dlib model nor the dlib detector uses.
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

from resources.face_engine.base import FaceEngine
from resources.face_engine.records import FaceLocation
from resources.face_engine.weights import provision_weights
from resources.settings import deepface_home

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ALIGN_WORK_SIDE = 512  # above the stored aligned crop (256 px) and every model's input


class DeepFaceEngine(FaceEngine):
    """Loads deepface models once per process; safe to share between threads."""

    normalization: str = "base"
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

    def locate(self, copy_bgr: np.ndarray, downscaled: bool) -> list[FaceLocation]:
        # deepface pads by half the size before detecting (4x the pixels). A photo detected at its
        # own size keeps that, so its faces and embeddings are exactly DeepFace.represent's. On a
        # downscaled copy a 1/8 border is enough for faces cut by the edge to fit the detector's
        # window (alignment pads for itself): 4x faster, and on lfw10 it finds the same 103 faces.
        divisor = 8 if downscaled else 2
        pad_y, pad_x = copy_bgr.shape[0] // divisor, copy_bgr.shape[1] // divisor
        padded = cv2.copyMakeBorder(copy_bgr, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=0)
        with self._lock:
            detector, _ = self._models()
            regions = detector.detect_faces(padded)

        def unpadded(point: tuple[int, int] | None) -> tuple[int, int] | None:
            return None if point is None else (point[0] - pad_x, point[1] - pad_y)

        return [
            FaceLocation(
                box=(region.x - pad_x, region.y - pad_y, region.w, region.h),
                left_eye=unpadded(region.left_eye),
                right_eye=unpadded(region.right_eye),
                confidence=float(region.confidence or 0.0),
            )
            for region in regions
        ]

    def align(self, image_bgr: np.ndarray, face: FaceLocation) -> np.ndarray:
        """deepface's alignment on the pixels around the face.

        A face larger than ALIGN_WORK_SIDE is first area-averaged down to it, with the margin
        alignment needs: rotating a 2400-px region of a 12 MP photo costs more than detecting,
        and the crop is shrunk far below that afterwards anyway.
        """
        from deepface.models.Detector import FacialAreaRegion
        from deepface.modules.detection import extract_face

        (x, y, w, h), left_eye, right_eye = face.box, face.left_eye, face.right_eye
        scale = min(1.0, ALIGN_WORK_SIDE / max(w, h))
        if scale < 1.0:
            left, top = max(0, x - w), max(0, y - h)
            window = image_bgr[top : y + 2 * h, left : x + 2 * w]
            image_bgr = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

            def moved(point):
                return None if point is None else (round((point[0] - left) * scale), round((point[1] - top) * scale))

            x, y, w, h = round((x - left) * scale), round((y - top) * scale), round(w * scale), round(h * scale)
            left_eye, right_eye = moved(left_eye), moved(right_eye)
        region = FacialAreaRegion(
            x=x, y=y, w=w, h=h, left_eye=left_eye, right_eye=right_eye, confidence=face.confidence
        )
        extracted = extract_face(
            facial_area=region,
            img=image_bgr,
            align=True,
            expand_percentage=0,
            width_border=0,
            height_border=0,
            detector_backend=self.detector_backend,
        )
        return np.ascontiguousarray(extracted.img, dtype=np.uint8)

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
