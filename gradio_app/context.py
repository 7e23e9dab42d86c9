"""What every tab works on: the stores, the app's settings, and the pictures made from them."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from gradio_app.adapters import dagster_status
from gradio_app.adapters.url_fetch import FetchPolicy
from gradio_app.components import Tile, confidence_tone, thumbnail_src
from gradio_app.formatting import chance
from gradio_app.similar import ClassifierCache
from gradio_app.snapshot import FaceItem, Snapshot, face_records
from gradio_app.undo import UndoLog
from gradio_app.uploads import UploadLimits
from resources.artifact_store.base import ArtifactStore
from resources.face_engine.base import FaceEngine
from resources.image_source.base import ImageSource
from resources.image_source.errors import SourceError
from resources.state_store.base import StateStore

BOX_COLOUR = (250, 204, 21)
MAX_TILES = 300  # per grid; more would make the page slow without helping anyone


@dataclass
class AppContext:
    """The stores the app works on (the same resources the Dagster assets get) and its settings."""

    state_store: StateStore
    artifact_store: ArtifactStore
    image_source: ImageSource
    face_engine: FaceEngine
    fetch_policy: FetchPolicy = field(default_factory=FetchPolicy.from_env)
    upload_limits: UploadLimits = field(default_factory=UploadLimits.from_env)
    dagster_graphql_url: str = field(default_factory=dagster_status.graphql_url)
    classifier_cache: ClassifierCache = field(default_factory=ClassifierCache)
    undo_log: UndoLog = field(default_factory=UndoLog)
    _image_keys: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_resources(cls, resources: dict, **settings: Any) -> AppContext:
        """The app on the same resources the Dagster assets get (``resources_for_deployment()``)."""
        stores = ("state_store", "artifact_store", "image_source", "face_engine")
        return cls(**{name: resources[name] for name in stores}, **settings)

    @property
    def space(self) -> str:
        return self.face_engine.embedding_space

    def image_key(self, image_id: str) -> str | None:
        with self._lock:
            if image_id not in self._image_keys:
                self._image_keys.update({i.image_id: i.key for i in self.state_store.images()})
            return self._image_keys.get(image_id)

    def tiles(self, snap: Snapshot, items: list[FaceItem], show_name: bool = False) -> list[Tile]:
        records = face_records(self.state_store, [i.face_id for i in items])
        tiles = []
        for item in items:
            record = records.get(item.face_id)
            if record is None:
                continue
            badge = chance(item.confidence) if item.confidence is not None else ""
            caption = snap.name(item.persona_id) if show_name and item.persona_id is not None else ""
            if show_name and item.persona_id is None and item.candidate_persona_id is not None:
                caption = f"maybe {snap.name(item.candidate_persona_id)}?"
            tiles.append(
                Tile(
                    face_id=item.face_id,
                    src=thumbnail_src(self.artifact_store, record.thumbnail_key),
                    caption=caption,
                    badge=badge,
                    tone=confidence_tone(item.confidence),
                    title=self.image_key(record.image_id) or record.face_id,
                )
            )
        return tiles

    def thumbnail(self, face_id: str) -> Image.Image | None:
        record = face_records(self.state_store, [face_id]).get(face_id)
        if record is None:
            return None
        try:
            return Image.open(io.BytesIO(self.artifact_store.get(record.thumbnail_key))).convert("RGB")
        except (KeyError, OSError):
            return None

    def face_picture(self, face_id: str) -> Image.Image | None:
        """The face big enough to judge (thumbnails are small)."""
        face = self.thumbnail(face_id)
        if face is None:
            return None
        scale = 224 / max(face.size)
        return face.resize((round(face.width * scale), round(face.height * scale)), Image.Resampling.LANCZOS)

    def photo_with_box(self, face_id: str, max_side: int = 720) -> Image.Image | None:
        """The whole photo, the face framed: people recognise faces far better in context."""
        record = face_records(self.state_store, [face_id]).get(face_id)
        return self.photo_with_boxes(record.image_id, [(record.box, "")], max_side) if record else None

    def photo_with_boxes(
        self, image_id: str, boxes: Sequence[tuple[tuple[int, int, int, int], str]], max_side: int = 720
    ) -> Image.Image | None:
        """The photo with each face framed and, where given, named above its frame."""
        image = self.photo(image_id)
        if image is None:
            return None
        draw = ImageDraw.Draw(image)
        width = max(3, round(max(image.size) / 200))
        font = ImageFont.load_default(size=max(14, round(max(image.size) / 40)))
        for (x, y, w, h), name in boxes:
            draw.rectangle([x - width, y - width, x + w + width, y + h + width], outline=BOX_COLOUR, width=width)
            if name:
                left, top, right, bottom = draw.textbbox((x - width, y - width), name, font=font, anchor="lb")
                draw.rectangle([left - width, top - width, right + width, bottom], fill=BOX_COLOUR)
                draw.text((x - width, y - width), name, fill=(17, 24, 39), font=font, anchor="lb")
        image.thumbnail((max_side, max_side))
        return image

    def photo(self, image_id: str, side: int | None = None) -> Image.Image | None:
        """The photo upright, or None when it cannot be read; with ``side``, a small copy (JPEGs
        are decoded at a reduced scale, so a page of them stays quick)."""
        key = self.image_key(image_id)
        if key is None:
            return None
        try:
            image = Image.open(io.BytesIO(self.image_source.read_bytes(key)))
            if side is not None:
                image.draft("RGB", (side, side))
            image = ImageOps.exif_transpose(image).convert("RGB")
        except (SourceError, OSError):
            return None
        if side is not None:
            image.thumbnail((side, side))
        return image
