"""Cosmos DB photos, images and faces: an image and its faces share a partition (``images``)."""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence

import numpy as np
from azure.cosmos.exceptions import CosmosHttpResponseError

from resources.state_store.base import Detection
from resources.state_store.cosmos.client import BATCH_LIMIT, MODELS, batches, doc_id, plain
from resources.state_store.records import FaceRecord, ImageRecord, ImageStatus, PhotoEntry


class CosmosPhotos:
    """Mixin of CosmosStateStore, ``ports.PhotoLibrary``: photos, images, detection and the faces found."""

    def known_photos(self) -> dict[str, tuple[int, float]]:
        rows = self._query("photos", "SELECT c.key, c.size, c.mtime FROM c")
        return {row["key"]: (row["size"], row["mtime"]) for row in rows}

    def register_photo(self, entry: PhotoEntry, image_id: str | None, reason: str | None = None) -> bool:
        created = image_id is not None and self._register_image(entry, image_id)
        # The photo is written last: a crash in between leaves it unknown, so the next run retries it.
        photo = {
            "id": doc_id(entry.key),
            "key": entry.key,
            "size": entry.size,
            "mtime": entry.mtime,
            "image_id": image_id,
            "reason": reason,
            "persona_hint": entry.persona_hint,
            "seen_at": time.time(),
        }
        self._retry(lambda: self._c("photos").upsert_item(photo))
        return created

    def _register_image(self, entry: PhotoEntry, image_id: str) -> bool:
        doc = {
            "id": image_id,
            "image_id": image_id,
            "type": "image",
            "key": entry.key,
            "status": ImageStatus.NEW.value,
            "import_persona": entry.persona_hint,
            "created_at": time.time(),
        }
        try:
            self._retry(lambda: self._c("images").create_item(doc), idempotent=False)
            return True
        except CosmosHttpResponseError as exc:
            if exc.status_code != 409:
                raise

        # A duplicate may carry the label the first copy lacked; never drop it.
        def keep_hint() -> list[tuple] | None:
            current = self._read("images", image_id, image_id)
            if current["import_persona"] is not None or current["status"] != ImageStatus.NEW.value:
                return None
            changed = {**plain(current), "import_persona": entry.persona_hint}
            return [("replace", (image_id, changed), {"if_match_etag": current["_etag"]})]

        if entry.persona_hint:
            self._batch_while_current("images", image_id, keep_hint)
        return False

    @staticmethod
    def _image(doc: dict) -> ImageRecord:
        return ImageRecord(
            doc["image_id"],
            doc["key"],
            ImageStatus(doc["status"]),
            doc.get("reason"),
            doc.get("width"),
            doc.get("height"),
            doc.get("import_persona"),
        )

    def images(self, status: ImageStatus | None = None, limit: int | None = None) -> list[ImageRecord]:
        top = "TOP @limit " if limit is not None else ""
        where = " AND c.status = @status" if status is not None else ""
        params = {"limit": limit} if limit is not None else {}
        if status is not None:
            params["status"] = ImageStatus(status).value
        sql = f"SELECT {top}* FROM c WHERE c.type = 'image'{where} ORDER BY c.created_at"
        return [self._image(doc) for doc in self._query("images", sql, **params)]

    def unreadable_photos(self) -> dict[str, str]:
        rows = self._query("photos", "SELECT c.key, c.reason FROM c WHERE IS_NULL(c.image_id)")
        return {row["key"]: row["reason"] for row in rows}

    def _record_detection(self, found: Detection) -> None:
        # Not one transaction (labels, faces and the image may need several batches): labels
        # first with a receipt, then faces, then the status last, so a rerun finishes the job.
        image_id = found.image_id
        if found.label_events:  # with a receipt in the same batch: a rerun after a crash skips them
            self._append_events(found.label_events, receipt=f"receipt:{image_id}")
        parts = list(batches([self._face_doc(f) for f in found.faces], BATCH_LIMIT - 1)) or [[]]
        for part in parts[:-1]:
            self._batch("images", image_id, [("upsert", (doc,)) for doc in part])
        width, height = found.size or (None, None)

        def last_batch() -> list[tuple]:
            image = self._read("images", image_id, image_id)
            if image is None:
                raise KeyError(f"no image {image_id}")
            changed = {
                **plain(image),
                "status": found.status.value,
                "reason": found.reason,
                "width": width,
                "height": height,
                "processed_at": time.time(),
            }
            ops = [("upsert", (doc,)) for doc in parts[-1]]
            return [*ops, ("replace", (image_id, changed), {"if_match_etag": image["_etag"]})]

        self._batch_while_current("images", image_id, last_batch)

    @staticmethod
    def _face_doc(face: FaceRecord) -> dict:
        return {
            "id": face.face_id,
            "image_id": face.image_id,
            "type": "face",
            "index": face.index,
            "box": list(face.box),
            "confidence": face.confidence,
            "thumbnail_key": face.thumbnail_key,
            "aligned_key": face.aligned_key,
            "spaces": [],
        }

    @staticmethod
    def _face(doc: dict) -> FaceRecord:
        return FaceRecord(
            doc["id"],
            doc["image_id"],
            doc["index"],
            tuple(doc["box"]),
            doc["confidence"],
            doc["thumbnail_key"],
            doc["aligned_key"],
        )

    def faces(self, face_ids: Sequence[str] | None = None) -> list[FaceRecord]:
        if face_ids is None:
            docs = self._query("images", "SELECT * FROM c WHERE c.type = 'face' ORDER BY c.id")
            return [self._face(doc) for doc in docs]
        ids = list(face_ids)
        pairs = [(face_id, face_id.rsplit(":", 1)[0]) for face_id in dict.fromkeys(ids)]
        found: dict[str, FaceRecord] = {}
        for batch in batches(pairs, 1000):
            docs = self._retry(lambda c=batch: self._c("images").read_items(list(c)))
            found.update((doc["id"], self._face(doc)) for doc in docs if doc.get("type") == "face")
        return [found[i] for i in ids if i in found]


