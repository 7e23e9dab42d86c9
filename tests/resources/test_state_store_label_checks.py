"""A label checked and kept ("Check these labels" → Keep): the StateStore contract on SQLite and the
Cosmos DB protocol server. The check changes no label, holds while the label does, and is undone
like any other event."""

from __future__ import annotations

import pytest

from resources.state_store.records import FaceLabelState, LabelEvent, LabelKind

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def test_a_check_marks_the_label_and_changes_nothing_else(store):
    ada = store.ensure_persona("Ada").persona_id
    bob = store.ensure_persona("Bob").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada), LabelEvent("f1", LabelKind.REJECT, bob)])
    store.append_label_events([LabelEvent("f1", LabelKind.CHECK, ada)])
    assert store.label_states()["f1"] == FaceLabelState(ada, frozenset({bob}), None, ada)
    assert [e.kind for e in store.face_events("f1")][-1] == LabelKind.CHECK


def test_a_check_holds_only_while_the_label_does(store):
    ada = store.ensure_persona("Ada").persona_id
    bob = store.ensure_persona("Bob").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada), LabelEvent("f1", LabelKind.CHECK, ada)])
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, bob)])
    assert store.label_states()["f1"] == FaceLabelState(bob)
    store.append_label_events([LabelEvent("f1", LabelKind.CHECK, ada)])  # of a label the face no longer has
    assert store.label_states()["f1"].checked is None


def test_an_undone_check_asks_again_and_leaves_the_label(store):
    ada = store.ensure_persona("Ada").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada)])
    [kept] = store.append_label_events([LabelEvent("f1", LabelKind.CHECK, ada)])
    undone = store.undo(kept)
    assert store.label_states()["f1"] == FaceLabelState(ada)
    assert [(e.kind, e.persona_id) for e in store.face_events("f1")][-len(undone) :] == [(LabelKind.CHECK, None)]
    assert store.undo(kept) == []


def test_undoing_a_fix_of_a_checked_label_brings_back_label_and_check(store):
    ada = store.ensure_persona("Ada").persona_id
    bob = store.ensure_persona("Bob").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada), LabelEvent("f1", LabelKind.CHECK, ada)])
    [fixed] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, bob)])
    store.undo(fixed)
    assert store.label_states()["f1"] == FaceLabelState(ada, checked=ada)


def test_a_check_follows_a_merge_of_its_persona(store):
    ada = store.ensure_persona("Ada").persona_id
    bob = store.ensure_persona("Bob").persona_id
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada), LabelEvent("f1", LabelKind.CHECK, ada)])
    store.merge_personas(ada, bob)
    assert store.label_states()["f1"] == FaceLabelState(bob, checked=bob)
