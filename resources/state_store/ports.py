"""The state store cut by what its consumers need: one small interface per concern.

``StateStore`` (base.py) is one Dagster resource with every method, because Dagster injects one
resource per key; but no consumer needs all of it. A function that takes a port says what it
touches (``load_library(library: EmbeddingLibrary, ...)`` reads embeddings and never a label), a
test can hand it a small fake, and a newcomer finds everything one part of FaceLoop may read or
write in one short class.

What each method promises is said once, on ``StateStore``; a port says who needs it and why.
Both backends implement every port through ``StateStore``, structurally: a ``Protocol`` cannot be
a base class of a pydantic resource (their metaclasses conflict), so
tests/resources/test_state_store_ports.py holds both backends to every port, signatures included.

=====================  ======================================  ==========================================
port                   backend mixin (sqlite/, cosmos/)        used by
=====================  ======================================  ==========================================
``PhotoLibrary``       ``*Photos`` (images.py)                 raw_images, ingest, new_images_sensor;
                                                               app: photos, snapshot, labels,
                                                               review, people, uploads, classifier
``EmbeddingLibrary``   ``*Embeddings`` (images.py)             ingest, assets/library.py (learning);
                                                               app (reads only): unknown, similar
``PersonaDirectory``   ``*Labels`` (labels.py)                 ingest (import labels), training;
                                                               app: people, labels, review, snapshot
``LabelLog``           ``*Labels`` (labels.py)                 training, relabeling, new_labels_sensor;
                                                               app: labels, review, people, snapshot,
                                                               undo, similar, classifier
``ModelRegistry``      ``*Models`` (models.py)                 face_classifier + gate, new_labels_sensor;
                                                               app: review, uploads, classifier
``ModelServing``       ``*Models`` (models.py)                 gate, relabeling, serving_changes_sensor;
                                                               app: undo, similar, classifier
``Predictions``        ``*Predictions`` (predictions.py)       relabeling, serving_changes_sensor;
                                                               app: header, snapshot, people, classifier
=====================  ======================================  ==========================================

"app" is the labeling app's logic modules (gradio_app/*.py); its ``AppContext`` holds the whole
``StateStore`` the deployment built and hands it to them. A consumer that needs two or more ports
takes a combined port named for it, defined at the end: ``PhotoIntake`` (ingest's detection),
``RetrainWatch`` (new_labels_sensor), and in the app ``AppSnapshot`` (snapshot), ``FaceLabeling``
(labels; review's answers and fixes; people's rename and merge), ``PeopleEditing`` (people's
delete), ``ClassifierStatus`` (classifier: the Classifier tab's and the header's status),
``SimilarSearch`` (similar), ``UndoSteps`` (undo) and ``UploadOutcomes`` (uploads). This module
imports no Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

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


@runtime_checkable
class PhotoLibrary(Protocol):
    """The photos seen and the faces found in them.

    Ingest registers listed photos (skipping files whose size and mtime it knows) and records
    each photo's detection; the new-photos sensor compares a listing with ``known_photos``; the
    app shows the photos, their faces and the files nobody could read.
    """

    def known_photos(self) -> dict[str, tuple[int, float]]: ...

    def register_photo(self, entry: PhotoEntry, image_id: str | None, reason: str | None = None) -> bool: ...

    def images(self, status: ImageStatus | None = None, limit: int | None = None) -> list[ImageRecord]: ...

    def unreadable_photos(self) -> dict[str, str]: ...

    def record_detection(
        self,
        image_id: str,
        status: ImageStatus,
        *,
        reason: str | None = None,
        size: tuple[int, int] | None = None,
        faces: Sequence[FaceRecord] = (),
        label_events: Sequence[LabelEvent] = (),
    ) -> None: ...

    def faces(self, face_ids: Sequence[str] | None = None) -> list[FaceRecord]: ...


@runtime_checkable
class EmbeddingLibrary(Protocol):
    """Each face's embedding per model space and the face graph kept with them: what learning reads.

    Ingest embeds the faces that lack an embedding and links new faces into the graph; training,
    relabeling and the app's Find similar read a whole space, and ``library_stamp`` tells them
    whether a copy read earlier is still current (assets/library.py).
    """

    def faces_missing_embedding(self, space: str, limit: int) -> list[FaceRecord]: ...

    def put_embeddings(self, space: str, face_ids: Sequence[str], vectors: np.ndarray) -> None: ...

    def load_embeddings(self, space: str) -> tuple[list[str], np.ndarray]: ...

    def put_neighbours(
        self, space: str, face_ids: Sequence[str], neighbour_ids: np.ndarray, sims: np.ndarray
    ) -> None: ...

    def load_neighbours(self, space: str, face_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None: ...

    def library_stamp(self, space: str) -> tuple: ...


@runtime_checkable
class PersonaDirectory(Protocol):
    """The people labels name: created by name, listed, renamed, merged.

    Ingest creates the person a photo's import label names; training reads every name (merged
    ones too) for its metrics; the app lists, creates, renames and merges people. Renames and
    merges are events in the label log, so ``LabelLog.undo`` takes them back.
    """

    def ensure_persona(self, name: str) -> Persona: ...

    def personas(self, include_merged: bool = False) -> list[Persona]: ...

    def rename_persona(self, persona_id: int, new_name: str, *, actor: str | None = None) -> Persona: ...

    def merge_personas(self, source_id: int, target_id: int, *, actor: str | None = None) -> None: ...


@runtime_checkable
class LabelLog(Protocol):
    """The append-only label event log and what it derives: each face's current label.

    The app appends labels and undoes them; training and relabeling read the label states up to
    a watermark; the label sensor watches the watermark and reads the events after it, to retrain
    only for labels that teach the model something.
    """

    def append_label_events(self, events: Sequence[LabelEvent]) -> list[int]: ...

    def label_watermark(self) -> int: ...

    def label_events(self, since: int = 0) -> list[LabelEvent]: ...

    def face_events(self, face_id: str) -> list[LabelEvent]: ...

    def persona_events(self, since: int = 0) -> list[PersonaEvent]: ...

    def label_states(self, upto: int | None = None) -> dict[str, FaceLabelState]: ...

    def undo(self, seq: int, actor: str | None = None) -> list[int]: ...


@runtime_checkable
class ModelRegistry(Protocol):
    """Classifier versions, failed training attempts included, and the quality gate's verdicts.

    ``face_classifier`` adds a version and its gate records the verdict; the label sensor asks
    which labels the newest version was trained on; the app lists versions and their metrics.
    """

    def add_model_version(
        self, label_watermark: int, artifact_key: str, metrics: dict, note: str | None = None
    ) -> ModelVersion: ...

    def set_gate_result(self, version: int, passed: bool, promote: bool) -> None: ...

    def model_versions(self) -> list[ModelVersion]: ...

    def latest_model(self) -> ModelVersion | None: ...

    def promoted_model(self) -> ModelVersion | None: ...


@runtime_checkable
class ModelServing(Protocol):
    """Which version predictions come from: a labeler's pin, else the version the gate promoted.

    The app pins a version, goes back to automatic and undoes either; relabeling and the gate
    read which version serves; the serving sensor relabels when that changed (``serving_events``).
    """

    def serving(self) -> Serving: ...

    def serving_model(self) -> ModelVersion | None: ...

    def serving_events(self) -> list[ServingEvent]: ...

    def pin_model(self, version: int, *, actor: str | None = None) -> int | None: ...

    def serve_automatically(self, *, actor: str | None = None) -> int | None: ...

    def undo_serving(self, seq: int, *, actor: str | None = None) -> list[int]: ...


@runtime_checkable
class Predictions(Protocol):
    """The predictions for faces without a human label, and the record of the last relabel.

    ``predicted_labels`` writes only the predictions that changed and records which model, which
    labels and how many faces they reflect; the serving sensor and the app read that record to
    know whether the predictions are current, and the app shows the predictions.
    """

    def predictions(self) -> dict[str, Prediction]: ...

    def write_predictions(
        self, predictions: Iterable[Prediction] | PredictionColumns, drop: Sequence[str] = ()
    ) -> int: ...

    def record_prediction_update(self, model_version: int, label_watermark: int, faces: int) -> None: ...

    def latest_prediction_update(self) -> dict | None: ...


PORTS: tuple[type, ...] = (
    PhotoLibrary,
    EmbeddingLibrary,
    PersonaDirectory,
    LabelLog,
    ModelRegistry,
    ModelServing,
    Predictions,
)


# -- what one consumer needs of two ports, named for that consumer ------------------------------
@runtime_checkable
class PhotoIntake(PhotoLibrary, PersonaDirectory, Protocol):
    """Detection's writes: a photo's faces and status, and the person its import label names
    (created on first sight, so the label can be stored with the faces)."""


@runtime_checkable
class RetrainWatch(LabelLog, ModelRegistry, Protocol):
    """The label sensor's reads: the label log, and the newest version to compare it with."""


