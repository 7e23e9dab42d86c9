"""The StateStore interface: everything FaceLoop knows, behind one API.

The assets, the sensors and the labeling app all read and write through this interface (each
through the small ports of ports.py that it needs), so a label given in the app and a label
imported from a sidecar travel the same path. Labels are an append-only event log; a face's
current label is derived from its events, never stored in place, so no label a person gave is
ever overwritten or lost. Merges and renames are events in the same log, and any of them can be
undone by appending the inverse (``undo``).

The public methods here are the rules (``rules``: validation, merges, derivation, undo) written
once; each backend implements only the underscored reads and writes below them. What a backend
makes atomic differs and is said on each backend's class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from dagster import ConfigurableResource

from resources.state_store import rules
from resources.state_store.records import (
    FaceLabelState,
    FaceRecord,
    ImageRecord,
    ImageStatus,
    LabelEvent,
    ModelVersion,
    Persona,
    PersonaEvent,
    PhotoEntry,
    Prediction,
    PredictionColumns,
    Serving,
    ServingEvent,
)
from resources.state_store.rules import PersonaChange

PredictionRow = tuple[str, int | None, float, int, int | None]  # Prediction's fields, in order


@dataclass(frozen=True)
class Detection:
    """One image's detection outcome, checked, as ``record_detection`` hands it to a backend."""

    image_id: str
    status: ImageStatus
    reason: str | None
    size: tuple[int, int] | None
    faces: Sequence[FaceRecord]
    label_events: Sequence[LabelEvent]


PersonaPlan = Callable[[dict[int, Persona]], PersonaChange | None]


