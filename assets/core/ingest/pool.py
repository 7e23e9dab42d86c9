"""Faces from photos on every core: decode + detect + align, and embedding, in worker processes.

Workers are spawned (not forked: the run worker has threads, and TensorFlow does not survive a
fork) and load the deepface models once, when they start. One pool serves every step of a run
(``shared_pool``): a chunk's detection and embedding, and on the in-process executor every chunk
step of the run, find the workers already warm instead of paying their start-up again. The caller streams
work in and results out with a bounded number of photos in flight, so memory stays flat however
large the batch. With one worker, everything runs in the calling process.

Each result carries the seconds its phases took in the worker (decode, detect, align, embed), so
a run can say where its time went.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import queue
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from assets.core.clock import PhaseClock
from assets.core.ingest.decode import Decoded, PhotoError, open_photo
from resources.face_engine.records import FaceLocation
from resources.image_source.errors import SourceError
from resources.state_store.records import ImageStatus

if TYPE_CHECKING:  # the engine resource is Dagster's: the pool only calls it
    from resources.face_engine.base import FaceEngine

THUMBNAIL_SIDE = 160
ALIGNED_MAX_SIDE = 256  # above every deepface model's input (VGG-Face 224): nothing is lost
PHOTO_PHASES = ("decode", "detect", "align")

# Worker start-up (spawn, imports, models: ~1.5 s of CPU each, measured) pays off from about this
# many photos on 2 cores (a photo costs >= 0.25 s of detection, a face ~0.08 s of embedding).
PARALLEL_FROM_PHOTOS = 16


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
    seconds: dict[str, float] = field(default_factory=dict)  # worker seconds per phase
    worker: int = 0  # process id of the worker that did it; 0: the run's own process


@dataclass
class EmbedOutcome:
    vectors: np.ndarray
    bad: list[int]  # indexes of crops that could not be decoded
    seconds: dict[str, float] = field(default_factory=dict)
    worker: int = 0


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


def alignment_long_side(photo_size: tuple[int, int], faces: list[FaceLocation]) -> int:
    """The smallest decode (long side) at which every face keeps ALIGNED_MAX_SIDE pixels, or all it has."""
    long_side = max(photo_size)
    needed = max(min(1.0, ALIGNED_MAX_SIDE / max(face.box[2], face.box[3])) for face in faces)
    return math.ceil(long_side * needed)


def analyse_photo(engine: FaceEngine, image_id: str, data: bytes) -> PhotoOutcome:
    """Everything detection needs from one photo; never raises for a bad photo.

    The photo is decoded twice at most, each time only as large as needed: once for the
    detection copy, and once more for the crops only when a face is too small in that decode to
    give a full-size aligned crop (a small face in a big photo).
    """
    seconds = dict.fromkeys(PHOTO_PHASES, 0.0)
    clock = PhaseClock(seconds)
    try:
        with clock("decode"):
            photo = open_photo(data)
            decoded = photo.decode(engine.detect_max_side)
        with clock("detect"):
            copy = engine.detection_copy(decoded.pixels)
            faces = engine.locate_in_photo(copy, photo.size)
        if faces:
            with clock("decode"):
                wanted = alignment_long_side(photo.size, faces)
                if max(decoded.pixels.shape[:2]) < wanted:
                    decoded = photo.decode(wanted)
            with clock("align"):
                found = crops(engine, decoded, faces)
    except PhotoError as exc:
        return PhotoOutcome(image_id, ImageStatus.ERROR, str(exc), seconds=seconds)
    except Exception as exc:  # a detector crash on one photo must not stop the batch
        reason = f"face detection failed: {type(exc).__name__}: {exc}"
        return PhotoOutcome(image_id, ImageStatus.ERROR, reason, seconds=seconds)
    if not faces or not found:
        return PhotoOutcome(image_id, ImageStatus.NO_FACE, "no face found", photo.size, seconds=seconds)
    return PhotoOutcome(image_id, ImageStatus.DONE, None, photo.size, found, seconds=seconds)


def crops(engine: FaceEngine, decoded: Decoded, faces: list[FaceLocation]) -> list[FoundFace]:
    """Thumbnail and lossless aligned crop of each face, cut from the decoded pixels."""
    height, width = decoded.pixels.shape[:2]
    found = []
    for face in faces:
        here = face.scaled(decoded.scale_x, decoded.scale_y, bounds=(width, height))
        aligned = engine.align(decoded.pixels, here)
        if not aligned.size:
            continue
        png = cv2.imencode(".png", shrink(aligned, ALIGNED_MAX_SIDE))[1].tobytes()
        found.append(FoundFace(face.box, face.confidence, face_thumbnail(decoded.pixels, here.box), png))
    return found


def embed_pngs(engine: FaceEngine, pngs: list[bytes]) -> EmbedOutcome:
    """Embeddings of the decodable crops, and the indexes of those that were not."""
    started = time.perf_counter()
    faces, bad = [], []
    for i, png in enumerate(pngs):
        crop = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        (bad.append(i) if crop is None else faces.append(crop))
    vectors = engine.embed(faces) if faces else np.zeros((0, 0), np.float32)
    return EmbedOutcome(vectors, bad, {"embed": time.perf_counter() - started})


_worker_engine: FaceEngine | None = None


def _start_worker(engine_type: type[FaceEngine], config: dict, ready: multiprocessing.Queue) -> None:
    global _worker_engine
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker: no oversubscription
    _worker_engine = engine_type(**config)
    _worker_engine.warm_up()  # models load here, once per worker, not on its first photo
    ready.put(time.monotonic())


def _analyse_in_worker(image_id: str, data: bytes) -> PhotoOutcome:
    cpu = time.process_time()
    outcome = analyse_photo(_worker_engine, image_id, data)
    outcome.seconds["worker_cpu"] = time.process_time() - cpu  # CPU it got, whatever others take
    outcome.worker = os.getpid()
    return outcome


def _embed_in_worker(pngs: list[bytes]) -> EmbedOutcome:
    cpu = time.process_time()
    outcome = embed_pngs(_worker_engine, pngs)
    outcome.seconds["worker_cpu"] = time.process_time() - cpu
    outcome.worker = os.getpid()
    return outcome


def _call_engine(engine: FaceEngine, method: str, *args: object) -> object:
    return getattr(engine, method)(*args)


def _call_in_worker(method: str, *args: object) -> object:
    return _call_engine(_worker_engine, method, *args)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class FacePool:
    """Parallel when workers > 1, else in-process. ``startup_seconds``: spawn to every worker ready."""

    def __init__(self, engine: FaceEngine, workers: int = 0):
        self.engine = engine
        self.workers = workers or default_workers()
        self.startup_seconds = 0.0
        self._executor: ProcessPoolExecutor | None = None
        self._ready: multiprocessing.Queue | None = None
        self._waiting_for = 0
        self._started_at = 0.0

    def start(self) -> FacePool:
        """Spawn the workers now; they load their models while the caller gets on with other work."""
        if self.workers > 1 and self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._ready = context.Queue()
            self._started_at = time.monotonic()
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(type(self.engine), self.engine.model_dump(), self._ready),
            )
            for _ in range(self.workers):  # one no-op each makes the executor spawn every worker now
                self._executor.submit(int)
            self._waiting_for = self.workers
        elif self.workers <= 1 and self._executor is None:
            started = time.monotonic()
            self.engine.warm_up()
            self.startup_seconds = time.monotonic() - started
        return self

    def wait_until_ready(self) -> float:
        """Block until every worker has loaded its models; returns ``startup_seconds``."""
        while self._waiting_for:
            try:
                ready_at = self._ready.get(timeout=1.0)
            except queue.Empty:
                if self.broken:
                    raise BrokenProcessPool("a face worker died while loading its models") from None
                continue
            self._waiting_for -= 1
            self.startup_seconds = max(self.startup_seconds, ready_at - self._started_at)
        return self.startup_seconds

    @property
    def broken(self) -> bool:
        return self._executor is not None and getattr(self._executor, "_broken", False)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> FacePool:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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

    def embed(self, batches: Iterable[list[bytes]]) -> Iterator[EmbedOutcome]:
        return self._stream(((batch,) for batch in batches), embed_pngs, _embed_in_worker)

    def call(self, method: str, jobs: Iterable[tuple]) -> Iterator:
        """``engine.<method>(*job)`` for each job, on the workers, in input order (the bench's limit)."""
        return self._stream(((method, *job) for job in jobs), _call_engine, _call_in_worker)


_shared: dict[tuple, FacePool] = {}


def shared_pool(engine: FaceEngine, workers: int = 0) -> FacePool:
    """The process's running pool for this engine and worker count, started on first use.

    Kept until the process exits (or another engine or worker count is asked for), so a run's
    steps share one set of warm workers. A pool whose worker died is replaced.
    """
    workers = workers or default_workers()
    key = (type(engine).__qualname__, engine.model_dump_json(), workers)
    pool = _shared.get(key)
    if pool is None or pool.broken:
        for old in _shared.values():
            old.close()
        _shared.clear()
        pool = _shared[key] = FacePool(engine, workers).start()
    return pool


@atexit.register
def close_shared_pools() -> None:
    """Stop the process's shared workers (at exit; or to measure a cold start)."""
    for pool in _shared.values():
        pool.close()
    _shared.clear()


def running_pool(engine: FaceEngine) -> FacePool | None:
    """The shared pool already running for this engine's configuration, if any."""
    for (kind, config, _), pool in _shared.items():
        if (kind, config) == (type(engine).__qualname__, engine.model_dump_json()) and not pool.broken:
            return pool
    return None


def run_pool(engine: FaceEngine, workers: int, todo: int, parallel_from: int) -> tuple[FacePool, bool]:
    """The pool for a step, and whether the step started it.

    A pool an earlier step of the run started is reused as it is. Otherwise ``workers`` (0: one
    per core, from ``parallel_from`` items of work; below that, start-up would cost more than the
    cores save) decides between a new shared pool and the run's own process.
    """
    running = running_pool(engine)
    if running is not None and workers in (0, running.workers):
        return running, False
    if todo <= 1 or workers == 1 or (workers == 0 and todo < parallel_from):
        pool = FacePool(engine, 1)
        return (pool.start() if todo else pool), True
    return shared_pool(engine, workers), True


def startup_metadata(pool: FacePool, started_here: bool) -> dict:
    """Start-up this step paid: worker processes it spawned, seconds until the models were loaded."""
    if not started_here:
        return {"workers_started": 0, "startup_s": 0.0}
    spawned = pool.workers if pool.workers > 1 else 0
    return {"workers_started": spawned, "startup_s": round(pool.wait_until_ready(), 3)}
