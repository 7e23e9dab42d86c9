from resources.state_store.base import StateStore
from resources.state_store.sqlite import SqliteStateStore

__all__ = ["SqliteStateStore", "StateStore"]
