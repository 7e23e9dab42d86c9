"""Fixtures for the resource tests: the Cosmos DB protocol server and one store per backend."""

from __future__ import annotations

import uuid

import pytest

from resources.state_store.cosmos import CosmosStateStore
from resources.state_store.sqlite.store import SqliteStateStore
from tests.support.cosmos_server import LOCAL_KEY, cosmos_server


@pytest.fixture(scope="session")
def cosmos_endpoint():
    with cosmos_server() as endpoint:
        yield endpoint


@pytest.fixture
def cosmos_store_factory(cosmos_endpoint):
    """New CosmosStateStore clients on one fresh database (as separate processes would have)."""
    database = f"test-{uuid.uuid4().hex[:12]}"
    made = []

    def make(**overrides) -> CosmosStateStore:
        store = CosmosStateStore(
            endpoint=cosmos_endpoint, key=LOCAL_KEY, database=database, verify_tls=False, **overrides
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(params=["sqlite", "cosmos"])
def store_factory(request, tmp_path):
    """A factory of clients of one fresh store, on each backend of the StateStore contract."""
    if request.param == "sqlite":
        path = str(tmp_path / "state.db")
        return lambda **_: SqliteStateStore(path=path)
    return request.getfixturevalue("cosmos_store_factory")


@pytest.fixture
def store(store_factory):
    return store_factory()
