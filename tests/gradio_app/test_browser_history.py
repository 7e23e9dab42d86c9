"""A pin in a real headless Chromium: the Classifier tab lists every version with its
confusion matrix; "Serve this version" pins version 1, the serving-changes sensor's run relabels
with it, and the page follows. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

from dagster import Definitions, build_sensor_context, instance_for_test

from assets.core.learning.model import FaceClassifier
from assets.core.learning.scoring import predict_faces
from assets.library import library_graph
from definitions import ASSETS, CHECKS, JOBS
from resources.state_store.records import LabelEvent, LabelKind
from sensors.serving_changes import serving_changes_sensor
from tests.support.browser import needs_chromium, retrain_and_relabel, shoot

pytestmark = needs_chromium


def relabel_as_the_daemon_would(home) -> None:
    """One tick of the serving-changes sensor, and the relabel run it requests, on a real instance."""
    with instance_for_test() as instance:
        context = build_sensor_context(
            instance=instance, resources={"state_store": home.store}, sensor_name=serving_changes_sensor.name
        )
        (request,) = serving_changes_sensor(context).run_requests
        defs = Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, resources=home.resources)
        assert defs.resolve_job_def("relabel_job").execute_in_process(instance=instance, tags=request.tags).success


def predicted_by(home, version) -> dict[str, tuple]:
    """What ``version`` predicts for every unlabeled face, computed directly (no Dagster, no app)."""
    store, space = home.store, home.resources["face_engine"].embedding_space
    face_ids, embeddings = store.load_embeddings(space)
    classifier = FaceClassifier.from_bytes(home.resources["artifact_store"].get(version.artifact_key))
    graph = library_graph(store, space, face_ids, embeddings)
    found = predict_faces(classifier, version.version, face_ids, embeddings, store.label_states(), graph)
    return {p.face_id: (p.persona_id, p.candidate_persona_id) for p in found}


def stored_predictions(store) -> dict[str, tuple]:
    return {f: (p.persona_id, p.candidate_persona_id) for f, p in store.predictions().items()}


def test_pinning_version_1_then_predictions_from_version_1(page, home, truth):
    store = home.store
    # Version 2: six more correct labels, retrained as the label sensor's run would.
    by_name = {p.name: p.persona_id for p in store.personas()}
    guessed = [p for p in store.predictions().values() if p.persona_id is not None][:6]
    store.append_label_events([LabelEvent(p.face_id, LabelKind.ASSIGN, by_name[truth(p.face_id)]) for p in guessed])
    retrain_and_relabel(home)
    v1, v2 = sorted(store.model_versions(), key=lambda v: v.version)
    assert v2.promoted and store.latest_prediction_update()["model_version"] == v2.version

    page.reload()
    page.wait_for_selector("#review-question h2")
    page.get_by_role("tab", name="Classifier").click()
    page.wait_for_selector("#version-detail h3:text('Version 2')")
    detail = page.locator("#version-detail").inner_text()
    assert "Confusion matrix" in detail and "passed" in detail
    history = page.locator("#status-md").inner_text()
    assert re.search(r"\b1\b.*passed", history) and re.search(r"\b2\b.*passed.*serving", history)
    shoot(page, "classifier-history")

    page.locator("#version-pick input").click()
    page.get_by_role("option", name=re.compile(r"^v1 · ")).click()
    page.wait_for_selector("#version-detail h3:text('Version 1')")
    page.click("#serve-btn")
    page.wait_for_selector("#status-md :text('v1 pinned')")
    status = page.locator("#status-md").inner_text()
    assert "automatic promotion resumes when a new version passes the quality gate" in status
    page.wait_for_selector("#fl-header :text('Classifier v1 (pinned)')")
    (pin,) = store.serving_events()
    assert (pin.kind, pin.version) == ("pin", v1.version) and store.serving_model().version == v1.version
    assert page.locator("#serve-btn").is_disabled()  # version 1 serves: nothing more to pin

    relabel_as_the_daemon_would(home)  # the serving-changes sensor's run
    page.wait_for_selector(f'#fl-predictions[data-model="{v1.version}"]')  # the open page follows
    assert store.latest_prediction_update()["model_version"] == v1.version
    assert stored_predictions(store) == predicted_by(home, v1)
    shoot(page, "pin-v1")

    page.click("#undo-btn")  # Undo takes the pin back (an inverse event), then pin it again
    page.wait_for_selector(".toast-body :text('Undone: serve version 1')")
    page.wait_for_selector("#fl-header :text('Classifier v2 ·')")
    assert [e.kind for e in store.serving_events()] == ["pin", "automatic"]
    page.locator("#version-pick input").click()
    page.get_by_role("option", name=re.compile(r"^v1 · ")).click()
    page.click("#serve-btn")
    page.wait_for_selector("#fl-header :text('Classifier v1 (pinned)')")

    page.click("#automatic-btn")  # back to automatic: version 2 serves, and relabels, again
    page.wait_for_selector("#fl-header :text('Classifier v2 ·')")
    assert not store.serving().pinned and store.serving_model().version == v2.version
    relabel_as_the_daemon_would(home)
    page.wait_for_selector(f'#fl-predictions[data-model="{v2.version}"]')
    assert stored_predictions(store) == predicted_by(home, v2)
    assert page.errors == []
