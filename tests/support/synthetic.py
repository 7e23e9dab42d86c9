"""Synthetic libraries for tests and benchmarks at sizes beyond the sample photos.

Faces are registered through the StateStore API like real ones; embeddings are unit vectors
around one centre per person, spread like Dlib's (same-person cosine ~0.95).
"""

from __future__ import annotations

import numpy as np

from resources.state_store.base import StateStore
from resources.state_store.records import FaceRecord, ImageStatus, LabelEvent, LabelKind, PhotoEntry

SPACE = "Dlib"


def synthetic_embeddings(faces: int, people: int, dim: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, person index per vector): ``faces`` unit-ish vectors around ``people`` centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    person = rng.integers(0, people, size=faces)
    vectors = centres[person] + rng.normal(scale=0.3 / np.sqrt(dim), size=(faces, dim)).astype(np.float32)
    return vectors.astype(np.float32), person


def fill_store(store: StateStore, faces: int, people: int, labels_per_person: int, seed: int = 0) -> dict:
    """N one-face images with embeddings; the first K faces of each person get import labels."""
    vectors, person = synthetic_embeddings(faces, people, seed=seed)
    face_ids = []
    for i in range(faces):
        image_id = f"synthetic-{i:08d}"
        store.register_photo(PhotoEntry(f"synthetic/{i:08d}.jpg", 1, 0.0), image_id)
        face = FaceRecord(f"{image_id}:0", image_id, 0, (0, 0, 100, 100), 1.0, "", "")
        store.record_detection(image_id, ImageStatus.DONE, size=(100, 100), faces=[face])
        face_ids.append(face.face_id)
    store.put_embeddings(SPACE, face_ids, vectors)
    persona_ids = [store.ensure_persona(f"person_{p:03d}").persona_id for p in range(people)]
    events, labeled = [], set()
    for p in range(people):
        for i in np.flatnonzero(person == p)[:labels_per_person]:
            events.append(LabelEvent(face_ids[i], LabelKind.ASSIGN, persona_ids[p], source="import"))
            labeled.add(face_ids[i])
    store.append_label_events(events)
    return {"face_ids": face_ids, "person": person, "persona_ids": persona_ids, "labeled": labeled}
