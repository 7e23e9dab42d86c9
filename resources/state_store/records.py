"""Plain records exchanged through the StateStore interface, backend-neutral."""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np


class ImageStatus(enum.StrEnum):
    NEW = "new"  # registered, faces not detected yet
    DONE = "done"  # faces detected (one or more)
    NO_FACE = "no_face"  # decoded fine, no face found
    ERROR = "error"  # could not be used; ``reason`` says why


class LabelKind(enum.StrEnum):
    ASSIGN = "assign"  # this face is persona P
    CONFIRM = "confirm"  # a person agreed with the predicted persona P
    REJECT = "reject"  # this face is not persona P (the classifier must respect it)
    REMOVE = "remove"  # forget the human label of this face (a stranger or not-a-face verdict too)
    STRANGER = "stranger"  # someone the labeler does not know: never ask about this face again
    NOT_FACE = "not_face"  # the detector was wrong: this is no face
    CHECK = "check"  # a person checked the face's label P and kept it (None: the check taken back)
    # Persona events (no face): they change what labels count for, so they are in the log too.
    MERGE = "merge"  # persona P's labels now count for persona ``into``
    UNMERGE = "unmerge"  # a merge undone: P and its labels are back
    RENAME = "rename"  # persona P is called ``name`` now (was ``previous_name``)


@dataclass(frozen=True)
class PhotoEntry:
    """A photo as listed by an image source; ``size``/``mtime`` let ingest skip known files cheaply."""

    key: str
    size: int
    mtime: float
    persona_hint: str | None = None  # from a sidecar or a persona folder


@dataclass(frozen=True)
class ImageRecord:
    image_id: str  # sha256 of the content: the same photo twice is one image
    key: str
    status: ImageStatus = ImageStatus.NEW
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    import_persona: str | None = None


@dataclass(frozen=True)
class FaceRecord:
    face_id: str  # "<image_id>:<index>", stable across reruns
    image_id: str
    index: int
    box: tuple[int, int, int, int]
    confidence: float
    thumbnail_key: str
    aligned_key: str


@dataclass(frozen=True)
class Persona:
    persona_id: int
    name: str
    merged_into: int | None = None


@dataclass(frozen=True)
class LabelEvent:
    face_id: str
    kind: LabelKind
    persona_id: int | None
    source: str = "app"  # "app", "import", ...
    actor: str | None = None
    seq: int | None = None  # assigned by the store, strictly increasing
    created_at: float | None = None


@dataclass(frozen=True)
class PersonaEvent:
    """A merge, unmerge or rename, in the same log and sequence as the face labels."""

    kind: LabelKind
    persona_id: int | None  # None only for a merge logged by an older FaceLoop (it named the target only)
    into: int | None = None  # MERGE / UNMERGE: the persona the labels counted for
    name: str | None = None  # RENAME: the new name
    previous_name: str | None = None  # RENAME: the name before
    actor: str | None = None
    seq: int | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class FaceLabelState:
    """A face's label as derived from its events."""

    persona_id: int | None
    rejected: frozenset[int] = frozenset()
    set_aside: LabelKind | None = None  # STRANGER or NOT_FACE: no persona will ever be asked or predicted
    checked: int | None = None  # the label was checked and kept as this persona (while it still is the label)

    @property
    def settled(self) -> bool:
        """Nothing to predict: a person labeled it, or said it is a stranger or no face."""
        return self.persona_id is not None or self.set_aside is not None


@dataclass(frozen=True)
class Prediction:
    face_id: str
    persona_id: int | None  # None: unknown
    confidence: float
    model_version: int
    candidate_persona_id: int | None = None  # best guess even when unknown, for review


@dataclass(frozen=True)
class PredictionColumns:
    """Many predictions of one model version as columns.

    Relabeling a million faces as a million ``Prediction`` objects costs seconds and hundreds of
    MB; ``StateStore.write_predictions`` hands them to a backend as plain rows (``rows``), which
    SQLite diffs in bulk and Cosmos DB compares one by one.
    """

    face_ids: Sequence[str]
    candidate_persona_ids: np.ndarray  # int64: the best persona, even when unknown
    known: np.ndarray  # bool: the face is that persona (else "unknown")
    confidences: np.ndarray  # float64, rounded to 4 places
    model_version: int

    def __len__(self) -> int:
        return len(self.face_ids)

    def rows(self) -> Iterator[tuple[str, int | None, float, int, int]]:
        """Plain tuples in ``Prediction``'s field order, for stores that write rows in bulk."""
        personas = [
            c if k else None for c, k in zip(self.candidate_persona_ids.tolist(), self.known.tolist(), strict=True)
        ]
        columns = (self.face_ids, personas, self.confidences.tolist(), itertools.repeat(self.model_version))
        return zip(*columns, self.candidate_persona_ids.tolist(), strict=False)  # repeat() is endless

    def __iter__(self) -> Iterator[Prediction]:
        return (Prediction(*row) for row in self.rows())


@dataclass(frozen=True)
class ModelVersion:
    version: int
    label_watermark: int
    artifact_key: str
    metrics: dict = field(default_factory=dict)
    passed_gate: bool | None = None
    promoted: bool = False
    created_at: float | None = None
    note: str | None = None


class ServingKind(enum.StrEnum):
    PIN = "pin"  # a labeler chose the version that serves
    AUTOMATIC = "automatic"  # a labeler gave serving back to the quality gate


@dataclass(frozen=True)
class ServingEvent:
    """One entry of the serving log (append-only, its own sequence): a pin, or back to automatic.

    A pin holds until a version checked after it passes the quality gate: ``newest_checked`` is
    the newest version with a gate verdict when it was made, so a later promotion lifts it.
    """

    kind: ServingKind
    version: int | None = None  # PIN: the version that serves
    newest_checked: int = 0  # PIN: newest version the gate had judged when it was pinned
    source: str = "app"  # "app" or "undo"
    actor: str | None = None
    seq: int | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class Serving:
    """Which version serves and why (``rules.serving``): the pin that holds, else the promoted one."""

    model: ModelVersion | None
    promoted: ModelVersion | None
    pin: ServingEvent | None = None  # the pin that holds now
    lifted_pin: ServingEvent | None = None  # the last pin, when a version that passed the gate lifted it

    @property
    def pinned(self) -> bool:
        return self.pin is not None
