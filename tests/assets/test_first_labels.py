"""From the first label on, through the real assets on lfw10: one person named, one photo each,
corrections that stick, one person per photo, and the labels that look wrong."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance

from gradio_app.classifier import model_status, status_markdown
from gradio_app.context import AppContext
from gradio_app.snapshot import snapshot
from resources.state_store.records import LabelEvent, LabelKind
from tests.support.labels import remove_labels_except
from tests.support.pipeline import PipelineHome, materialize_all
from tests.support.sample_library import build_library


@pytest.fixture(scope="module")
def one_label_each(lfw10, weights_home, tmp_path_factory):
    """lfw10 with exactly one sidecar label per person: nothing can be held out."""
    root = tmp_path_factory.mktemp("lfw10-one-label")
    keys = build_library(lfw10, root / "library", labels_per_person=1)
    pipeline = PipelineHome(root, root / "library", keys)
    pipeline.first_result = materialize_all(pipeline.resources)
    assert pipeline.first_result.success
    return pipeline


def person_of(store, face_id: str) -> str:
    keys = {image.image_id: image.key for image in store.images()}
    return keys[face_id.rpartition(":")[0]].split("/")[0]


def main_faces(store) -> dict[str, str]:
    """face id of each photo's largest face -> the person in the photo."""
    return {f.face_id: person_of(store, f.face_id) for f in store.faces() if f.index == 0}


