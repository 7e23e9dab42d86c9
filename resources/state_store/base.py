"""The StateStore interface: everything FaceLoop knows, behind one API.

The assets, the sensors and the labeling app all read and write through this interface, so a
label given in the app and a label imported from a sidecar travel the same path. Labels are an
append-only event log; a face's current label is derived from its events, never stored in place,
so no label a person gave is ever overwritten or lost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import numpy as np
from dagster import ConfigurableResource

from resources.state_store.records import (
    FaceLabelState,
    FaceRecord,
    ImageRecord,
    ImageStatus,
    LabelEvent,
    ModelVersion,
    Persona,
    PhotoEntry,
    Prediction,
)


class StateStore(ConfigurableResource, ABC):
    # -- photos and images -------------------------------------------------------------------
    @abstractmethod
    def known_photos(self) -> dict[str, tuple[int, float]]:
        """Source key -> (size, mtime) of every photo seen, so unchanged files are skipped."""

    @abstractmethod
    def register_photo(self, entry: PhotoEntry, image_id: str | None, reason: str | None = None) -> bool:
        """Record a listed photo; ``image_id`` None means unreadable (``reason`` says why).

        Returns True when the content is new (not a duplicate of an image already known).
        """

    @abstractmethod
    def images(self, status: ImageStatus | None = None, limit: int | None = None) -> list[ImageRecord]: ...

    @abstractmethod
    def unreadable_photos(self) -> dict[str, str]:
        """Source key -> reason, for photos that could not be read at all."""

    @abstractmethod
    def record_detection(
        self,
        image_id: str,
        status: ImageStatus,
        *,
        reason: str | None = None,
        size: tuple[int, int] | None = None,
        faces: Sequence[FaceRecord] = (),
        label_events: Sequence[LabelEvent] = (),
    ) -> None:
        """Atomically store a photo's faces, its new status and any import labels for them."""

    # -- faces and embeddings ----------------------------------------------------------------
    @abstractmethod
    def faces(self, face_ids: Sequence[str] | None = None) -> list[FaceRecord]: ...

    @abstractmethod
    def faces_missing_embedding(self, space: str, limit: int) -> list[FaceRecord]: ...

    @abstractmethod
    def put_embeddings(self, space: str, face_ids: Sequence[str], vectors: np.ndarray) -> None: ...

    @abstractmethod
    def load_embeddings(self, space: str) -> tuple[list[str], np.ndarray]:
        """All embeddings of one model: face ids and a float32 (n, d) matrix in the same order."""

    # The face graph (each face's nearest neighbours) can be kept with the embeddings, so that
    # relabeling a large library does not search neighbours for every face again. A store that
    # does not keep it returns None, and callers compute the graph exactly instead.
    def put_neighbours(self, space: str, face_ids: Sequence[str], neighbour_ids: np.ndarray, sims: np.ndarray) -> None:
        """Store each face's nearest neighbours (``neighbour_ids`` an (n, k) array of face ids)."""

    def load_neighbours(self, space: str, face_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """(n, k) row positions in ``face_ids`` (-1 where unknown) and similarities, or None."""
        return None

    # -- personas ----------------------------------------------------------------------------
    @abstractmethod
    def ensure_persona(self, name: str) -> Persona:
        """The persona with this name, created if missing."""

    @abstractmethod
    def personas(self, include_merged: bool = False) -> list[Persona]: ...

    @abstractmethod
    def rename_persona(self, persona_id: int, new_name: str) -> Persona: ...

    @abstractmethod
    def merge_personas(self, source_id: int, target_id: int) -> None:
        """Every label of ``source`` now counts for ``target``; the events stay as they were."""

    # -- labels ------------------------------------------------------------------------------
    @abstractmethod
    def append_label_events(self, events: Sequence[LabelEvent]) -> list[int]:
        """Append events; returns their sequence numbers (strictly increasing)."""

    @abstractmethod
    def label_watermark(self) -> int:
        """Sequence number of the newest label event (0 when none)."""

    @abstractmethod
    def label_events(self, since: int = 0) -> list[LabelEvent]:
        """Events with ``seq > since`` in sequence order."""

    def label_states(self, upto: int | None = None) -> dict[str, FaceLabelState]:
        """Each face's current label (persona merges applied), from events up to ``upto``."""
        from resources.state_store.records import derive_label_states

        events = [e for e in self.label_events() if upto is None or (e.seq or 0) <= upto]
        states = derive_label_states(events)
        merged = {p.persona_id: p.merged_into for p in self.personas(include_merged=True)}

        def resolve(persona_id: int | None) -> int | None:
            seen = set()
            while persona_id is not None and merged.get(persona_id) and persona_id not in seen:
                seen.add(persona_id)
                persona_id = merged[persona_id]
            return persona_id

        return {
            face_id: FaceLabelState(resolve(state.persona_id), frozenset(resolve(p) for p in state.rejected))
            for face_id, state in states.items()
        }

    # -- predictions -------------------------------------------------------------------------
    @abstractmethod
    def predictions(self) -> dict[str, Prediction]: ...

    @abstractmethod
    def write_predictions(self, predictions: Iterable[Prediction], drop: Sequence[str] = ()) -> int:
        """Upsert predictions that differ from the stored ones, delete ``drop``; returns writes.

        ``predictions`` may be a ``PredictionColumns``: a store that can diff columns in bulk
        should, since relabeling writes the whole library's predictions at once.
        """

    @abstractmethod
    def record_prediction_update(self, model_version: int, label_watermark: int, faces: int) -> None:
        """Predictions now come from this model, trained on labels up to ``label_watermark``, over ``faces``."""

    @abstractmethod
    def latest_prediction_update(self) -> dict | None:
        """``{"model_version", "label_watermark", "faces", "updated_at"}`` of the last update, if any."""

    # -- classifier versions -----------------------------------------------------------------
    @abstractmethod
    def add_model_version(
        self, label_watermark: int, artifact_key: str, metrics: dict, note: str | None = None
    ) -> ModelVersion: ...

    @abstractmethod
    def set_gate_result(self, version: int, passed: bool, promote: bool) -> None:
        """Record the quality gate's verdict; ``promote`` makes this version the serving one."""

    @abstractmethod
    def model_versions(self) -> list[ModelVersion]:
        """All versions, newest first."""

    def promoted_model(self) -> ModelVersion | None:
        return next((m for m in self.model_versions() if m.promoted), None)

    def latest_model(self) -> ModelVersion | None:
        versions = self.model_versions()
        return versions[0] if versions else None
