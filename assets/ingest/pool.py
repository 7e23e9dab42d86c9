"""Faces from photos on every core: decode + detect + align, and embedding, in worker processes.

Workers are spawned (not forked: the run worker has threads, and TensorFlow does not survive a
fork) and load the deepface models once. The caller streams work in and results out with a
bounded number of photos in flight, so memory stays flat however large the batch. With one
worker, or one photo, everything runs in the calling process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from assets.ingest.decode import PhotoError, decode_photo
from resources.face_engine import FaceEngine
from resources.image_source import SourceError
from resources.state_store.records import ImageStatus

THUMBNAIL_SIDE = 160
ALIGNED_MAX_SIDE = 256  # above every deepface model's input (VGG-Face 224): nothing is lost


@dataclass
class FoundFace:
    box: tuple[int, int, int, int]
    confidence: float
    thumbnail_jpeg: bytes
    aligned_png: bytes


@dataclass
class PhotoOutcome:
    image_id: str
    status: ImageStatus
    reason: str | None = None
    size: tuple[int, int] | None = None
    faces: list[FoundFace] = field(default_factory=list)


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


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    scale = max_side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image


def analyse_photo(engine: FaceEngine, image_id: str, data: bytes) -> PhotoOutcome:
    """Everything detection needs from one photo; never raises for a bad photo."""
    try:
        pixels = decode_photo(data)
        faces = engine.detect(pixels)
    except PhotoError as exc:
        return PhotoOutcome(image_id, ImageStatus.ERROR, str(exc))
    except Exception as exc:  # a detector crash on one photo must not stop the batch
        return PhotoOutcome(image_id, ImageStatus.ERROR, f"face detection failed: {type(exc).__name__}: {exc}")
    size = (pixels.shape[1], pixels.shape[0])
    if not faces:
        return PhotoOutcome(image_id, ImageStatus.NO_FACE, "no face found", size)
    found = [
        FoundFace(
            face.box,
            face.confidence,
            face_thumbnail(pixels, face.box),
            cv2.imencode(".png", shrink(face.aligned, ALIGNED_MAX_SIDE))[1].tobytes(),
        )
        for face in faces
    ]
    return PhotoOutcome(image_id, ImageStatus.DONE, None, size, found)


def embed_pngs(engine: FaceEngine, pngs: list[bytes]) -> tuple[np.ndarray, list[int]]:
    """Embeddings of the decodable crops, and the indexes of those that were not."""
    crops, bad = [], []
    for i, png in enumerate(pngs):
        crop = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        (bad.append(i) if crop is None else crops.append(crop))
    return (engine.embed(crops) if crops else np.zeros((0, 0), np.float32)), bad


_worker_engine: FaceEngine | None = None


def _start_worker(engine_type: type[FaceEngine], config: dict) -> None:
    global _worker_engine
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker: no oversubscription
    _worker_engine = engine_type(**config)


def _analyse_in_worker(image_id: str, data: bytes) -> PhotoOutcome:
    return analyse_photo(_worker_engine, image_id, data)


def _embed_in_worker(pngs: list[bytes]) -> tuple[np.ndarray, list[int]]:
    return embed_pngs(_worker_engine, pngs)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class FacePool:
    """``with FacePool(engine, workers) as pool``: parallel when workers > 1, else in-process."""

    def __init__(self, engine: FaceEngine, workers: int = 0):
        self.engine = engine
        self.workers = workers or default_workers()
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> FacePool:
        if self.workers > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(type(self.engine), self.engine.model_dump()),
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def _stream(self, jobs: Iterable[tuple | PhotoOutcome], local: Callable, remote: Callable) -> Iterator:
        if self._executor is None:
            for job in jobs:
                yield job if isinstance(job, PhotoOutcome) else local(self.engine, *job)
            return
        pending: deque[Future] = deque()
        for job in jobs:
            if isinstance(job, PhotoOutcome):  # already decided (unreadable): keep its place in line
                done: Future = Future()
                done.set_result(job)
                pending.append(done)
            else:
                pending.append(self._executor.submit(remote, *job))
            if len(pending) >= 2 * self.workers:  # bounded: photos in flight, not the whole batch
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def analyse(self, photos: Iterable[tuple[str, Callable[[], bytes]]]) -> Iterator[PhotoOutcome]:
        """Outcomes in input order; each photo's bytes are read just before it is submitted."""

        def jobs() -> Iterator[tuple | PhotoOutcome]:
            for image_id, read in photos:
                try:
                    yield (image_id, read())
                except SourceError as exc:
                    yield PhotoOutcome(image_id, ImageStatus.ERROR, str(exc))

        return self._stream(jobs(), analyse_photo, _analyse_in_worker)

    def embed(self, chunks: Iterable[list[bytes]]) -> Iterator[tuple[np.ndarray, list[int]]]:
        return self._stream(((chunk,) for chunk in chunks), embed_pngs, _embed_in_worker)
