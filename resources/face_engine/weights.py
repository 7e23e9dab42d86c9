"""Offline model weights: dlib's models ship in the ``face-recognition-models`` wheel.

deepface downloads weights from GitHub/dlib.net on first use, which fails on machines without
internet. It checks ``$DEEPFACE_HOME/.deepface/weights/<file>`` first, so copying the files there
makes the "Dlib" model and the "dlib" detector work offline.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from resources.settings import deepface_home

# deepface file name -> file name inside face_recognition_models/models
BUNDLED_WEIGHTS = {
    "dlib_face_recognition_resnet_model_v1.dat": "dlib_face_recognition_resnet_model_v1.dat",
    "shape_predictor_5_face_landmarks.dat": "shape_predictor_5_face_landmarks.dat",
}


def weights_dir(home: Path | None = None) -> Path:
    return (home or deepface_home()) / ".deepface" / "weights"


def provision_weights(home: Path | None = None) -> list[Path]:
    """Copy bundled weights into deepface's weights folder; idempotent. Returns the files."""
    import face_recognition_models

    source_dir = Path(face_recognition_models.__file__).parent / "models"
    target_dir = weights_dir(home)
    target_dir.mkdir(parents=True, exist_ok=True)
    provisioned = []
    for target_name, source_name in BUNDLED_WEIGHTS.items():
        source = source_dir / source_name
        target = target_dir / target_name
        if not target.exists() or target.stat().st_size != source.stat().st_size:
            # Unique per process: detection workers provision at the same time.
            tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        provisioned.append(target)
    return provisioned


if __name__ == "__main__":
    for path in provision_weights():
        print(f"provisioned {path}")
