"""Cosmos DB plumbing: the client and containers, retries with back-off, paging, batches, counters."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos import CosmosClient, PartitionKey
from azure.cosmos.exceptions import CosmosBatchOperationError, CosmosHttpResponseError, CosmosResourceNotFoundError
from dagster import EnvVar

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


def plain(doc: dict) -> dict:
    """A document without the service's system properties, ready to be written back."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CosmosClientMixin:
    """Mixin of CosmosStateStore (its fields and private attributes are declared there)."""

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
            (containers["models"], MODELS, "serving_event"),
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

    def _batch_while_current(self, container: str, partition_key: Any, plan: Callable[[], list[tuple] | None]) -> None:
        """Write ``plan()``'s batch; a 412 (a document it read IfNotModified changed since) plans again.

        ``plan`` reads what it needs afresh each time and returns None when there is nothing to write.
        """
        while (ops := plan()) is not None:
            try:
                self._batch(container, partition_key, ops)
                return
            except Conflict as exc:
                if exc.status != 412:
                    raise

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
