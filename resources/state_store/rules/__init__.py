"""The state store's rules, once for every backend: backends only read and write.

What a label event means, what a merge may do, which persona a merged persona's labels count for,
when a prediction changed and how an event is undone are decided here, on plain records, so
SQLite and Cosmos DB cannot drift apart; the property test holds both to an in-memory model.
One module per concern: label_events (what an event means, a face's derived state), personas
(merges and renames), undoing (an undo appends the inverse), prediction_changes (when a
prediction is worth a write), serving_version (the promoted version, or a labeler's pin).
"""

from __future__ import annotations

from resources.state_store.rules.label_events import (
    FACE_KINDS,
    LABEL_KINDS,
    LEGACY_MERGE_SOURCE,
    MAX_NAME_LENGTH,
    PERSONA_KINDS,
    SET_ASIDE_KINDS,
    UNDO_SOURCE,
    checked_face_event,
    derive_label_states,
    name_taken,
    stored_event,
    teaches_the_model,
    validate_persona_name,
)
from resources.state_store.rules.personas import (
    MergeRefused,
    PersonaChange,
    _name,
    check_merge,
    effective_personas,
    existing_persona,
    merge,
    rename,
    resolve,
    resolved_states,
)
from resources.state_store.rules.prediction_changes import (
    CONFIDENCE_EPSILON,
    prediction_changed,
)
from resources.state_store.rules.serving_version import (
    PinRefused,
    automatic,
    has_classifier,
    pin,
    serving,
    undo_serving_event,
)
from resources.state_store.rules.undoing import (
    UndoRefused,
    _checked_after,
    transition,
    undo_face_event,
    undo_persona_event,
)

__all__ = [
    "CONFIDENCE_EPSILON",
    "FACE_KINDS",
    "LABEL_KINDS",
    "LEGACY_MERGE_SOURCE",
    "MAX_NAME_LENGTH",
    "PERSONA_KINDS",
    "SET_ASIDE_KINDS",
    "UNDO_SOURCE",
    "MergeRefused",
    "PersonaChange",
    "PinRefused",
    "UndoRefused",
    "_checked_after",
    "_name",
    "automatic",
    "check_merge",
    "checked_face_event",
    "derive_label_states",
    "effective_personas",
    "existing_persona",
    "has_classifier",
    "merge",
    "name_taken",
    "pin",
    "prediction_changed",
    "rename",
    "resolve",
    "resolved_states",
    "serving",
    "stored_event",
    "teaches_the_model",
    "transition",
    "undo_face_event",
    "undo_persona_event",
    "undo_serving_event",
    "validate_persona_name",
]
