"""The Classifier tab's text, from a real lfw10 pipeline run (SQLite state, a trained version 1)."""

from __future__ import annotations

from gradio_app.classifier import held_out_change, history_table, status_markdown
from gradio_app.context import AppContext
from gradio_app.formatting import md
from resources.state_store.records import ModelVersion


def test_the_classifier_tab_lists_every_version_with_its_gate_and_serving_state(home):
    store = home.store
    [first] = store.model_versions()
    store.add_model_version(first.label_watermark, first.artifact_key, {"accuracy": 0.5, "labeled_faces": 31})
    store.set_gate_result(2, passed=False, promote=False)

    table = history_table(store.model_versions()).splitlines()

    assert table[2].startswith("| 2 |") and "| 50.0% |" in table[2] and "| failed |" in table[2]
    assert table[3].startswith("| 1 |") and "| passed |" in table[3] and "**serving**" in table[3]
    ctx = AppContext.from_resources(home.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")
    assert "<summary>Every version</summary>" in status_markdown(ctx)


def test_a_pin_shows_in_the_history_the_status_and_the_version_detail(home):
    from gradio_app.classifier import can_serve, version_detail

    store = home.store
    [first] = store.model_versions()
    old_metrics = {"accuracy": 0.99, "personas": 10, "held_out_faces": 30}  # as kept before confusion matrices
    second = store.add_model_version(first.label_watermark, first.artifact_key, old_metrics)
    store.set_gate_result(second.version, passed=True, promote=True)
    failed = store.add_model_version(first.label_watermark, "", {"training_error": "no labels", "accuracy": None})
    store.set_gate_result(failed.version, passed=False, promote=False)
    store.pin_model(first.version, actor="ada")
    state = store.serving()
    first, second, failed = sorted(store.model_versions(), key=lambda v: v.version)

    table = history_table(store.model_versions(), state).splitlines()

    assert table[2].startswith("| 3 |") and "| failed to train |" in table[2]
    assert table[3].startswith("| 2 |") and "promoted (a pinned version serves)" in table[3]
    assert table[4].startswith("| 1 |") and "**serving** (pinned)" in table[4]
    ctx = AppContext.from_resources(home.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")
    page = status_markdown(ctx)
    assert "v1 pinned by ada" in page and "automatic promotion resumes when a new version passes" in page
    detail = version_detail(first, state)
    assert "Version 1 — **serving** (pinned)" in detail and "Confusion matrix" in detail
    assert "| **TB** Tony\\_Blair |" in detail  # rows: the person's name after its short name
    assert "_Not kept for this version" in version_detail(second, state)  # its metrics have no matrix
    assert not can_serve(failed, state) and not can_serve(first, state) and can_serve(second, state)


def test_the_classifier_tab_explains_a_drop_in_held_out_accuracy_by_the_faces_and_people_added(home):
    store = home.store
    [first] = store.model_versions()
    per_persona = dict(first.metrics["per_persona"])
    grown = sorted(per_persona)[0]
    per_persona[grown] = {**per_persona[grown], "support": per_persona[grown]["support"] + 3}
    per_persona["Newcomer"] = {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4}
    metrics = {
        **first.metrics,
        "accuracy": first.metrics["accuracy"] - 0.1,
        "per_persona": per_persona,
        "held_out_faces": first.metrics["held_out_faces"] + 7,
        "held_out_digest": "another set",
    }
    store.add_model_version(first.label_watermark + 1, first.artifact_key, metrics)
    store.set_gate_result(2, passed=True, promote=True)
    ctx = AppContext.from_resources(home.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")

    text = status_markdown(ctx)

    assert "measured on a different held-out set: +7 faces" in text
    assert "new people: Newcomer" in text and f"{md(grown)} +3" in text
    same = ModelVersion(3, 0, "", {**metrics, "accuracy": 0.2, "held_out_digest": "another set"})
    latest = max(store.model_versions(), key=lambda v: v.version)
    assert "on the same held-out faces" in held_out_change(latest, same)
    assert held_out_change(same, same) == ""