class CosmosEmbeddings:
    """Mixin of CosmosStateStore, ``ports.EmbeddingLibrary``: embeddings (``embeddings``, /space), the
    faces' marks of which spaces embed them, and the face graph."""

    def faces_missing_embedding(self, space: str, limit: int) -> list[FaceRecord]:
        sql = "SELECT TOP @limit * FROM c WHERE c.type = 'face' AND NOT ARRAY_CONTAINS(c.spaces, @space) ORDER BY c.id"
        return [self._face(doc) for doc in self._query("images", sql, limit=limit, space=space)]

    def put_embeddings(self, space: str, face_ids: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        docs = [
            {"id": face_id, "space": space, "vector": base64.b64encode(vectors[i].tobytes()).decode("ascii")}
            for i, face_id in enumerate(face_ids)
        ]
        self._map(
            lambda batch: self._batch("embeddings", space, [("upsert", (doc,)) for doc in batch]),
            batches(docs, BATCH_LIMIT),
        )
        # Then mark the faces; a crash in between only means those faces are embedded again.
        patch = [{"op": "add", "path": "/spaces/-", "value": space}]
        self._map(
            lambda face_id: self._retry(
                lambda: self._c("images").patch_item(face_id, face_id.rsplit(":", 1)[0], patch_operations=patch)
            ),
            face_ids,
        )
        self._count_library_write(space)

    def load_embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        rows = sorted(
            self._query(
                "embeddings", "SELECT c.id, c.vector FROM c WHERE c.space = @space", partition_key=space, space=space
            ),
            key=lambda r: r["id"],
        )
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(base64.b64decode(r["vector"]) for r in rows), dtype=np.float32)
        return [r["id"] for r in rows], matrix.reshape(len(rows), -1).copy()

    def put_neighbours(self, space: str, face_ids: Sequence[str], neighbour_ids: np.ndarray, sims: np.ndarray) -> None:
        # Kept on each face's embedding document (same partition), by face id.
        def link(row: int) -> None:
            patch = [
                {"op": "set", "path": "/neighbours", "value": [str(n) for n in neighbour_ids[row]]},
                {"op": "set", "path": "/sims", "value": [round(float(x), 6) for x in sims[row]]},
            ]
            container = self._c("embeddings")
            self._retry(lambda: container.patch_item(face_ids[row], space, patch_operations=patch))

        self._map(link, range(len(face_ids)))
        self._count_library_write(space)

    def _count_library_write(self, space: str) -> None:
        """After the write: a reader that saw the new stamp sees what was written before it."""
        counter = f"library:{space}"
        try:
            self._retry(lambda: self._c("models").create_item({"id": f"counter:{counter}", "pk": MODELS, "value": 0}))
        except CosmosHttpResponseError as exc:
            if exc.status_code != 409:
                raise
        self._with_counter("models", MODELS, counter, 1, lambda first: [])

    def library_stamp(self, space: str) -> tuple:
        counter = self._read("models", f"counter:library:{space}", MODELS)
        return ("cosmos", self.endpoint, self.database, space, counter["value"] if counter else 0)

    def load_neighbours(self, space: str, face_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        rows = self._query(
            "embeddings",
            "SELECT c.id, c.neighbours, c.sims FROM c WHERE c.space = @space",
            partition_key=space,
            space=space,
        )
        position = {face_id: row for row, face_id in enumerate(face_ids)}
        if len(rows) != len(face_ids) or any(r["id"] not in position or r.get("neighbours") is None for r in rows):
            return None  # faces embedded since face_ids was read, or not linked yet: computed instead
        k = len(rows[0]["neighbours"])
        if any(len(r["neighbours"]) != k for r in rows):
            return None
        positions = np.full((len(face_ids), k), -1, dtype=np.int64)
        sims = np.zeros((len(face_ids), k), dtype=np.float32)
        for r in rows:
            row = position[r["id"]]
            positions[row] = [position.get(n, -1) for n in r["neighbours"]]
            sims[row] = r["sims"]
        return positions, sims
