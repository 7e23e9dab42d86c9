"""detected_faces and face_embeddings: the expensive steps, each touching only new work."""

import time

import cv2
import numpy as np
from dagster import AssetExecutionContext, Config, MaterializeResult, asset

from assets.ingest.decode import PhotoError, decode_photo
from resources.artifact_store import ArtifactStore
from resources.face_engine import FaceEngine
from resources.image_source import ImageSource, SourceError
from resources.state_store import StateStore
from resources.state_store.records import FaceRecord, ImageStatus, LabelEvent, LabelKind

THUMBNAIL_SIDE = 160


class BatchConfig(Config):
    batch_size: int = 64


def face_thumbnail(image_bgr: np.ndarray, box: tuple[int, int, int, int]) -> bytes:
    """A square JPEG around the face with some context, for people to recognise it."""
    x, y, w, h = box
    side = int(max(w, h) * 1.4)
    cx, cy = x + w // 2, y + h // 2
    top, left = max(0, cy - side // 2), max(0, cx - side // 2)
    crop = image_bgr[top : top + side, left : left + side]
    scale = THUMBNAIL_SIDE / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


@asset(deps=["raw_images"], group_name="ingest", compute_kind="deepface")
def detected_faces(
    context: AssetExecutionContext,
    config: BatchConfig,
    image_source: ImageSource,
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
) -> MaterializeResult:
    """Faces of every photo not processed yet; a photo that fails gets a reason, never the run."""
    counts = {"photos": 0, "faces": 0, "no_face": 0, "errors": 0, "import_labels": 0}
    started = time.monotonic()
    while batch := state_store.images(ImageStatus.NEW, limit=config.batch_size):
        for image in batch:
            counts["photos"] += 1
            try:
                pixels = decode_photo(image_source.read_bytes(image.key))
                faces = face_engine.detect(pixels)
            except (PhotoError, SourceError) as exc:
                state_store.record_detection(image.image_id, ImageStatus.ERROR, reason=str(exc))
                counts["errors"] += 1
                context.log.warning(f"{image.key}: {exc}")
                continue
            except Exception as exc:  # a detector crash on one photo must not stop the batch
                reason = f"face detection failed: {type(exc).__name__}: {exc}"
                state_store.record_detection(image.image_id, ImageStatus.ERROR, reason=reason)
                counts["errors"] += 1
                context.log.warning(f"{image.key}: {reason}")
                continue
            size = (pixels.shape[1], pixels.shape[0])
            if not faces:
                reason = "no face found"
                if image.import_persona:
                    reason += f"; its label {image.import_persona!r} is kept on the photo"
                state_store.record_detection(image.image_id, ImageStatus.NO_FACE, reason=reason, size=size)
                counts["no_face"] += 1
                continue
            records = []
            for index, face in enumerate(faces):
                face_id = f"{image.image_id}:{index}"
                thumb_key, aligned_key = f"thumbnails/{face_id}.jpg", f"aligned/{face_id}.png"
                artifact_store.put(thumb_key, face_thumbnail(pixels, face.box))
                artifact_store.put(aligned_key, cv2.imencode(".png", face.aligned)[1].tobytes())
                records.append(
                    FaceRecord(face_id, image.image_id, index, face.box, face.confidence, thumb_key, aligned_key)
                )
            events = []
            if image.import_persona:
                # A photo-level label names the main subject: the largest face.
                persona = state_store.ensure_persona(image.import_persona)
                events.append(LabelEvent(records[0].face_id, LabelKind.ASSIGN, persona.persona_id, source="import"))
            state_store.record_detection(
                image.image_id, ImageStatus.DONE, size=size, faces=records, label_events=events
            )
            counts["faces"] += len(records)
            counts["import_labels"] += len(events)
        elapsed = time.monotonic() - started
        context.log.info(f"detected_faces: {counts} ({counts['photos'] / max(elapsed, 1e-9):.2f} photos/s)")
    return MaterializeResult(metadata=counts)


@asset(deps=["detected_faces"], group_name="ingest", compute_kind="deepface")
def face_embeddings(
    context: AssetExecutionContext,
    config: BatchConfig,
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
) -> MaterializeResult:
    """Embeddings for faces that lack one in the configured model's space."""
    space = face_engine.embedding_space
    embedded = 0
    failed: set[str] = set()
    while batch := [
        f
        for f in state_store.faces_missing_embedding(space, config.batch_size + len(failed))
        if f.face_id not in failed
    ][: config.batch_size]:
        crops, ids = [], []
        for face in batch:
            try:
                crop = cv2.imdecode(np.frombuffer(artifact_store.get(face.aligned_key), np.uint8), cv2.IMREAD_COLOR)
                if crop is None:
                    raise ValueError("undecodable aligned face")
                crops.append(crop)
                ids.append(face.face_id)
            except (KeyError, ValueError) as exc:
                failed.add(face.face_id)
                context.log.warning(f"face {face.face_id}: cannot embed ({exc})")
        if ids:
            state_store.put_embeddings(space, ids, face_engine.embed(crops))
            embedded += len(ids)
    return MaterializeResult(metadata={"embedded": embedded, "space": space, "failed": len(failed)})
