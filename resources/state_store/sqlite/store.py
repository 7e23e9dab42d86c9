"""The SQLite state store, assembled from its parts (one file per concern in this folder)."""

from __future__ import annotations

import threading

from pydantic import PrivateAttr

from resources.state_store.base import StateStore
from resources.state_store.sqlite.connection import SqliteConnection
from resources.state_store.sqlite.images import SqliteEmbeddings, SqlitePhotos
from resources.state_store.sqlite.labels import SqliteLabels
from resources.state_store.sqlite.models import SqliteModels
from resources.state_store.sqlite.predictions import SqlitePredictions


class SqliteStateStore(
    SqliteConnection, SqlitePhotos, SqliteEmbeddings, SqliteLabels, SqlitePredictions, SqliteModels, StateStore
):
    """``path`` is the database file; it and its folder are created on first use.

    Atomic: every write method is one SQLite transaction (``BEGIN IMMEDIATE``), so detection's
    faces + status + import labels, a merge or rename with its log event, and a prediction diff
    each land whole or not at all. Idempotent: registering a photo, detection (faces are
    INSERT OR IGNORE), embeddings, predictions and gate results; appending label events is not
    (each call is new events), and undo appends only what is still needed, so a repeat adds none.
    """

    path: str
    busy_timeout_s: float = 30.0

    _local: threading.local = PrivateAttr(default_factory=threading.local)
