"""Azure Cosmos DB state store: the same StateStore contract as SQLite, for the Azure deployment.

Containers and partition keys follow the access patterns (see ARCHITECTURE.md):

- ``photos``      /id        one document per listed file (id = hash of its source key)
- ``images``      /image_id  an image and its faces share a partition, so detection is one batch
- ``embeddings``  /space     the classifier loads a whole model space: one single-partition query
- ``labels``      /pk        one partition ("log"): the seq counter, label events, personas and name
                             claims, so appends, merges and renames are atomic transactional batches
- ``predictions`` /bucket    32 hash buckets: changed predictions go out as concurrent batches
- ``models``      /pk        one partition: classifier versions, their counter, the serving pointer

Two writers never overwrite each other: counters and personas are replaced with the etag they were
read with (IfNotModified; a 412 re-reads and retries), and the reserved sequence numbers are written
in the same batch as the events, so a visible seq implies every lower one is visible too.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos import CosmosClient, PartitionKey
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosHttpResponseError, CosmosResourceNotFoundError
from dagster import EnvVar
from pydantic import Field, PrivateAttr

from resources.state_store.base import StateStore
from resources.state_store.records import (
    FaceRecord,
    ImageRecord,
    ImageStatus,
    LabelEvent,
    LabelKind,
    ModelVersion,
    Persona,
    PhotoEntry,
    Prediction,
    validate_persona_name,
)
from resources.state_store.sqlite import CONFIDENCE_EPSILON

T = TypeVar("T")
CONTAINERS = {
    "photos": "/id",
    "images": "/image_id",
    "embeddings": "/space",
    "labels": "/pk",
    "predictions": "/bucket",
    "models": "/pk",
}
LOG, MODELS = "log", "models"  # the single partitions of ``labels`` and ``models``
PREDICTION_BUCKETS = 32  # fixed: changing it would strand documents in other buckets
BATCH_LIMIT = 100  # operations per transactional batch (service limit)
RETRYABLE = {408, 429, 449, 503}


class Conflict(Exception):
    """A transactional batch failed on one operation: ``index`` and its HTTP ``status``."""

    def __init__(self, index: int, status: int):
        super().__init__(f"batch operation {index} failed with {status}")
        self.index, self.status = index, status


def resolved(value: str, what: str) -> str:
    """An EnvVar's value: Dagster resolves it inside runs; the labeling app uses the resource directly."""
    if isinstance(value, EnvVar):
        found = value.get_value()
        if not found:
            raise RuntimeError(f"{what}: environment variable {value.env_var_name} is not set")
        return found
    return value


