"""The Classifier tab's text, from a real lfw10 pipeline run (SQLite state, a trained version 1)."""

from __future__ import annotations

from gradio_app.status import history_table, status_markdown
from gradio_app.views import AppContext


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
