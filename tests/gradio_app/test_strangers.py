"""Strangers and non-faces in the app's actions, on a real SQLite store holding a real lfw10 run."""

from __future__ import annotations

import pytest

from gradio_app.errors import ActionError
from gradio_app.labels import restore_faces, set_aside
from gradio_app.review import review_queue
from gradio_app.snapshot import snapshot
from gradio_app.unknown import unknown_face_ids
from resources.state_store.records import LabelKind


@pytest.mark.parametrize("kind", [LabelKind.STRANGER, LabelKind.NOT_FACE])
def test_a_face_set_aside_leaves_review_and_unknown_groups_and_is_listed(store, kind):
    snap = snapshot(store)
    asked = review_queue(snap, limit=0)[0]
    unknown = unknown_face_ids(snap, [f for f, p in store.predictions().items() if p.persona_id is None])[0]

    set_aside(store, [asked.face_id, unknown], kind)

    snap = snapshot(store)
    assert asked.face_id not in {i.face_id for i in review_queue(snap, limit=0)}
    assert unknown_face_ids(snap, [unknown]) == []
    assert snap.open_prediction(asked.face_id) is None
    assert snap.set_aside_faces() == {asked.face_id: kind, unknown: kind}
    assert [e.kind for e in store.label_events() if e.source == "app"] == [kind, kind]


def test_a_restored_face_is_asked_about_again(store):
    asked = review_queue(snapshot(store), limit=1)[0]
    set_aside(store, [asked.face_id], LabelKind.STRANGER)
    restore_faces(store, [asked.face_id])
    snap = snapshot(store)
    assert snap.set_aside_faces() == {}
    assert asked.face_id in {i.face_id for i in review_queue(snap, limit=0)}


def test_setting_aside_needs_a_verdict_and_a_face(store):
    face = next(iter(store.predictions()))
    with pytest.raises(ActionError, match="not a stranger"):
        set_aside(store, [face], LabelKind.ASSIGN)
    with pytest.raises(ActionError, match="select at least one face"):
        set_aside(store, [], LabelKind.STRANGER)