def doc_id(text: str) -> str:
    """Cosmos ids may not hold '/', '\\', '?' or '#'; hash free text such as paths and names."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def bucket_of(face_id: str) -> int:
    return int(hashlib.sha1(face_id.encode("utf-8")).hexdigest()[:8], 16) % PREDICTION_BUCKETS


def plain(doc: dict) -> dict:
    """A document without the service's system properties, ready to be written back."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CosmosStateStore(StateStore):
    """``endpoint`` and ``key`` come from the environment (Dagster ``EnvVar``); the key never prints."""

    endpoint: str
    key: str = Field(repr=False, description="Cosmos DB account key; pass EnvVar('FACELOOP_COSMOS_KEY').")
    database: str = "faceloop"
    verify_tls: bool = Field(True, description="Only the local test server turns this off.")
    throughput: int | None = Field(None, description="Shared RU/s for a new database; None for serverless.")
    page_size: int = 1000
    max_workers: int = 8
    max_retries: int = 8

    _containers: dict = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = PrivateAttr(default=None)

    # -- plumbing ----------------------------------------------------------------------------
    def _c(self, name: str):
        """The container proxy; database, containers and counters are created on first use."""
        if not self._containers:
            with self._lock:
                if not self._containers:
                    self._setup()
        return self._containers[name]

    def _setup(self) -> None:
        endpoint, key = resolved(self.endpoint, "Cosmos DB endpoint"), resolved(self.key, "Cosmos DB key")
        client = CosmosClient(endpoint, credential=key, connection_verify=self.verify_tls)
        db = self._ensure(lambda: client.create_database_if_not_exists(self.database, offer_throughput=self.throughput))
        containers = {
            name: self._ensure(lambda n=name, p=path: db.create_container_if_not_exists(n, PartitionKey(p)))
            for name, path in CONTAINERS.items()
        }
        for container, pk, counter in [
            (containers["labels"], LOG, "seq"),
            (containers["labels"], LOG, "persona"),
            (containers["models"], MODELS, "version"),
        ]:
            try:
                container.create_item({"id": f"counter:{counter}", "pk": pk, "value": 0})
            except CosmosHttpResponseError as exc:
                if exc.status_code != 409:
                    raise
        self._containers.update(containers)

    def _ensure(self, call: Callable[[], T]) -> T:
        """Create-if-missing; two clients starting at once may see each other's half-made resource."""
        for attempt in range(5):
            try:
                return self._retry(call)
            except CosmosHttpResponseError as exc:
                if exc.status_code not in (404, 409) or attempt == 4:
                    raise
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    def _retry(self, call: Callable[[], T], idempotent: bool = True) -> T:
        """Run ``call``, backing off on throttling (429), unavailability (503) and dropped connections.

        A connection that failed before the request was sent is always retried. One dropped after
        sending may have been applied: only an idempotent call (a read, query, upsert, delete) is
        sent again; an etag-guarded write surfaces the error, so nothing is ever applied twice.
        """
        for attempt in range(self.max_retries + 1):
            try:
                return call()
            except CosmosHttpResponseError as exc:
                if exc.status_code not in RETRYABLE or attempt == self.max_retries:
                    raise
                headers = getattr(exc, "headers", None) or {}
                hinted = float(headers.get("x-ms-retry-after-ms", 0) or 0) / 1000
                time.sleep(max(hinted, min(10.0, 0.05 * 2**attempt)) * random.uniform(1.0, 1.5))
            except (ServiceRequestError, ServiceResponseError) as exc:
                resend_safe = idempotent or isinstance(exc, ServiceRequestError)
                if not resend_safe or attempt == self.max_retries:
                    raise
                time.sleep(min(10.0, 0.05 * 2**attempt) * random.uniform(1.0, 1.5))
        raise AssertionError("unreachable")

    def _map(self, fn: Callable[[Any], T], items: Iterable[Any]) -> list[T]:
        """Run ``fn`` over ``items`` on a small thread pool (Cosmos scales out; one request at a time does not)."""
        items = list(items)
        if len(items) <= 1:
            return [fn(item) for item in items]
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="cosmos")
        return list(self._pool.map(fn, items))

    def _query(self, container: str, sql: str, partition_key: Any = None, **params: Any) -> list[dict]:
        """All results of a query, fetched page by page (``page_size`` items per round trip).

        A single-partition query also names its partition key in the SQL: the service does not need
        it, but the local protocol server only scopes a query by what the query text says.
        """

        def run() -> list[dict]:
            pages = self._c(container).query_items(
                sql,
                parameters=[{"name": f"@{k}", "value": v} for k, v in params.items()],
                partition_key=partition_key,
                enable_cross_partition_query=partition_key is None or None,
                max_item_count=self.page_size,
            )
            return [item for page in pages.by_page() for item in page]

        return self._retry(run)

    def _read(self, container: str, item_id: str, partition_key: Any) -> dict | None:
        try:
            return self._retry(lambda: self._c(container).read_item(item_id, partition_key))
        except CosmosResourceNotFoundError:
            return None

    def _batch(self, container: str, partition_key: Any, ops: list[tuple]) -> list[dict]:
        """One transactional batch (all or nothing); a failed operation raises Conflict."""
        try:
            idempotent = all(op[0] in ("upsert", "delete") for op in ops)
            return self._retry(
                lambda: self._c(container).execute_item_batch(ops, partition_key=partition_key), idempotent
            )
        except CosmosBatchOperationError as exc:
            status = exc.operation_responses[exc.error_index].get("statusCode", 0)
            raise Conflict(exc.error_index, status) from None

    def _with_counter(self, container: str, pk: str, counter: str, count: int, make_ops: Callable) -> int:
        """Reserve ``count`` numbers after the counter and write ``make_ops(first)`` in the same batch.

        The counter is replaced IfNotModified (its etag), so two writers never get the same numbers;
        a 412 means another writer won the race: read again and retry. Returns the first number.
        """
        for attempt in range(100):
            doc = self._read(container, f"counter:{counter}", pk)
            first = doc["value"] + 1
            bumped = {"id": doc["id"], "pk": pk, "value": doc["value"] + count}
            ops = [("replace", (doc["id"], bumped), {"if_match_etag": doc["_etag"]}), *make_ops(first)]
            try:
                self._batch(container, pk, ops)
                return first
            except Conflict as exc:
                if exc.index != 0 or exc.status != 412:
                    raise
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RuntimeError(f"could not reserve {counter} numbers: too much contention")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    # -- photos and images -------------------------------------------------------------------
    def known_photos(self) -> dict[str, tuple[int, float]]:
        rows = self._query("photos", "SELECT c.key, c.size, c.mtime FROM c")
        return {row["key"]: (row["size"], row["mtime"]) for row in rows}

    def register_photo(self, entry: PhotoEntry, image_id: str | None, reason: str | None = None) -> bool:
        created = image_id is not None and self._register_image(entry, image_id)
        # The photo is written last: a crash in between leaves it unknown, so the next run retries it.
        photo = {
            "id": doc_id(entry.key),
            "key": entry.key,
            "size": entry.size,
            "mtime": entry.mtime,
            "image_id": image_id,
            "reason": reason,
            "persona_hint": entry.persona_hint,
            "seen_at": time.time(),
        }
        self._retry(lambda: self._c("photos").upsert_item(photo))
        return created

    def _register_image(self, entry: PhotoEntry, image_id: str) -> bool:
        doc = {
            "id": image_id,
            "image_id": image_id,
            "type": "image",
            "key": entry.key,
            "status": ImageStatus.NEW.value,
            "import_persona": entry.persona_hint,
            "created_at": time.time(),
        }
        try:
            self._retry(lambda: self._c("images").create_item(doc), idempotent=False)
            return True
        except CosmosHttpResponseError as exc:
            if exc.status_code != 409:
                raise
        # A duplicate may carry the label the first copy lacked; never drop it.
        while entry.persona_hint:
            current = self._read("images", image_id, image_id)
            if current["import_persona"] is not None or current["status"] != ImageStatus.NEW.value:
                break
            try:
                self._batch(
                    "images",
                    image_id,
                    [
                        (
                            "replace",
                            (image_id, {**plain(current), "import_persona": entry.persona_hint}),
                            {"if_match_etag": current["_etag"]},
                        )
                    ],
                )
                break
            except Conflict as exc:
                if exc.status != 412:
                    raise
        return False

    @staticmethod
    def _image(doc: dict) -> ImageRecord:
        return ImageRecord(
            doc["image_id"],
            doc["key"],
            ImageStatus(doc["status"]),
            doc.get("reason"),
            doc.get("width"),
            doc.get("height"),
            doc.get("import_persona"),
        )

    def images(self, status: ImageStatus | None = None, limit: int | None = None) -> list[ImageRecord]:
        top = "TOP @limit " if limit is not None else ""
        where = " AND c.status = @status" if status is not None else ""
        params = {"limit": limit} if limit is not None else {}
        if status is not None:
            params["status"] = ImageStatus(status).value
        sql = f"SELECT {top}* FROM c WHERE c.type = 'image'{where} ORDER BY c.created_at"
        return [self._image(doc) for doc in self._query("images", sql, **params)]

    def unreadable_photos(self) -> dict[str, str]:
        rows = self._query("photos", "SELECT c.key, c.reason FROM c WHERE IS_NULL(c.image_id)")
        return {row["key"]: row["reason"] for row in rows}

    def record_detection(
        self,
        image_id: str,
        status: ImageStatus,
        *,
        reason: str | None = None,
        size: tuple[int, int] | None = None,
        faces: Sequence[FaceRecord] = (),
        label_events: Sequence[LabelEvent] = (),
    ) -> None:
        status = ImageStatus(status)
        events = [self._checked(e) for e in label_events]  # bad input fails before any write
        if events:
            # Labels first, with a receipt in the same batch: a rerun after a crash skips them.
            self._append_events(events, receipt=f"receipt:{image_id}")
        parts = list(chunks([self._face_doc(f) for f in faces], BATCH_LIMIT - 1)) or [[]]
        for part in parts[:-1]:
            self._batch("images", image_id, [("upsert", (doc,)) for doc in part])
        width, height = size or (None, None)
        while True:
            image = self._read("images", image_id, image_id)
            if image is None:
                raise KeyError(f"no image {image_id}")
            changed = {
                **plain(image),
                "status": status.value,
                "reason": reason,
                "width": width,
                "height": height,
                "processed_at": time.time(),
            }
            ops = [("upsert", (doc,)) for doc in parts[-1]]
            ops.append(("replace", (image_id, changed), {"if_match_etag": image["_etag"]}))
            try:
                self._batch("images", image_id, ops)
                return
            except Conflict as exc:
                if exc.status != 412:
                    raise

    # -- faces and embeddings ----------------------------------------------------------------
    @staticmethod
    def _face_doc(face: FaceRecord) -> dict:
        return {
            "id": face.face_id,
            "image_id": face.image_id,
            "type": "face",
            "index": face.index,
            "box": list(face.box),
            "confidence": face.confidence,
            "thumbnail_key": face.thumbnail_key,
            "aligned_key": face.aligned_key,
            "spaces": [],
        }

    @staticmethod
    def _face(doc: dict) -> FaceRecord:
        return FaceRecord(
            doc["id"],
            doc["image_id"],
            doc["index"],
            tuple(doc["box"]),
            doc["confidence"],
            doc["thumbnail_key"],
            doc["aligned_key"],
        )

    def faces(self, face_ids: Sequence[str] | None = None) -> list[FaceRecord]:
        if face_ids is None:
            docs = self._query("images", "SELECT * FROM c WHERE c.type = 'face' ORDER BY c.id")
            return [self._face(doc) for doc in docs]
        ids = list(face_ids)
        pairs = [(face_id, face_id.rsplit(":", 1)[0]) for face_id in dict.fromkeys(ids)]
        found: dict[str, FaceRecord] = {}
        for chunk in chunks(pairs, 1000):
            docs = self._retry(lambda c=chunk: self._c("images").read_items(list(c)))
            found.update((doc["id"], self._face(doc)) for doc in docs if doc.get("type") == "face")
        return [found[i] for i in ids if i in found]

    def faces_missing_embedding(self, space: str, limit: int) -> list[FaceRecord]:
        sql = "SELECT TOP @limit * FROM c WHERE c.type = 'face' AND NOT ARRAY_CONTAINS(c.spaces, @space) ORDER BY c.id"
        return [self._face(doc) for doc in self._query("images", sql, limit=limit, space=space)]

    def put_embeddings(self, space: str, face_ids: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        docs = [
            {"id": face_id, "space": space, "vector": base64.b64encode(vectors[i].tobytes()).decode("ascii")}
            for i, face_id in enumerate(face_ids)
        ]
        self._map(
            lambda chunk: self._batch("embeddings", space, [("upsert", (doc,)) for doc in chunk]),
            chunks(docs, BATCH_LIMIT),
        )
        # Then mark the faces; a crash in between only means those faces are embedded again.
        patch = [{"op": "add", "path": "/spaces/-", "value": space}]
        self._map(
            lambda face_id: self._retry(
                lambda: self._c("images").patch_item(face_id, face_id.rsplit(":", 1)[0], patch_operations=patch)
            ),
            face_ids,
        )

    def load_embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        rows = sorted(
            self._query(
                "embeddings", "SELECT c.id, c.vector FROM c WHERE c.space = @space", partition_key=space, space=space
            ),
            key=lambda r: r["id"],
        )
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(base64.b64decode(r["vector"]) for r in rows), dtype=np.float32)
        return [r["id"] for r in rows], matrix.reshape(len(rows), -1).copy()

    def put_neighbours(self, space: str, face_ids: Sequence[str], neighbour_ids: np.ndarray, sims: np.ndarray) -> None:
        # Kept on each face's embedding document (same partition), by face id.
        def link(row: int) -> None:
            patch = [
                {"op": "set", "path": "/neighbours", "value": [str(n) for n in neighbour_ids[row]]},
                {"op": "set", "path": "/sims", "value": [round(float(x), 6) for x in sims[row]]},
            ]
            container = self._c("embeddings")
            self._retry(lambda: container.patch_item(face_ids[row], space, patch_operations=patch))

        self._map(link, range(len(face_ids)))

    def load_neighbours(self, space: str, face_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        rows = self._query(
            "embeddings",
            "SELECT c.id, c.neighbours, c.sims FROM c WHERE c.space = @space",
            partition_key=space,
            space=space,
        )
        position = {face_id: row for row, face_id in enumerate(face_ids)}
        if len(rows) != len(face_ids) or any(r["id"] not in position or r.get("neighbours") is None for r in rows):
            return None  # faces embedded since face_ids was read, or not linked yet: computed instead
        k = len(rows[0]["neighbours"])
        if any(len(r["neighbours"]) != k for r in rows):
            return None
        positions = np.full((len(face_ids), k), -1, dtype=np.int64)
        sims = np.zeros((len(face_ids), k), dtype=np.float32)
        for r in rows:
            row = position[r["id"]]
            positions[row] = [position.get(n, -1) for n in r["neighbours"]]
            sims[row] = r["sims"]
        return positions, sims

    # -- personas ----------------------------------------------------------------------------
    @staticmethod
    def _persona(doc: dict) -> Persona:
        return Persona(doc["persona_id"], doc["name"], doc.get("merged_into"))

    def _persona_doc(self, persona_id: int) -> dict:
        doc = self._read("labels", f"persona:{persona_id}", LOG)
        if doc is None:
            raise KeyError(f"no persona {persona_id}")
        return doc

    def ensure_persona(self, name: str) -> Persona:
        name = validate_persona_name(name)
        claim_id = f"name:{doc_id(name)}"
        while True:
            claim = self._read("labels", claim_id, LOG)
            if claim is not None:
                return self._persona(self._persona_doc(claim["persona_id"]))

            def ops(first: int) -> list[tuple]:
                persona = {"id": f"persona:{first}", "pk": LOG, "type": "persona", "persona_id": first, "name": name}
                claim = {"id": claim_id, "pk": LOG, "type": "name", "persona_id": first}
                return [("create", (claim,)), ("create", (persona,))]

            try:
                first = self._with_counter("labels", LOG, "persona", 1, ops)
                return Persona(first, name)
            except Conflict as exc:
                if exc.status != 409:  # 409: someone created this name at the same time; read theirs
                    raise

    def personas(self, include_merged: bool = False) -> list[Persona]:
        docs = self._query(
            "labels", "SELECT * FROM c WHERE c.pk = @pk AND c.type = 'persona'", partition_key=LOG, pk=LOG
        )
        found = [self._persona(doc) for doc in docs]
        return sorted((p for p in found if include_merged or p.merged_into is None), key=lambda p: p.name)

    def rename_persona(self, persona_id: int, new_name: str) -> Persona:
        new_name = validate_persona_name(new_name)
        while True:
            doc = self._persona_doc(persona_id)
            if doc["name"] == new_name:
                return self._persona(doc)
            claim = {"id": f"name:{doc_id(new_name)}", "pk": LOG, "type": "name", "persona_id": persona_id}
            ops = [
                ("create", (claim,)),
                ("replace", (doc["id"], {**plain(doc), "name": new_name}), {"if_match_etag": doc["_etag"]}),
                ("delete", (f"name:{doc_id(doc['name'])}",)),
            ]
            try:
                self._batch("labels", LOG, ops)
                return Persona(persona_id, new_name, doc.get("merged_into"))
            except Conflict as exc:
                if exc.status == 409:
                    raise ValueError(f"a persona named {new_name!r} already exists; merge instead") from None
                if exc.status != 412:
                    raise

    def merge_personas(self, source_id: int, target_id: int) -> None:
        if source_id == target_id:
            raise ValueError("cannot merge a persona into itself")
        while True:
            source, target = self._persona_doc(source_id), self._persona_doc(target_id)
            if source.get("merged_into") is not None:
                raise ValueError(f"persona {source_id} is already merged into {source['merged_into']}")
            if self._resolves_to(target_id, source_id):
                raise ValueError(f"persona {target_id} is merged into {source_id}; merging back would loop")

            def ops(seq: int, source=source, target=target) -> list[tuple]:
                # Replacing the target unchanged, IfNotModified, fails the merge if it was merged meanwhile.
                marker = self._event_doc(LabelEvent("", LabelKind.ASSIGN, target_id, source="merge"), seq)
                return [
                    ("replace", (target["id"], plain(target)), {"if_match_etag": target["_etag"]}),
                    (
                        "replace",
                        (source["id"], {**plain(source), "merged_into": target_id}),
                        {"if_match_etag": source["_etag"]},
                    ),
                    ("create", (marker,)),  # watchers of the label log see the merge
                ]

            try:
                self._with_counter("labels", LOG, "seq", 1, ops)
                return
            except Conflict as exc:
                if exc.status != 412:
                    raise

    def _resolves_to(self, persona_id: int, wanted: int) -> bool:
        merged = {p.persona_id: p.merged_into for p in self.personas(include_merged=True)}
        seen: set[int] = set()
        while persona_id is not None and persona_id not in seen:
            if persona_id == wanted:
                return True
            seen.add(persona_id)
            persona_id = merged.get(persona_id)
        return False

    # -- labels ------------------------------------------------------------------------------
    @staticmethod
    def _checked(event: LabelEvent) -> LabelEvent:
        LabelKind(event.kind)  # raises ValueError for an unknown kind
        return event

    @staticmethod
    def _event_doc(event: LabelEvent, seq: int) -> dict:
        return {
            "id": f"event:{seq}",
            "pk": LOG,
            "type": "event",
            "seq": seq,
            "face_id": event.face_id,
            "kind": LabelKind(event.kind).value,
            "persona_id": event.persona_id,
            "source": event.source,
            "actor": event.actor,
            "created_at": event.created_at or time.time(),
        }

    def _append_events(self, events: Sequence[LabelEvent], receipt: str | None = None) -> list[int]:
        seqs: list[int] = []
        parts = list(chunks(events, BATCH_LIMIT - 2))  # room for the counter and a receipt
        for n, part in enumerate(parts):
            with_receipt = receipt is not None and n == len(parts) - 1

            def ops(first: int, part=part, with_receipt=with_receipt) -> list[tuple]:
                docs = [("create", (self._event_doc(e, first + i),)) for i, e in enumerate(part)]
                if with_receipt:  # ahead of the events, so it fails before them
                    docs.insert(0, ("create", ({"id": receipt, "pk": LOG, "type": "receipt"},)))
                return docs

            try:
                first = self._with_counter("labels", LOG, "seq", len(part), ops)
            except Conflict as exc:
                if with_receipt and exc.status == 409 and exc.index == 1:
                    return seqs  # these labels were recorded by an earlier, interrupted run
                raise
            seqs += range(first, first + len(part))
        return seqs

    def append_label_events(self, events: Sequence[LabelEvent]) -> list[int]:
        return self._append_events([self._checked(e) for e in events])

    def label_watermark(self) -> int:
        return self._read("labels", "counter:seq", LOG)["value"]

    def label_events(self, since: int = 0) -> list[LabelEvent]:
        sql = (
            "SELECT * FROM c WHERE c.pk = @pk AND c.type = 'event' AND c.seq > @since AND c.face_id != ''"
            " ORDER BY c.seq"
        )
        return [
            LabelEvent(
                d["face_id"], LabelKind(d["kind"]), d["persona_id"], d["source"], d["actor"], d["seq"], d["created_at"]
            )
            for d in self._query("labels", sql, partition_key=LOG, pk=LOG, since=since)
        ]

    # -- predictions -------------------------------------------------------------------------
    def predictions(self) -> dict[str, Prediction]:
        sql = "SELECT c.id, c.persona_id, c.confidence, c.model_version, c.candidate_persona_id FROM c"
        return {
            r["id"]: Prediction(
                r["id"], r["persona_id"], r["confidence"], r["model_version"], r["candidate_persona_id"]
            )
            for r in self._query("predictions", sql)
        }

    def write_predictions(self, predictions: Iterable[Prediction], drop: Sequence[str] = ()) -> int:
        current = self.predictions()
        changed = [
            p
            for p in predictions
            if (old := current.get(p.face_id)) is None
            or old.persona_id != p.persona_id
            or old.candidate_persona_id != p.candidate_persona_id
            or abs(old.confidence - p.confidence) > CONFIDENCE_EPSILON
        ]
        dropped = [face_id for face_id in dict.fromkeys(drop) if face_id in current]
        self.put_prediction_docs(changed, dropped)
        return len(changed) + len(dropped)

    def put_prediction_docs(self, upserts: Sequence[Prediction], deletes: Sequence[str] = ()) -> None:
        """Write predictions as transactional batches per bucket, many buckets at once."""
        now = time.time()
        by_bucket: dict[int, list[tuple]] = defaultdict(list)
        for p in upserts:
            bucket = bucket_of(p.face_id)
            doc = {
                "id": p.face_id,
                "bucket": bucket,
                "persona_id": p.persona_id,
                "confidence": p.confidence,
                "model_version": p.model_version,
                "candidate_persona_id": p.candidate_persona_id,
                "updated_at": now,
            }
            by_bucket[bucket].append(("upsert", (doc,)))
        for face_id in deletes:
            by_bucket[bucket_of(face_id)].append(("delete", (face_id,)))
        work = [(bucket, list(chunk)) for bucket, ops in by_bucket.items() for chunk in chunks(ops, BATCH_LIMIT)]
        self._map(lambda item: self._write_bucket(*item), work)

    def _write_bucket(self, bucket: int, ops: list[tuple]) -> None:
        try:
            self._batch("predictions", bucket, ops)
        except Conflict as exc:
            if exc.status != 404:
                raise
            # Someone else deleted one of these meanwhile: apply the rest one by one.
            container = self._c("predictions")
            for op, args in ops:
                try:
                    if op == "upsert":
                        self._retry(lambda a=args: container.upsert_item(a[0]))
                    else:
                        self._retry(lambda a=args: container.delete_item(a[0], bucket))
                except CosmosResourceNotFoundError:
                    pass

    def record_prediction_update(self, model_version: int, label_watermark: int, faces: int) -> None:
        doc = {
            "id": f"update:{time.time_ns():020d}:{uuid.uuid4().hex[:8]}",
            "pk": MODELS,
            "type": "update",
            "model_version": model_version,
            "label_watermark": label_watermark,
            "faces": faces,
            "updated_at": time.time(),
        }
        self._retry(lambda: self._c("models").create_item(doc), idempotent=False)

    def latest_prediction_update(self) -> dict | None:
        sql = "SELECT TOP 1 * FROM c WHERE c.pk = @pk AND c.type = 'update' ORDER BY c.id DESC"
        rows = self._query("models", sql, partition_key=MODELS, pk=MODELS)
        if not rows:
            return None
        return {k: rows[0][k] for k in ("model_version", "label_watermark", "faces", "updated_at")}

    # -- classifier versions -----------------------------------------------------------------
    def add_model_version(
        self, label_watermark: int, artifact_key: str, metrics: dict, note: str | None = None
    ) -> ModelVersion:
        created = time.time()
        fields = {"label_watermark": label_watermark, "artifact_key": artifact_key, "metrics": metrics, "note": note}

        def ops(version: int) -> list[tuple]:
            doc = {"id": f"version:{version}", "pk": MODELS, "type": "version", "version": version, **fields}
            return [("create", ({**doc, "passed_gate": None, "created_at": created},))]

        version = self._with_counter("models", MODELS, "version", 1, ops)
        return ModelVersion(version, label_watermark, artifact_key, metrics, None, False, created, note)

    def set_gate_result(self, version: int, passed: bool, promote: bool) -> None:
        """The serving version is one pointer document, so exactly one version is ever promoted."""
        while True:
            doc = self._read("models", f"version:{version}", MODELS)
            if doc is None:
                raise KeyError(f"no model version {version}")
            ops = [
                ("replace", (doc["id"], {**plain(doc), "passed_gate": bool(passed)}), {"if_match_etag": doc["_etag"]})
            ]
            if promote:
                ops.append(("upsert", ({"id": "serving", "pk": MODELS, "version": version},)))
            try:
                self._batch("models", MODELS, ops)
                return
            except Conflict as exc:
                if exc.status != 412:
                    raise

    def model_versions(self) -> list[ModelVersion]:
        docs = self._query(
            "models", "SELECT * FROM c WHERE c.pk = @pk AND c.type = 'version'", partition_key=MODELS, pk=MODELS
        )
        serving = self._read("models", "serving", MODELS)
        promoted = serving["version"] if serving else None
        versions = [
            ModelVersion(
                d["version"],
                d["label_watermark"],
                d["artifact_key"],
                d["metrics"],
                d.get("passed_gate"),
                d["version"] == promoted,
                d["created_at"],
                d.get("note"),
            )
            for d in docs
        ]
        return sorted(versions, key=lambda m: m.version, reverse=True)
