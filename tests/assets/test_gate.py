"""The gate's verdicts: checked versions by held-out accuracy; provisional ones only while no
checked version serves."""

from __future__ import annotations

from assets.core.learning.gate import gate_verdict, is_checked, is_provisional, serving_note, training_problem
from resources.state_store.records import ModelVersion

NO_ESTIMATE = {"personas": 10, "accuracy": None, "gate_min_accuracy": 0.8}


def test_a_version_without_held_out_faces_serves_provisionally_while_nothing_checked_serves():
    passed, reason = gate_verdict(NO_ESTIMATE, checked_version_serves=False)
    assert passed and reason.startswith("provisional: no held-out faces")


def test_a_provisional_version_never_replaces_a_checked_one():
    passed, reason = gate_verdict(NO_ESTIMATE, checked_version_serves=True)
    assert not passed and "never replaces a checked one" in reason


def test_a_one_persona_version_is_judged_by_its_held_out_accuracy():
    assert gate_verdict({"personas": 1, "accuracy": 1.0}, checked_version_serves=True)[0]
    assert not gate_verdict({"personas": 1, "accuracy": 0.5}, checked_version_serves=False)[0]


def test_the_app_is_told_a_serving_version_is_provisional_and_why_one_is_refused():
    provisional = ModelVersion(3, 10, "key", NO_ESTIMATE, passed_gate=True, promoted=True)
    checked = ModelVersion(2, 8, "key", {**NO_ESTIMATE, "accuracy": 0.95}, passed_gate=True, promoted=True)
    assert is_provisional(provisional) and not is_checked(provisional) and is_checked(checked)
    assert "Provisional" in serving_note(provisional) and serving_note(checked) is None
    refused = ModelVersion(4, 12, "key", NO_ESTIMATE, passed_gate=False)
    assert training_problem(refused).startswith("version 4: no held-out faces")


def test_the_gate_description_says_its_verdict_once_and_names_a_pin():
    from assets.core.learning.gate import gate_description
    from resources.state_store.records import Serving, ServingEvent, ServingKind

    v1 = ModelVersion(1, 5, "k1", {"personas": 2, "accuracy": 0.9}, passed_gate=True, promoted=True)
    v2 = ModelVersion(2, 8, "k2", {"personas": 2, "accuracy": 0.95}, passed_gate=True, promoted=True)
    pin = ServingEvent(ServingKind.PIN, 1, 1, actor="ada", seq=1)
    passed, reason = gate_verdict({"personas": 2, "accuracy": 0.95, "gate_min_accuracy": 0.8})
    lifted = gate_description(2, passed, reason, Serving(v2, v2, lifted_pin=pin), lifted=pin)
    assert lifted == (
        "v2 promoted: held-out accuracy 95.0% meets the 80% minimum; "
        "it lifts the pin (v1 pinned by ada): automatic promotion resumes"
    )
    passed, reason = gate_verdict({"personas": 2, "accuracy": 0.5, "gate_min_accuracy": 0.8})
    refused = gate_description(3, passed, reason, Serving(v1, v2, pin=pin))
    assert (
        refused == "v3 not promoted: held-out accuracy 50.0% is below the 80% minimum; v1 pinned by ada keeps serving"
    )
    passed, reason = gate_verdict(NO_ESTIMATE)
    provisional = gate_description(1, passed, reason, Serving(None, None))
    assert provisional.startswith("v1 promoted as provisional: no held-out faces")
    assert provisional.count("provisional") == 1


def test_metadata_floats_are_rounded_as_people_read_them():
    import numpy as np

    from assets.classifier import plain_metadata

    raw = {"accuracy": np.float64(0.966666), "threshold": 3.14159e-05, "faces": np.int64(30), "ok": True}
    shown = plain_metadata(raw)
    assert shown == {"accuracy": 0.9667, "threshold": 3.142e-05, "faces": 30, "ok": True}
    assert type(shown["faces"]) is int and type(shown["accuracy"]) is float
