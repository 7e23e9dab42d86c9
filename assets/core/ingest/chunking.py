"""Ingest's plan: the photos still to do, cut into chunks of work, one mapped step each.

Plain lists in, plain lists out (the plan travels between steps as JSON), so ``ingest_faces``
(assets/ingest/chunks.py) only reads the store, calls this and yields one output per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from resources.state_store.records import ImageRecord


def split(items: list[str], size: int) -> list[list[str]]:
    """``items`` in consecutive chunks of at most ``size``; always one chunk, even if empty."""
    if size < 1:
        raise ValueError(f"photos_per_chunk must be at least 1, got {size}")
    return [items[start : start + size] for start in range(0, len(items), size)] or [[]]


def chunk_work(new: Mapping[str, ImageRecord], embed_only: Iterable[str], size: int) -> list[dict]:
    """The new photos, then the photos whose faces only lack an embedding, in chunks of ``size``.

    A chunk carries its new photos' records (id, key, import label) so that its step reads
    nothing from the store to know its work, and the other photos as ids.
    """
    return [
        {
            "detect": [[i, new[i].key, new[i].import_persona] for i in image_ids if i in new],
            "embed_only": [i for i in image_ids if i not in new],
        }
        for image_ids in split([*new, *embed_only], size)
    ]
