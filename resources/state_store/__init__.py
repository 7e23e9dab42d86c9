"""The state store: ``StateStore`` (the rules, once), SQLite (default) and Cosmos DB backends."""

from resources.state_store.base import StateStore
from resources.state_store.sqlite import SqliteStateStore

__all__ = ["CosmosStateStore", "SqliteStateStore", "StateStore"]


def __getattr__(name: str):
    # The Cosmos backend imports the Azure SDK: only those who use it pay for that.
    if name == "CosmosStateStore":
        from resources.state_store.cosmos import CosmosStateStore

        return CosmosStateStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
