"""Stranger and not-a-face verdicts: the StateStore contract on SQLite and the Cosmos DB protocol server."""

from __future__ import annotations

import pytest

from resources.state_store.records import FaceLabelState, LabelEvent, LabelKind

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
VERDICTS = [LabelKind.STRANGER, LabelKind.NOT_FACE]


@pytest.mark.parametrize("verdict", VERDICTS)
def test_a_verdict_replaces_the_label_keeps_the_rejections_and_settles_the_face(store, verdict):
    ada = store.ensure_persona("Ada").persona_id
    store.append_label_events(
        [LabelEvent("f1", LabelKind.REJECT, ada), LabelEvent("f2", LabelKind.ASSIGN, ada)]
        + [LabelEvent(f, verdict, None) for f in ("f1", "f2")]
    )
    states = store.label_states()
    assert states["f1"] == FaceLabelState(None, frozenset({ada}), verdict)
    assert states["f2"] == FaceLabelState(None, frozenset(), verdict)
    assert states["f1"].settled and states["f2"].settled
    assert [e.kind for e in store.face_events("f2")] == [LabelKind.ASSIGN, verdict]


@pytest.mark.parametrize("lift", [LabelKind.REMOVE, LabelKind.ASSIGN])
def test_a_remove_or_a_label_lifts_a_verdict(store, lift):
    ada = store.ensure_persona("Ada").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.STRANGER, None)])
    store.append_label_events([LabelEvent("f1", lift, ada if lift == LabelKind.ASSIGN else None)])
    state = store.label_states()["f1"]
    assert state.set_aside is None
    assert state.persona_id == (ada if lift == LabelKind.ASSIGN else None)
    assert state.settled == (lift == LabelKind.ASSIGN)


@pytest.mark.parametrize("verdict", VERDICTS)
def test_an_undone_verdict_gives_the_face_back_its_label(store, verdict):
    ada = store.ensure_persona("Ada").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada)])
    [said] = store.append_label_events([LabelEvent("f1", verdict, None)])
    store.undo(said)
    assert store.label_states()["f1"] == FaceLabelState(ada)
    assert store.undo(said) == []  # undone already: nothing more is appended


def test_a_verdict_undone_on_a_face_nobody_labeled_leaves_it_open(store):
    [said] = store.append_label_events([LabelEvent("f1", LabelKind.NOT_FACE, None)])
    store.undo(said)
    assert not store.label_states()["f1"].settled


def test_a_verdict_naming_a_persona_is_refused_and_nothing_is_written(store):
    ada = store.ensure_persona("Ada").persona_id
    before = store.label_watermark()
    with pytest.raises(ValueError, match="names no persona"):
        store.append_label_events([LabelEvent("f1", LabelKind.STRANGER, ada)])
    assert store.label_watermark() == before


def test_undoing_a_rejection_given_after_a_verdict_keeps_the_verdict(store):
    ada = store.ensure_persona("Ada").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.STRANGER, None)])
    [reject] = store.append_label_events([LabelEvent("f1", LabelKind.REJECT, ada)])
    store.undo(reject)
    assert store.label_states()["f1"] == FaceLabelState(None, frozenset(), LabelKind.STRANGER)
