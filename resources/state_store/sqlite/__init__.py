"""SQLite state store: the embedded default, one WAL-mode file under $FACELOOP_HOME.

WAL lets the labeling app read while a run writes; writers take the lock up front
(``BEGIN IMMEDIATE``) and wait on a busy timeout instead of failing, so concurrent writers
queue rather than lose updates.
"""

from resources.state_store.rules import CONFIDENCE_EPSILON
from resources.state_store.sqlite.connection import SCHEMA
from resources.state_store.sqlite.images import LOAD_BATCH
from resources.state_store.sqlite.store import SqliteStateStore

__all__ = ["CONFIDENCE_EPSILON", "LOAD_BATCH", "SCHEMA", "SqliteStateStore"]
