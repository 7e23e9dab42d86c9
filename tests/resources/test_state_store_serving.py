"""Which classifier version serves: a labeler's pin, logged, lifted by the next version that
passes the quality gate or by the labeler; on SQLite and Cosmos DB alike (the ``store`` fixture)."""

from __future__ import annotations

import pytest

from resources.state_store.records import ServingKind
from resources.state_store.rules import PinRefused, UndoRefused

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def trained(store, watermark: int, accuracy: float | None, passed: bool | None = None):
    version = store.add_model_version(watermark, f"k{watermark}", {"accuracy": accuracy})
    if passed is not None:
        store.set_gate_result(version.version, passed, promote=passed)
    return version


def failed_attempt(store, watermark: int):
    version = store.add_model_version(watermark, "", {"training_error": "one face", "accuracy": None})
    store.set_gate_result(version.version, False, promote=False)
    return version


def test_without_a_pin_the_promoted_version_serves(store):
    assert store.serving_model() is None
    v1 = trained(store, 3, 0.9, passed=True)
    trained(store, 5, 0.1, passed=False)
    serving = store.serving()
    assert serving.model.version == serving.promoted.version == v1.version
    assert not serving.pinned and store.serving_events() == []


def test_a_pin_serves_an_earlier_version_and_is_logged_with_actor_and_time(store):
    v1 = trained(store, 3, 0.9, passed=True)
    v2 = trained(store, 5, 0.95, passed=True)
    seq = store.pin_model(v1.version, actor="ada")
    serving = store.serving()
    assert (serving.model.version, serving.promoted.version, serving.pinned) == (v1.version, v2.version, True)
    assert store.serving_model().version == v1.version
    (event,) = store.serving_events()
    assert (event.seq, event.kind, event.version, event.actor) == (seq, ServingKind.PIN, v1.version, "ada")
    assert event.created_at is not None
    assert store.pin_model(v1.version, actor="ada") is None  # the same pin again logs nothing


def test_the_next_version_that_passes_the_gate_lifts_the_pin(store):
    v1 = trained(store, 3, 0.9, passed=True)
    trained(store, 5, 0.95, passed=True)
    store.pin_model(v1.version, actor="ada")
    trained(store, 7, 0.2, passed=False)  # refused by the gate: the pin holds
    assert store.serving_model().version == v1.version
    v4 = trained(store, 9, 0.97, passed=True)
    serving = store.serving()
    assert (serving.model.version, serving.pinned) == (v4.version, False)
    assert serving.lifted_pin.version == v1.version
    assert len(store.serving_events()) == 1  # lifted by the gate's verdict, nothing rewritten


def test_a_version_being_checked_when_pinned_lifts_the_pin_if_it_passes(store):
    v1 = trained(store, 3, 0.9, passed=True)
    v2 = trained(store, 5, 0.95)  # trained, its gate verdict still to come
    store.pin_model(v1.version)
    store.set_gate_result(v2.version, True, promote=True)
    assert store.serving_model().version == v2.version


def test_back_to_automatic_serves_the_promoted_version_again(store):
    v1 = trained(store, 3, 0.9, passed=True)
    v2 = trained(store, 5, 0.95, passed=True)
    assert store.serve_automatically(actor="ada") is None  # no pin: nothing to log
    store.pin_model(v1.version, actor="ada")
    store.serve_automatically(actor="bob")
    assert store.serving_model().version == v2.version and not store.serving().pinned
    assert [(e.kind, e.actor) for e in store.serving_events()] == [
        (ServingKind.PIN, "ada"),
        (ServingKind.AUTOMATIC, "bob"),
    ]


def test_a_failed_attempt_or_an_unknown_version_is_never_pinned(store):
    v1 = trained(store, 3, 0.9, passed=True)
    attempt = failed_attempt(store, 5)
    with pytest.raises(PinRefused, match="failed training attempt"):
        store.pin_model(attempt.version)
    with pytest.raises(PinRefused, match="no classifier version 99"):
        store.pin_model(99)
    assert store.serving_events() == [] and store.serving_model().version == v1.version


def test_a_version_the_gate_refused_can_still_be_pinned(store):
    trained(store, 3, 0.9, passed=True)
    v2 = trained(store, 5, 0.5, passed=False)
    store.pin_model(v2.version)
    assert store.serving_model().version == v2.version


def test_undo_of_a_pin_appends_its_inverse_and_a_repeat_adds_nothing(store):
    v1 = trained(store, 3, 0.9, passed=True)
    v2 = trained(store, 5, 0.95, passed=True)
    seq = store.pin_model(v1.version, actor="ada")
    (undo_seq,) = store.undo_serving(seq, actor="ada")
    assert store.serving_model().version == v2.version
    assert store.undo_serving(seq) == []
    assert [(e.seq, e.kind, e.source) for e in store.serving_events()] == [
        (seq, ServingKind.PIN, "app"),
        (undo_seq, ServingKind.AUTOMATIC, "undo"),
    ]
    store.undo_serving(undo_seq)  # undoing the undo pins version 1 again
    assert store.serving_model().version == v1.version


def test_undo_of_a_pin_changed_again_since_is_refused(store):
    v1 = trained(store, 3, 0.9, passed=True)
    v2 = trained(store, 5, 0.95, passed=True)
    trained(store, 6, 0.96, passed=True)
    first = store.pin_model(v1.version)
    store.pin_model(v2.version)
    with pytest.raises(UndoRefused, match="undo that first"):
        store.undo_serving(first)
    assert store.serving_model().version == v2.version
    with pytest.raises(KeyError):
        store.undo_serving(999)


def test_serving_events_have_their_own_sequence_apart_from_labels(store_factory):
    first, second = store_factory(), store_factory()
    v1 = trained(first, 3, 0.9, passed=True)
    trained(first, 5, 0.95, passed=True)
    watermark = first.label_watermark()
    second.pin_model(v1.version)
    assert first.serving_model().version == v1.version  # another client sees the pin
    assert first.label_watermark() == watermark  # a pin is no label: it starts no retrain
