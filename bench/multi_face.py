"""Two different people in one photo: side-by-side composites made from a folder-per-person set.

    .venv/bin/python -m bench.accuracy --multi-face --json

The first K photos of each person stay single photos with sidecar labels; every other photo is
pasted beside one of another person (person i with person i + half, their j-th unlabeled photos),
so each photo appears once and every composite holds two different people. Made at run time in a
temporary library; no composite is ever committed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.sample_library import people_folders, photos_of


def build_composites(source: Path, target: Path, labels_per_person: int) -> dict[str, tuple[str, str]]:
    """Write the library; returns {composite key: (left person, right person)}."""
    target.mkdir(parents=True, exist_ok=True)
    people = people_folders(source)
    rest = {}
    for folder in people:
        photos = photos_of(folder)
        for photo in photos[:labels_per_person]:
            dest = target / folder.name / photo.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, dest)
            dest.with_suffix(".json").write_text(json.dumps({"persona": folder.name}))
        rest[folder.name] = photos[labels_per_person:]
    half = len(people) // 2
    composites = {}
    for i in range(half):
        left, right = people[i].name, people[i + half].name
        for j, (a, b) in enumerate(zip(rest[left], rest[right], strict=False)):
            key = f"_composites/{left}+{right}_{j:02d}.png"
            (target / key).parent.mkdir(exist_ok=True)
            side_by_side(a, b).save(target / key)
            composites[key] = (left, right)
    return composites


def side_by_side(left: Path, right: Path) -> Image.Image:
    with Image.open(left) as a, Image.open(right) as b:
        a, b = a.convert("RGB"), b.convert("RGB")
        height = max(a.height, b.height)
        canvas = Image.new("RGB", (a.width + b.width, height))
        canvas.paste(a, (0, (height - a.height) // 2))
        canvas.paste(b, (a.width, (height - b.height) // 2))
        return canvas


def score_composites(
    store, composites: dict[str, tuple[str, str]], predicted: dict[str, int | None]
) -> dict[str, float | int]:
    """Accuracy on the two main faces (nearest each half's centre) of every composite, and the
    photos (any photo of the library) where two faces got the same predicted persona."""
    names = {p.persona_id: p.name for p in store.personas(include_merged=True)}
    images = {img.image_id: img.key for img in store.images()}
    faces_by_key: dict[str, list] = {}
    for face in store.faces():
        faces_by_key.setdefault(images[face.image_id], []).append(face)
    right = total = 0
    for key, people in composites.items():
        faces = faces_by_key.get(key, [])
        width = max((f.box[0] + f.box[2] for f in faces), default=0)
        for side, person in enumerate(people):
            total += 1
            centre = width * (1 + 2 * side) / 4
            candidates = [f for f in faces if (f.box[0] + f.box[2] / 2 >= width / 2) == bool(side)]
            if not candidates:
                continue
            main = min(candidates, key=lambda f: abs(f.box[0] + f.box[2] / 2 - centre))
            right += names.get(predicted.get(main.face_id)) == person
    duplicates = 0
    for faces in faces_by_key.values():
        personas = [predicted[f.face_id] for f in faces if predicted.get(f.face_id) is not None]
        duplicates += len(personas) != len(set(personas))
    return {
        "accuracy": right / total if total else None,
        "scored_faces": total,
        "photos_with_duplicate_person": duplicates,
    }


def predictions_without_constraint(store, artifact_store, space: str) -> dict[str, int | None]:
    """The same serving model's predictions with the one-person-per-photo step switched off."""
    from assets.core.learning.model import FaceClassifier
    from assets.core.learning.scoring import predict_faces
    from assets.library import library_graph

    promoted = store.promoted_model()
    classifier = FaceClassifier.from_bytes(artifact_store.get(promoted.artifact_key))
    face_ids, embeddings = store.load_embeddings(space)
    graph = library_graph(store, space, face_ids, embeddings)
    columns = predict_faces(
        classifier, promoted.version, face_ids, embeddings, store.label_states(), graph, one_person_per_photo=False
    )
    return {p.face_id: p.persona_id for p in columns}


def evaluate_multi_face(images: Path, labels_per_person: int) -> dict:
    import os
    import tempfile
    import time

    from tests.support.pipeline import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-multi-face-") as tmp:
        home, library = Path(tmp) / "home", Path(tmp) / "library"
        os.environ.setdefault("DEEPFACE_HOME", str(home))
        composites = build_composites(images, library, labels_per_person)
        resources = local_resources_at(home, library)
        started = time.monotonic()
        if not materialize_all(resources).success:
            raise SystemExit("pipeline run failed")
        store = resources["state_store"]
        ours = {face_id: p.persona_id for face_id, p in store.predictions().items()}
        baseline = predictions_without_constraint(
            store, resources["artifact_store"], resources["face_engine"].embedding_space
        )
        figures = score_composites(store, composites, ours)
        without = score_composites(store, composites, baseline)
        return {
            **figures,
            "composites": len(composites),
            "without_constraint_accuracy": without["accuracy"],
            "without_constraint_photos_with_duplicate_person": without["photos_with_duplicate_person"],
            "labels_per_person": labels_per_person,
            "pipeline_seconds": round(time.monotonic() - started, 2),
            "faces": len(store.faces()),
            "predicted_faces": len(ours),
            "unknown_rate": float(np.mean([p is None for p in ours.values()])) if ours else None,
        }
