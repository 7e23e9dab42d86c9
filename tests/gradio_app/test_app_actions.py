"""The app's actions against a real SQLite store holding a real lfw10 pipeline run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gradio_app.classifier import model_status
from gradio_app.errors import ActionError
from gradio_app.formatting import ago
from gradio_app.labels import assign_faces, confirm_faces, reject_faces, remove_labels
from gradio_app.people import create_persona, merge_personas, persona_summaries, predicted_faces, rename_persona
from gradio_app.review import ReviewItem, answer_review, review_queue
from gradio_app.similar import find_similar
from gradio_app.snapshot import labeled_faces, snapshot
from gradio_app.unknown import unknown_clusters, unknown_face_ids
from resources.state_store.records import LabelEvent, LabelKind, Prediction


def app_events(store, since: int = 0):
    return [e for e in store.label_events(since) if e.source == "app"]


def persona_named(store, name: str) -> int:
    return next(p.persona_id for p in store.personas() if p.name == name)


def test_persona_summaries_count_human_labels_and_predictions(store):
    snap = snapshot(store)
    summaries = {s.name: s for s in persona_summaries(snap)}
    assert len(summaries) == 10
    assert all(s.labeled == 3 for s in summaries.values())  # three sidecar labels per person
    predicted_known = sum(1 for p in store.predictions().values() if p.persona_id is not None)
    assert sum(s.predicted for s in summaries.values()) == predicted_known


def test_predicted_faces_come_least_confident_first(store):
    snap = snapshot(store)
    for persona in snap.active_personas():
        confidences = [item.confidence for item in predicted_faces(snap, persona.persona_id)]
        assert confidences == sorted(confidences)


def test_confirming_many_faces_appends_one_confirm_event_each_and_empties_the_predicted_gallery(store):
    persona = persona_named(store, "Tony_Blair")
    before = store.label_watermark()
    predicted = [i.face_id for i in predicted_faces(snapshot(store), persona)]
    assert len(predicted) >= 3

    seqs = confirm_faces(store, predicted, persona, actor="ana")

    events = app_events(store, before)
    assert seqs == [e.seq for e in events]
    assert {(e.face_id, e.kind, e.persona_id, e.actor) for e in events} == {
        (f, LabelKind.CONFIRM, persona, "ana") for f in predicted
    }
    snap = snapshot(store)
    assert predicted_faces(snap, persona) == []
    assert {i.face_id for i in labeled_faces(snap, persona)} >= set(predicted)


def test_correcting_to_another_persona_labels_the_face_there(store):
    blair, powell = persona_named(store, "Tony_Blair"), persona_named(store, "Colin_Powell")
    face = predicted_faces(snapshot(store), blair)[0].face_id

    target, _ = assign_faces(store, [face], persona_id=powell)

    assert target.persona_id == powell
    (event,) = app_events(store)
    assert (event.face_id, event.kind, event.persona_id) == (face, LabelKind.ASSIGN, powell)
    snap = snapshot(store)
    assert face in {i.face_id for i in labeled_faces(snap, powell)}
    assert face not in {i.face_id for i in predicted_faces(snap, blair)}


def test_correcting_to_a_new_name_creates_the_persona(store):
    face = next(iter(store.predictions()))
    target, _ = assign_faces(store, [face], name="  Maria   Shriver ")
    assert target.name == "Maria Shriver"
    assert target.persona_id in {p.persona_id for p in store.personas()}
    assert snapshot(store).label_of(face) == target.persona_id


def test_rejecting_removes_the_face_from_the_persona_and_makes_it_unknown(store):
    blair = persona_named(store, "Tony_Blair")
    face = predicted_faces(snapshot(store), blair)[0].face_id

    reject_faces(store, [face], blair)

    (event,) = app_events(store)
    assert (event.kind, event.persona_id) == (LabelKind.REJECT, blair)
    snap = snapshot(store)
    assert face not in {i.face_id for i in predicted_faces(snap, blair)}
    assert snap.open_prediction(face).persona_id is None
    assert face in unknown_face_ids(snap, [face])


def test_removing_a_label_takes_the_face_out_of_the_labeled_gallery(store):
    blair = persona_named(store, "Tony_Blair")
    face = labeled_faces(snapshot(store), blair)[0].face_id
    remove_labels(store, [face])
    assert face not in {i.face_id for i in labeled_faces(snapshot(store), blair)}
    assert app_events(store)[-1].kind == LabelKind.REMOVE


def test_labeling_refuses_empty_selections_unknown_faces_and_unknown_personas(store):
    before = store.label_watermark()
    blair = persona_named(store, "Tony_Blair")
    with pytest.raises(ActionError, match="select at least one face"):
        confirm_faces(store, [], blair)
    with pytest.raises(ActionError, match="no longer exist"):
        confirm_faces(store, ["nope:0"], blair)
    face = next(iter(store.predictions()))
    with pytest.raises(ActionError, match="does not exist"):
        confirm_faces(store, [face], 99999)
    with pytest.raises(ActionError, match="choose a person"):
        assign_faces(store, [face], name="   ")
    assert store.label_watermark() == before  # nothing half-written


def test_create_rename_and_merge_personas(store):
    persona, new = create_persona(store, "Cherie Blair")
    assert new
    again, new_again = create_persona(store, "Cherie Blair")
    assert (again.persona_id, new_again) == (persona.persona_id, False)
    with pytest.raises(ActionError):
        create_persona(store, "   ")

    renamed, _ = rename_persona(store, persona.persona_id, "Cherie Booth")
    assert renamed.name == "Cherie Booth"
    with pytest.raises(ActionError, match="already exists"):
        rename_persona(store, persona.persona_id, "Tony_Blair")

    blair, putin = persona_named(store, "Tony_Blair"), persona_named(store, "Vladimir_Putin")
    blair_labeled = {i.face_id for i in labeled_faces(snapshot(store), blair)}
    target, _ = merge_personas(store, blair, putin)
    assert target.persona_id == putin
    snap = snapshot(store)
    assert "Tony_Blair" not in {s.name for s in persona_summaries(snap)}
    assert blair_labeled <= {i.face_id for i in labeled_faces(snap, putin)}
    # predictions still name the merged persona until the next run; the app shows them under the target
    assert all(p.persona_id != blair for p in snap.open_predictions().values())
    with pytest.raises(ActionError):
        merge_personas(store, putin, putin)


def test_review_queue_puts_the_most_useful_face_first(store):
    snap = snapshot(store)
    queue = review_queue(snap, limit=0)
    open_predictions = snap.open_predictions()
    assert len(queue) == sum(
        1 for p in open_predictions.values() if p.persona_id is not None or p.candidate_persona_id is not None
    )
    usefulness = [item.usefulness for item in queue]
    assert usefulness == sorted(usefulness, reverse=True)
    known = [item for item in queue if not item.unknown]
    least_sure = min(p.confidence for p in open_predictions.values() if p.persona_id is not None)
    assert known[0].confidence == least_sure
    first_known_index = queue.index(known[0])
    assert all(item.unknown for item in queue[:first_known_index])


def test_review_queue_ranks_unknowns_with_a_candidate_above_confident_predictions(store):
    face_ids = sorted(store.predictions())
    blair = persona_named(store, "Tony_Blair")
    store.write_predictions(
        [
            Prediction(face_ids[0], blair, 0.99, 1, blair),
            Prediction(face_ids[1], None, 0.9, 1, blair),
            Prediction(face_ids[2], blair, 0.40, 1, blair),
        ]
    )
    order = [i.face_id for i in review_queue(snapshot(store), limit=0)]
    assert order.index(face_ids[2]) < order.index(face_ids[1]) < order.index(face_ids[0])


def test_review_answers_write_confirm_assign_or_reject(store):
    snap = snapshot(store)
    queue = review_queue(snap, limit=0)
    known = [i for i in queue if not i.unknown]
    answer_review(store, known[0], "yes", actor="bo")
    answer_review(store, known[1], "no")
    name, _ = answer_review(store, known[2], "other", other="Somebody New")
    kinds = [(e.face_id, e.kind) for e in app_events(store)]
    assert kinds == [
        (known[0].face_id, LabelKind.CONFIRM),
        (known[1].face_id, LabelKind.REJECT),
        (known[2].face_id, LabelKind.ASSIGN),
    ]
    assert name == "Somebody New"
    remaining = {i.face_id for i in review_queue(snapshot(store), limit=0)}
    assert not remaining & {known[0].face_id, known[1].face_id, known[2].face_id}
    blair = persona_named(store, "Tony_Blair")
    unknown_item = ReviewItem(known[3].face_id, blair, 0.5, True, 0.75)
    answer_review(store, unknown_item, "yes")
    assert app_events(store)[-1].kind == LabelKind.ASSIGN  # an unknown has nothing to confirm


def test_unknown_faces_cluster_by_person_and_a_group_can_be_named_at_once(store, truth):
    """Make two people unknown (as if never labeled); the groups must keep them apart."""
    snap = snapshot(store)
    hidden = {persona_named(store, "Hugo_Chavez"), persona_named(store, "Gerhard_Schroeder")}
    predictions = store.predictions()
    to_hide = [p for p in predictions.values() if p.persona_id in hidden]
    store.write_predictions([Prediction(p.face_id, None, p.confidence, p.model_version, None) for p in to_hide])

    clusters = unknown_clusters(store, snapshot(store), "Dlib")
    in_clusters = [f for c in clusters for f in c.face_ids]
    assert len(in_clusters) == len(set(in_clusters))
    assert {p.face_id for p in to_hide} <= set(in_clusters)
    sizes = [len(c.face_ids) for c in clusters]
    assert sizes == sorted(sizes, reverse=True)
    biggest = clusters[0]
    people = Counter(truth(f) for f in biggest.face_ids)
    assert len(people) == 1, f"a look-alike group mixes people: {people}"
    assert len(biggest.face_ids) >= 4
    assert snap.label_of(biggest.face_ids[0]) is None

    persona, seqs = assign_faces(store, biggest.face_ids, name="New Person", actor="cy")
    assert len(seqs) == len(biggest.face_ids)
    events = app_events(store)
    assert {(e.face_id, e.kind, e.persona_id, e.actor) for e in events} == {
        (f, LabelKind.ASSIGN, persona.persona_id, "cy") for f in biggest.face_ids
    }
    remaining = unknown_clusters(store, snapshot(store), "Dlib")
    assert not {f for c in remaining for f in c.face_ids} & set(biggest.face_ids)


def test_model_status_counts_labels_the_model_and_predictions_have_not_seen(store):
    status = model_status(store)
    assert status.promoted is not None and status.promoted.version == 1
    assert status.promoted.metrics["accuracy"] > 0.8
    assert status.labels_since_model == 0
    assert status.labels_since_predictions == 0
    face = next(iter(store.predictions()))
    reject_faces(store, [face], store.predictions()[face].persona_id)
    remove_labels(store, [face])
    status = model_status(store)
    assert (status.labels_since_model, status.labels_since_predictions) == (2, 2)
    labeled = next(f for f, s in store.label_states().items() if s.persona_id is not None)
    store.append_label_events([LabelEvent(labeled, LabelKind.CHECK, store.label_states()[labeled].persona_id)])
    status = model_status(store)
    assert (status.labels_since_model, status.labels_since_predictions) == (2, 2)  # a check teaches nothing


def test_ago_reads_like_a_person_would_say_it():
    assert ago(None) == "never"
    assert ago(100.0, now=lambda: 110.0) == "just now"
    assert ago(100.0, now=lambda: 100.0 + 3 * 3600 + 5) == "3 hours ago"
    assert ago(100.0, now=lambda: 100.0 + 61) == "1 minute ago"


def test_find_similar_names_the_person_in_a_new_photo_and_shows_the_nearest_labeled_faces(home, truth):
    store = home.store
    snap = snapshot(store)
    labeled = {f for f, s in snap.states.items() if s.persona_id is not None}
    keys = {i.image_id: i.key for i in store.images()}
    # An unlabeled photo the classifier predicts with confidence: the same person must come back.
    face_id = next(f for f, p in sorted(store.predictions().items()) if p.persona_id is not None and p.confidence > 0.9)
    person = truth(face_id)
    data = (Path(home.library) / keys[face_id.split(":")[0]]).read_bytes()

    result = find_similar(store, home.resources["artifact_store"], home.resources["face_engine"], data)

    assert result.model_version == 1
    assert result.faces, "no face found in an lfw photo"
    main = result.faces[0]
    assert snap.name(main.persona_id) == person
    assert 0.0 < main.confidence <= 1.0
    assert len(main.neighbours) == 5
    assert all(n.face_id in labeled for n in main.neighbours)
    assert snap.name(main.neighbours[0].persona_id) == person
    similarities = [n.similarity for n in main.neighbours]
    assert similarities == sorted(similarities, reverse=True)


def test_find_similar_refuses_what_is_not_a_photo(home):
    with pytest.raises(ActionError, match="not an image"):
        find_similar(home.store, home.resources["artifact_store"], home.resources["face_engine"], b"hello" * 100)


def test_find_similar_without_any_face_returns_no_faces(home):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), 200, dtype=np.uint8)).save(buffer, format="PNG")
    result = find_similar(
        home.store, home.resources["artifact_store"], home.resources["face_engine"], buffer.getvalue()
    )
    assert result.faces == []
