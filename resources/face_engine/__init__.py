from resources.face_engine.base import DetectedFace, FaceEngine
from resources.face_engine.deepface_engine import DeepFaceEngine

__all__ = ["DeepFaceEngine", "DetectedFace", "FaceEngine"]
