"""The FaceLoop asset graph, as Dagster definitions:
raw_images -> detected_faces -> face_embeddings -> face_classifier -> predicted_labels.

The modules here are thin: they read the stores, call the plain compute in ``assets/core`` and
write and report what it returns. This file imports nothing: ``definitions.py`` assembles the
graph, so ``import assets.core.learning.graph`` loads neither Dagster nor an asset.
"""
