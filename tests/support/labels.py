"""Label edits the tests make through the StateStore API, as the app would record them."""

from __future__ import annotations

from resources.state_store.base import StateStore
from resources.state_store.records import LabelEvent, LabelKind


def remove_labels_except(store: StateStore, keep: dict[int, int]) -> None:
    """Remove every human label except ``keep[persona]`` faces of each kept persona.

    How the tests take a labeled library down to one or no labels per person (first labels, a
    training that cannot run) without building a new library.
    """
    kept: dict[int, int] = {}
    events = []
    for face_id, state in sorted(store.label_states().items()):
        if state.persona_id is None:
            continue
        if kept.get(state.persona_id, 0) < keep.get(state.persona_id, 0):
            kept[state.persona_id] = kept.get(state.persona_id, 0) + 1
        else:
            events.append(LabelEvent(face_id, LabelKind.REMOVE, None, source="app"))
    store.append_label_events(events)