class StateStore(ConfigurableResource, ABC):
    """Every port of ports.py in one Dagster resource, the rules written once above the backends.

    Dagster injects this class into assets, checks and sensors; they hand it on to functions
    typed with the port they need (``PhotoLibrary``, ``LabelLog``, ...). The sections below follow
    the ports; a backend's mixin serves one section (its labels and its models mixins two each).
    """

    # -- PhotoLibrary: photos, their detection and the faces found ----------------------------
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
        """Store a photo's faces, its new status and any import labels for them.

        Safe to re-run after a crash on every backend (labels are recorded once); one transaction
        on SQLite, labels-then-faces-then-status on Cosmos DB (see the backends).
        """
        events = [rules.checked_face_event(e) for e in label_events]  # bad input fails before any write
        self._record_detection(Detection(image_id, ImageStatus(status), reason, size, faces, events))

    @abstractmethod
    def _record_detection(self, found: Detection) -> None: ...

    @abstractmethod
    def faces(self, face_ids: Sequence[str] | None = None) -> list[FaceRecord]:
        """The faces detection found: these ids' in their order (unknown ids left out), or all by id."""

    # -- EmbeddingLibrary: embeddings per model space and the face graph kept with them --------
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

    @abstractmethod
    def library_stamp(self, space: str) -> tuple:
        """Equal stamps, the same library: a token of this database and ``space`` that changes with
        every write of an embedding or a neighbour list there (in the write's transaction, or
        after it), so a copy of the library read after a stamp is current while the stamp is."""

    # -- PersonaDirectory: the people labels name ----------------------------------------------
    def ensure_persona(self, name: str) -> Persona:
        """The persona with this name, created if missing (two creators of one name get one)."""
        return self._ensure_persona(rules.validate_persona_name(name))

    def personas(self, include_merged: bool = False) -> list[Persona]:
        """By name; without ``include_merged``, exactly the people nobody merged into another."""
        found = rules.effective_personas(self._stored_personas()).values()
        return sorted((p for p in found if include_merged or p.merged_into is None), key=lambda p: p.name)

    def rename_persona(self, persona_id: int, new_name: str, *, actor: str | None = None) -> Persona:
        """A new name for the same person (its labels stay); logged, so it can be undone."""
        change = self._change_personas(lambda personas: rules.rename(persona_id, new_name, personas, actor))[0]
        return change.personas[0] if change else self._effective_personas()[persona_id]

    def merge_personas(self, source_id: int, target_id: int, *, actor: str | None = None) -> None:
        """Every label of ``source`` now counts for ``target``; the events stay as they were.

        Refused (``rules.MergeRefused``, a ValueError) unless both are people still shown: so a
        merge can never hide both, whatever stale page the request came from.
        """
        self._change_personas(lambda personas: rules.merge(source_id, target_id, personas, actor))

    def _effective_personas(self) -> dict[int, Persona]:
        return rules.effective_personas(self._stored_personas())

    def _change_personas(self, plan: PersonaPlan) -> tuple[PersonaChange | None, list[int]]:
        """Run ``plan`` on the current personas and write what it decides, with its event."""
        return self._write_persona_change(lambda stored: plan(rules.effective_personas(stored)))

    @abstractmethod
    def _ensure_persona(self, name: str) -> Persona: ...

    @abstractmethod
    def _stored_personas(self) -> list[Persona]:
        """Every persona as stored (merged ones included, any order)."""

    @abstractmethod
    def _write_persona_change(
        self, plan: Callable[[list[Persona]], PersonaChange | None]
    ) -> tuple[PersonaChange | None, list[int]]:
        """Read the stored personas, call ``plan`` and write its personas and event, such that no
        concurrent change of the personas it names is lost (a backend re-plans on a conflict).
        Returns the change written (None: nothing to do) and its event's sequence numbers."""

    # -- LabelLog: the append-only event log and each face's derived label ---------------------
    def append_label_events(self, events: Sequence[LabelEvent]) -> list[int]:
        """Append face label events; returns their sequence numbers (strictly increasing)."""
        return self._append_label_events([rules.checked_face_event(e) for e in events])

    @abstractmethod
    def _append_label_events(self, events: Sequence[LabelEvent]) -> list[int]: ...

    @abstractmethod
    def label_watermark(self) -> int:
        """Sequence number of the newest event, persona events included (0 when none)."""

    @abstractmethod
    def label_events(self, since: int = 0) -> list[LabelEvent]:
        """Face label events with ``seq > since`` in sequence order (persona events are not)."""

    @abstractmethod
    def face_events(self, face_id: str) -> list[LabelEvent]:
        """One face's label events in sequence order."""

    @abstractmethod
    def persona_events(self, since: int = 0) -> list[PersonaEvent]:
        """Merges, unmerges and renames with ``seq > since`` in sequence order."""

    @abstractmethod
    def _logged_event(self, seq: int) -> LabelEvent | PersonaEvent | None: ...

    def label_states(self, upto: int | None = None) -> dict[str, FaceLabelState]:
        """Each face's current label (persona merges applied), from events up to ``upto``."""
        events = [e for e in self.label_events() if upto is None or (e.seq or 0) <= upto]
        return rules.resolved_states(rules.derive_label_states(events), self._effective_personas())

    def undo(self, seq: int, actor: str | None = None) -> list[int]:
        """Undo the label action logged as ``seq`` by appending its inverse; the log is never rewritten.

        A face label: the face's label and rejections as they were before it. A merge: both
        people are back with exactly their own faces. A rename: the old name. Returns the new
        events' sequence numbers, empty when it is undone already (so a repeat adds nothing);
        ``rules.UndoRefused`` when the face or persona changed again since (undo that first).
        """
        event = self._logged_event(seq)
        if event is None:
            raise KeyError(f"no label event {seq}")
        if isinstance(event, LabelEvent):
            inverse = rules.undo_face_event(self.face_events(event.face_id), seq, actor)
            return self.append_label_events(inverse) if inverse else []

        return self._change_personas(lambda personas: rules.undo_persona_event(event, personas, actor))[1]

    # -- Predictions: of faces without a human label, and the last relabel -------------------
    @abstractmethod
    def predictions(self) -> dict[str, Prediction]: ...

    def write_predictions(self, predictions: Iterable[Prediction] | PredictionColumns, drop: Sequence[str] = ()) -> int:
        """Upsert predictions that differ from the stored ones (``rules.prediction_changed``),
        delete ``drop``; returns writes. Columns go to the backend as rows, never as a million
        ``Prediction`` objects. Idempotent: a repeat writes nothing."""
        if isinstance(predictions, PredictionColumns):
            rows: Iterator[PredictionRow] = predictions.rows()
        else:
            rows = (
                (p.face_id, p.persona_id, p.confidence, p.model_version, p.candidate_persona_id) for p in predictions
            )
        return self._write_prediction_rows(rows, list(dict.fromkeys(drop)))

    @abstractmethod
    def _write_prediction_rows(self, rows: Iterator[PredictionRow], drop: list[str]) -> int: ...

    @abstractmethod
    def record_prediction_update(self, model_version: int, label_watermark: int, faces: int) -> None:
        """Predictions now come from this model, trained on labels up to ``label_watermark``, over ``faces``."""

    @abstractmethod
    def latest_prediction_update(self) -> dict | None:
        """``{"model_version", "label_watermark", "faces", "updated_at"}`` of the last update, if any."""

    # -- ModelRegistry: classifier versions and the gate's verdicts ----------------------------
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

    def latest_model(self) -> ModelVersion | None:
        """The newest version, a failed training attempt included (None before the first)."""
        versions = self.model_versions()
        return versions[0] if versions else None

    def promoted_model(self) -> ModelVersion | None:
        """The version the quality gate promoted last (a pin may serve another: ``serving_model``)."""
        return next((m for m in self.model_versions() if m.promoted), None)

    # -- ModelServing: which version serves (rules.serving), a labeler's pin or the promoted --
    def serving(self) -> Serving:
        """The serving version with its pin (if one holds) and the promoted one, from one read."""
        return rules.serving(self.model_versions(), self._serving_events())

    def serving_model(self) -> ModelVersion | None:
        """The version predictions come from: the pinned one while a pin holds, else the promoted."""
        return self.serving().model

    def pin_model(self, version: int, *, actor: str | None = None) -> int | None:
        """Serve ``version`` until the next version that passes the quality gate, or the labeler,
        lifts the pin; logged. Refused (``rules.PinRefused``) for a failed training attempt.
        Returns the event's sequence number, None when this pin already holds."""
        event = rules.pin(version, self.model_versions(), self._serving_events(), actor)
        return self._append_serving_event(event) if event else None

    def serve_automatically(self, *, actor: str | None = None) -> int | None:
        """Lift the pin: the promoted version serves again. None when no pin holds."""
        event = rules.automatic(self.model_versions(), self._serving_events(), actor)
        return self._append_serving_event(event) if event else None

    def undo_serving(self, seq: int, *, actor: str | None = None) -> list[int]:
        """Undo serving event ``seq`` (a pin, or back to automatic) by appending its inverse."""
        event = rules.undo_serving_event(self.model_versions(), self._serving_events(), seq, actor)
        return [self._append_serving_event(event)] if event else []

    def serving_events(self) -> list[ServingEvent]:
        """Pins and returns to automatic, oldest first."""
        return sorted(self._serving_events(), key=lambda e: e.seq or 0)

    @abstractmethod
    def _serving_events(self) -> list[ServingEvent]: ...

    @abstractmethod
    def _append_serving_event(self, event: ServingEvent) -> int:
        """Append one serving event (its seq and time assigned here); returns its seq."""
