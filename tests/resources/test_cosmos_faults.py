"""Cosmos DB faults on the wire: throttling, unavailability and dropped connections.

The real azure-cosmos SDK talks to the local Cosmos DB protocol server through a fault-injecting
HTTPS proxy (tests/support/fault_proxy.py). test_state_store_contract.py checks ``_retry`` with
a raising callable; these tests put the faults into real HTTP exchanges, so the SDK's own retry
policies and the store's back-off are exercised together, headers included.
"""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import ServiceResponseError
from azure.cosmos.exceptions import CosmosHttpResponseError

from resources.state_store.cosmos import CosmosStateStore
from resources.state_store.records import LabelEvent, LabelKind, PhotoEntry
from tests.support.cosmos_server import LOCAL_KEY
from tests.support.fault_proxy import FaultPlan, fault_proxy

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


def writes(method: str, path: str) -> bool:
    """Document writes and queries (POST to .../docs/), not the setup of the database."""
    return method == "POST" and path.endswith("/docs/")


@pytest.fixture
def proxy(cosmos_endpoint):
    with fault_proxy(cosmos_endpoint) as proxy:
        yield proxy


@pytest.fixture
def store(proxy):
    store = CosmosStateStore(
        endpoint=proxy.endpoint, key=LOCAL_KEY, database=f"faults-{uuid.uuid4().hex[:10]}", verify_tls=False
    )
    store.label_watermark()  # database, containers and counters made without faults
    yield store
    store.close()


def retried(proxy) -> bool:
    """Every injected fault was followed by the same request forwarded."""
    seen = proxy.seen
    return all(
        any(later.action == "forward" and (later.method, later.path) == (s.method, s.path) for later in seen[i + 1 :])
        for i, s in enumerate(seen)
        if s.action != "forward"
    )


def test_throttling_with_retry_after_and_unavailability_are_retried_on_the_wire(proxy, store):
    proxy.plan = FaultPlan(faults=["429", "429", "503", "503", "429", "503"], retry_after_ms=150)
    started = time.monotonic()
    persona = store.ensure_persona("Ada")
    seqs = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, persona.persona_id)])
    assert store.register_photo(PhotoEntry("a.jpg", 10, 1.0), "img-a") is True
    elapsed = time.monotonic() - started
    assert len(proxy.injected()) == 6 and retried(proxy)
    assert elapsed >= 3 * 0.150  # every 429 waited at least the x-ms-retry-after-ms it was given
    assert [e.seq for e in store.label_events()] == seqs == [1]
    assert [i.key for i in store.images()] == ["a.jpg"]


def test_dropped_connections_on_reads_and_queries_are_retried(proxy, store):
    persona = store.ensure_persona("Ada")
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, persona.persona_id)])
    proxy.plan = FaultPlan(faults=["drop", "drop"], matches=lambda m, p: m == "GET")
    assert store.label_watermark() == 1
    proxy.plan = FaultPlan(faults=["drop", "drop"], matches=writes)
    assert [e.face_id for e in store.label_events()] == ["f1"]
    assert len(proxy.injected()) == 4 and retried(proxy)


def test_a_label_write_whose_connection_drops_is_reported_and_never_doubled(proxy, store):
    """A dropped write is not retried blindly: the append is not idempotent (a retry after the
    server applied it would add the labels twice). The caller gets an error; the log holds the
    events at most once; a fresh read tells the truth."""
    persona = store.ensure_persona("Ada")
    proxy.plan = FaultPlan(faults=["drop"], matches=writes)  # lost before it reached the server
    with pytest.raises(ServiceResponseError):
        store.append_label_events([LabelEvent("lost", LabelKind.ASSIGN, persona.persona_id)])
    proxy.plan = FaultPlan(faults=["lost_reply"], matches=writes)  # applied, the reply lost
    with pytest.raises(ServiceResponseError):
        store.append_label_events([LabelEvent("applied", LabelKind.ASSIGN, persona.persona_id)])
    proxy.plan = FaultPlan()
    assert [(e.face_id, e.seq) for e in store.label_events()] == [("applied", 1)]
    assert store.append_label_events([LabelEvent("next", LabelKind.ASSIGN, persona.persona_id)]) == [2]


def test_a_dropped_connection_on_an_idempotent_upsert_is_retried(proxy, store):
    proxy.plan = FaultPlan(faults=["drop"], matches=writes)
    store.register_photo(PhotoEntry("broken.jpg", 0, 1.0), None, "empty file")
    assert store.unreadable_photos() == {"broken.jpg": "empty file"}


def test_an_outage_longer_than_the_retries_fails_loudly_and_leaves_nothing_half_written(proxy, cosmos_endpoint):
    store = CosmosStateStore(
        endpoint=proxy.endpoint,
        key=LOCAL_KEY,
        database=f"outage-{uuid.uuid4().hex[:10]}",
        verify_tls=False,
        max_retries=2,
    )
    try:
        persona = store.ensure_persona("Ada")
        proxy.plan = FaultPlan(always="503")
        started = time.monotonic()
        with pytest.raises(CosmosHttpResponseError) as failure:
            store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, persona.persona_id)])
        assert failure.value.status_code == 503 and time.monotonic() - started < 60
        assert len(proxy.injected()) >= 3  # retried before giving up
        proxy.plan = FaultPlan()  # the service is back
        assert store.label_events() == [] and store.label_watermark() == 0
        assert store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, persona.persona_id)]) == [1]
    finally:
        store.close()
