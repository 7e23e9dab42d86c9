"""Azure Cosmos DB state store: the same StateStore contract as SQLite, for the Azure deployment.

Containers and partition keys follow the access patterns (see ARCHITECTURE.md):

- ``photos``      /id        one document per listed file (id = hash of its source key)
- ``images``      /image_id  an image and its faces share a partition, so detection is one batch
- ``embeddings``  /space     the classifier loads a whole model space: one single-partition query
- ``labels``      /pk        one partition ("log"): the seq counter, label events, personas and name
                             claims, so appends, merges and renames are atomic transactional batches
- ``predictions`` /bucket    32 hash buckets: changed predictions go out as concurrent batches
- ``models``      /pk        one partition: classifier versions, their counter, the promoted pointer, the serving log

Two writers never overwrite each other: counters and personas are replaced with the etag they were
read with (IfNotModified; a 412 re-reads and retries), and the reserved sequence numbers are written
in the same batch as the events, so a visible seq implies every lower one is visible too.
"""

from resources.state_store.cosmos.client import (
    BATCH_LIMIT,
    CONTAINERS,
    LOG,
    MODELS,
    RETRYABLE,
    Conflict,
    batches,
    doc_id,
    plain,
    resolved,
)
from resources.state_store.cosmos.predictions import PREDICTION_BUCKETS, bucket_of
from resources.state_store.cosmos.store import CosmosStateStore

__all__ = [
    "BATCH_LIMIT",
    "CONTAINERS",
    "LOG",
    "MODELS",
    "PREDICTION_BUCKETS",
    "RETRYABLE",
    "Conflict",
    "CosmosStateStore",
    "batches",
    "bucket_of",
    "doc_id",
    "plain",
    "resolved",
]