# -- what the labeling app's consumers need of two ports or more (gradio_app/) ------------------
@runtime_checkable
class AppSnapshot(PersonaDirectory, LabelLog, Predictions, Protocol):
    """The app's snapshot reader (gradio_app/snapshot.py): every person, merged ones too, each
    face's label state and the label events, and the predictions, read once per request."""


@runtime_checkable
class FaceLabeling(PhotoLibrary, PersonaDirectory, LabelLog, Protocol):
    """The app's label writes (gradio_app/labels.py, and review and people through it): label
    events for faces that exist, for a person found or created by name; renames and merges,
    with the label-log events that let Undo take them back."""


@runtime_checkable
class PeopleEditing(PhotoLibrary, PersonaDirectory, LabelLog, Predictions, Protocol):
    """The People tab's delete (gradio_app/people.py): the snapshot says which faces the person
    has, and their labels are removed."""


@runtime_checkable
class ClassifierStatus(PhotoLibrary, LabelLog, ModelRegistry, ModelServing, Predictions, Protocol):
    """The status the Classifier tab and the header show (gradio_app/classifier.py): which version
    serves, the newest one, and how far the model and the predictions are behind the labels."""


@runtime_checkable
class SimilarSearch(EmbeddingLibrary, LabelLog, ModelServing, Protocol):
    """Find similar (gradio_app/similar.py): the library's embeddings, which faces are labeled, and
    the serving version that predicts who a dropped photo's faces are."""


@runtime_checkable
class UndoSteps(LabelLog, ModelServing, Protocol):
    """The app's Undo (gradio_app/undo.py): label and persona events, and serving pins, taken back."""


@runtime_checkable
class UploadOutcomes(PhotoLibrary, ModelRegistry, Protocol):
    """What became of the added photos (gradio_app/uploads.py): their status and faces, and
    whether a promoted version will predict who the faces are."""
