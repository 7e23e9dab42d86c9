"""The FaceLoop asset graph: raw_images -> detected_faces -> face_embeddings -> face_classifier
-> predicted_labels."""

from assets.classifier.assets import classifier_quality_gate, face_classifier
from assets.ingest.chunks import ingest_faces
from assets.ingest.photos import raw_images
from assets.jobs import ingest_job, relabel_job, retrain_job
from assets.predictions import predicted_labels

# ingest_faces is the detected_faces + face_embeddings pair, fanned out in chunks (assets/ingest/chunks.py).
ALL_ASSETS = [raw_images, ingest_faces, face_classifier, predicted_labels]
ALL_CHECKS = [classifier_quality_gate]
ALL_JOBS = [ingest_job, retrain_job, relabel_job]

__all__ = ["ALL_ASSETS", "ALL_CHECKS", "ALL_JOBS"]