def test_one_label_per_person_serves_a_provisional_version_that_names_the_others(one_label_each):
    store = one_label_each.store
    [evaluation] = one_label_each.first_result.get_asset_check_evaluations()
    assert evaluation.passed and "provisional" in evaluation.description
    served = store.promoted_model()
    assert served.version == 1 and served.metrics["provisional"] and served.metrics["accuracy"] is None
    names = {p.persona_id: p.name for p in store.personas()}
    predictions = store.predictions()
    others = {face: person for face, person in main_faces(store).items() if face in predictions}
    assert len(others) == 90
    right = sum(names.get(predictions[face].persona_id) == person for face, person in others.items())
    assert right / 90 >= 0.93, f"{right}/90 right"
    [materialization] = one_label_each.first_result.asset_materializations_for_node("face_classifier")
    assert materialization.metadata["provisional"].value is True
    page = status_markdown(
        AppContext.from_resources(one_label_each.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")
    )
    assert "Provisional" in page and model_status(store).training_problem is None


def test_a_second_label_each_makes_a_checked_version_replace_the_provisional_one(one_label_each, tmp_path):
    pipeline = one_label_each.fork(tmp_path / "second-labels")
    store = pipeline.store
    personas = {p.name: p.persona_id for p in store.personas()}
    predictions = store.predictions()
    second = {}
    for face, person in main_faces(store).items():
        if face in predictions and person not in second:
            second[person] = LabelEvent(face, LabelKind.ASSIGN, personas[person], source="app")
    store.append_label_events(list(second.values()))

    assert materialize_all(pipeline.resources).success
    served = store.promoted_model()
    assert served.version == 2 and not served.metrics["provisional"] and served.metrics["accuracy"] >= 0.8


def test_one_named_person_is_predicted_and_everyone_else_is_unknown(one_label_each, tmp_path):
    pipeline = one_label_each.fork(tmp_path / "one-person")
    store = pipeline.store
    only = store.personas()[0]
    remove_labels_except(store, {only.persona_id: 1})
    theirs = sorted(face for face, person in main_faces(store).items() if person == only.name)
    labeled = {f for f, s in store.label_states().items() if s.persona_id is not None}
    more = [f for f in theirs if f not in labeled][:2]  # 3 labels of one person, nobody else named
    store.append_label_events([LabelEvent(f, LabelKind.ASSIGN, only.persona_id, source="app") for f in more])

    result = materialize_all(pipeline.resources)

    assert result.success
    served = store.promoted_model()
    assert served.version == 2 and served.metrics["personas"] == 1 and served.metrics["accuracy"] >= 0.8
    predictions = store.predictions()
    own = [f for f in theirs if f in predictions]
    assert len(own) == 7
    assert sum(predictions[f].persona_id == only.persona_id for f in own) / 7 >= 0.85
    others = [f.face_id for f in store.faces() if person_of(store, f.face_id) != only.name]
    assert len(others) >= 90 and all(f in predictions for f in others)  # every face of the nine others
    assert sum(predictions[f].persona_id is None for f in others) / len(others) >= 0.9


def test_a_rejection_holds_through_ten_retrains_in_a_row(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "ten-retrains")
    store = pipeline.store
    predictions = store.predictions()
    rejected = next(p for p in predictions.values() if p.persona_id is not None)
    confirmed = next(p for p in predictions.values() if p.persona_id is not None and p.face_id != rejected.face_id)
    other = next(p.persona_id for p in store.personas() if p.persona_id != confirmed.persona_id)
    store.append_label_events(
        [
            LabelEvent(rejected.face_id, LabelKind.REJECT, rejected.persona_id, source="app"),
            # A label the model disagrees with: a person's word stands whatever the model says.
            LabelEvent(confirmed.face_id, LabelKind.ASSIGN, other, source="app"),
        ]
    )
    spare = [p for p in predictions.values() if p.face_id not in (rejected.face_id, confirmed.face_id)]
    for retrain in range(10):
        if retrain:  # each retrain has new labels: confirm one more prediction
            face = spare[retrain]
            store.append_label_events([LabelEvent(face.face_id, LabelKind.CONFIRM, face.persona_id, source="app")])
        assert materialize_all(pipeline.resources).success
        assert store.promoted_model().version == 2 + retrain
        after = store.predictions()[rejected.face_id]
        assert after.persona_id != rejected.persona_id and after.candidate_persona_id != rejected.persona_id
        assert confirmed.face_id not in store.predictions()
        assert store.label_states()[confirmed.face_id].persona_id == other


def test_a_rejection_holds_through_a_merge_and_a_rename(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "merge")
    store = pipeline.store
    predictions = store.predictions()
    face = next(p for p in predictions.values() if p.persona_id is not None)
    source = face.persona_id
    target = next(p.persona_id for p in store.personas() if p.persona_id != source)
    store.append_label_events([LabelEvent(face.face_id, LabelKind.REJECT, source, source="app")])
    store.merge_personas(source, target)  # rejecting A, then merging A into B, rejects B
    store.rename_persona(target, "Merged Person")

    assert materialize_all(pipeline.resources).success
    after = store.predictions()[face.face_id]
    assert after.persona_id not in (source, target) and after.candidate_persona_id not in (source, target)
    assert target in store.label_states()[face.face_id].rejected


def test_a_one_persona_model_never_predicts_a_rejected_face_as_that_person(one_label_each, tmp_path):
    pipeline = one_label_each.fork(tmp_path / "one-person-reject")
    store = pipeline.store
    only = store.personas()[0]
    remove_labels_except(store, {only.persona_id: 1})
    assert materialize_all(pipeline.resources).success
    named = [p for p in store.predictions().values() if p.persona_id == only.persona_id]
    assert named
    store.append_label_events([LabelEvent(named[0].face_id, LabelKind.REJECT, only.persona_id, source="app")])
    for _ in range(2):
        assert materialize_all(pipeline.resources, run_config=force()).success
        assert store.predictions()[named[0].face_id].persona_id is None
        assert snapshot(store).open_prediction(named[0].face_id).candidate_persona_id is None


def force() -> dict:
    return {"ops": {"face_classifier": {"config": {"force": True}}}}


def test_wrong_labels_top_the_label_check_shown_as_a_dagster_table(lfw10_pipeline, tmp_path):
    pipeline = lfw10_pipeline.fork(tmp_path / "wrong")
    store = pipeline.store
    labels = sorted((f, s.persona_id) for f, s in store.label_states().items() if s.persona_id is not None)
    personas = sorted({p for _, p in labels})
    wrong = {labels[0][0], labels[10][0]}  # two labels given to the next person
    store.append_label_events(
        [
            LabelEvent(f, LabelKind.ASSIGN, personas[(personas.index(p) + 1) % len(personas)], source="app")
            for f, p in labels
            if f in wrong
        ]
    )
    instance = DagsterInstance.ephemeral()
    result = materialize_all(pipeline.resources, instance=instance)

    assert result.success
    ranking = [row["face_id"] for row in store.latest_model().metrics["label_check"]]
    assert set(ranking[:3]) >= wrong
    [materialization] = result.asset_materializations_for_node("face_classifier")
    table = materialization.metadata["labels_to_check"].value
    assert [record.data["face_id"] for record in table.records] == ranking
    assert [column.name for column in table.schema.columns][:3] == ["rank", "face_id", "labeled_as"]
