"""When a prediction changed (and is worth a write)."""

from __future__ import annotations

from resources.state_store.records import (
    Prediction,
)

CONFIDENCE_EPSILON = 1e-4  # smaller confidence changes are not worth a write


def prediction_changed(old: Prediction | None, new: Prediction) -> bool:
    """Worth a write: new, another persona or candidate, or a confidence moved more than epsilon.

    SQLite evaluates this same rule inside its diff query (see ``sqlite.predictions``), since a
    relabel compares a million rows at once.
    """
    return (
        old is None
        or old.persona_id != new.persona_id
        or old.candidate_persona_id != new.candidate_persona_id
        or abs(old.confidence - new.confidence) > CONFIDENCE_EPSILON
    )
