"""The Classifier tab's text, from a real lfw10 pipeline run (SQLite state, a trained version 1)."""

from __future__ import annotations

from gradio_app.formatting import md
from gradio_app.status import held_out_change, history_table, status_markdown
from gradio_app.views import AppContext
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
