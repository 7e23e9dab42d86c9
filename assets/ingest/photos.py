"""raw_images: register new photos from the library, keyed by content hash."""

import hashlib

from dagster import AssetExecutionContext, MaterializeResult, asset

from resources.image_source.base import ImageSource
from resources.image_source.errors import SourceError
from resources.state_store.base import StateStore
from resources.state_store.records import PhotoEntry


@asset(group_name="ingest", compute_kind="python")
def raw_images(context: AssetExecutionContext, image_source: ImageSource, state_store: StateStore) -> MaterializeResult:
    """Photos in the library that the store has not seen (or that changed on disk).

    A file whose size and mtime are unchanged is skipped without reading it, so a rerun costs a
    listing, not a re-hash of the library. Sidecar and folder labels are kept with the image and
    become label events once its faces are known.
    """
    known = state_store.known_photos()
    counts = {"listed": 0, "new_images": 0, "duplicates": 0, "unreadable": 0, "labels_found": 0}
    notes: list[str] = []
    for entry in image_source.list_photos():
        counts["listed"] += 1
        if known.get(entry.key) == (entry.size, entry.mtime):
            continue
        try:
            data = image_source.read_bytes(entry.key)
        except SourceError as exc:
            state_store.register_photo(entry, None, str(exc))
            counts["unreadable"] += 1
            context.log.warning(f"{entry.key}: {exc}")
            continue
        persona, problem = image_source.persona_hint(entry.key)
        if problem:
            notes.append(f"{entry.key}: {problem}")
            context.log.warning(f"{entry.key}: {problem}")
        counts["labels_found"] += persona is not None
        entry = PhotoEntry(entry.key, entry.size, entry.mtime, persona)
        image_id = hashlib.sha256(data).hexdigest()
        if state_store.register_photo(entry, image_id):
            counts["new_images"] += 1
        else:
            counts["duplicates"] += 1
    context.log.info(f"raw_images: {counts}")
    return MaterializeResult(metadata={**counts, "sidecar_problems": "\n".join(notes[:50]) or "none"})
