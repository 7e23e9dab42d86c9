"""Real deepface on real photos: the engine gives what DeepFace.represent gives, faster on big photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from assets.core.ingest.decode import decode_photo
from resources.face_engine.deepface_engine import DeepFaceEngine


@pytest.fixture(scope="module")
def engine(weights_home) -> DeepFaceEngine:
    engine = DeepFaceEngine(weights_home=str(weights_home))
    engine.warm_up()
    return engine


@pytest.fixture(scope="module")
def photo(lfw10):
    return lfw10 / "Colin_Powell" / "Colin_Powell_0001.jpg"


def test_weights_are_provisioned_offline_from_the_installed_package(engine, weights_home):
    files = sorted(p.name for p in (weights_home / ".deepface" / "weights").iterdir())
    assert files == ["dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat"]


def test_embedding_matches_deepface_represent(engine, photo):
    from deepface import DeepFace

    faces = engine.detect(decode_photo(photo.read_bytes()))
    ours = engine.embed([f.aligned for f in faces])
    reference = DeepFace.represent(str(photo), model_name="Dlib", detector_backend="dlib")
    assert len(faces) == len(reference) == 1
    assert ours.shape == (1, 128)
    np.testing.assert_allclose(ours[0], reference[0]["embedding"], atol=1e-4)


def test_large_photo_is_detected_on_a_downscaled_copy_with_the_same_face(engine, photo):
    small = decode_photo(photo.read_bytes())
    big = cv2.resize(small, None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC)  # 2000 px
    [face_small] = engine.detect(small)
    [face_big] = engine.detect(big)
    # HOG boxes shift a little with scale; within 6% of the face size is the same face.
    assert np.allclose(np.array(face_big.box) / 8, face_small.box, atol=0.06 * face_small.box[2])
    a, b = engine.embed([face_small.aligned, face_big.aligned])
    similarity = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    assert similarity > 0.97


def test_photo_without_a_face_gives_no_face(engine):
    noise = np.random.default_rng(0).integers(0, 255, size=(300, 300, 3), dtype=np.uint8)
    assert engine.detect(noise) == []


def test_a_big_jpeg_is_analysed_from_a_reduced_decode_with_the_same_face(engine, photo):
    from assets.core.ingest.pool import ALIGNED_MAX_SIDE, analyse_photo

    small = decode_photo(photo.read_bytes())
    big = cv2.resize(small, None, fx=12, fy=12, interpolation=cv2.INTER_CUBIC)  # 3000 px, 9 MP
    data = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
    [full] = engine.detect(decode_photo(data))  # detection copy and crop from the full decode
    outcome = analyse_photo(engine, "big", data)  # from the 1/4-scale DCT decode
    [face] = outcome.faces
    assert outcome.size == (3000, 3000)
    assert np.allclose(face.box, full.box, atol=0.02 * full.box[2])
    aligned = cv2.imdecode(np.frombuffer(face.aligned_png, np.uint8), cv2.IMREAD_COLOR)
    assert max(aligned.shape[:2]) == ALIGNED_MAX_SIDE  # as sharp as a crop from full resolution
    a, b = engine.embed([aligned, full.aligned])
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.99
    assert outcome.seconds["decode"] > 0 and outcome.seconds["detect"] > 0
