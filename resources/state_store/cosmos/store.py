"""The Cosmos DB state store, assembled from its parts (one file per concern in this folder)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from pydantic import Field, PrivateAttr

from resources.state_store.base import StateStore
from resources.state_store.cosmos.client import CosmosClientMixin
from resources.state_store.cosmos.images import CosmosEmbeddings, CosmosPhotos
from resources.state_store.cosmos.labels import CosmosLabels
from resources.state_store.cosmos.models import CosmosModels
from resources.state_store.cosmos.predictions import CosmosPredictions


class CosmosStateStore(
    CosmosClientMixin, CosmosPhotos, CosmosEmbeddings, CosmosLabels, CosmosPredictions, CosmosModels, StateStore
):
    """``endpoint`` and ``key`` come from the environment (Dagster ``EnvVar``); the key never prints.

    Atomic (one transactional batch each): an append of up to 98 label events, a merge, unmerge
    or rename with its log event, one image's status with its last faces, one bucket of
    predictions, a gate result with the serving pointer. Not atomic but safe to re-run:
    detection (labels with a receipt, then faces, then the status), embeddings (vectors, then the
    faces' marks), a prediction write (bucket by bucket), registering a photo (image, then
    photo). Retried on throttling and dropped connections only where a resend cannot apply twice.
    """

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
