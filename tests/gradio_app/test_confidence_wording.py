"""One number per face: the calibrated chance, written one way on every tab, never contradicted."""

from __future__ import annotations

import pytest

from gradio_app.context import AppContext
from gradio_app.formatting import chance
from gradio_app.people import predicted_faces
from gradio_app.review import ReviewItem, review_queue
from gradio_app.similar import FoundFace
from gradio_app.snapshot import snapshot
from gradio_app.tabs.review.tab import question
from gradio_app.tabs.similar import face_label


def test_the_chance_never_reads_as_certain_either_way():
    assert [chance(v) for v in (0.0, 0.004, 0.123, 0.5, 0.996, 1.0)] == ["<1%", "<1%", "12%", "50%", ">99%", ">99%"]
    assert chance(None) == "–"


@pytest.mark.parametrize("value", [0.02, 0.3, 0.49])
def test_an_unknown_face_is_called_probably_someone_new_with_its_low_chance(value):
    text = question(ReviewItem("f:0", 1, value, True, 0.5), "Arnold")
    assert "probably someone not named yet" in text and f"**{chance(value)}** chance" in text
    assert "recognise" not in text and "among the people" not in text


@pytest.mark.parametrize(("value", "words"), [(0.3, "unsure"), (0.6, "thinks so"), (0.9, "fairly sure")])
def test_a_known_face_is_worded_by_its_chance(value, words):
    text = question(ReviewItem("f:0", 1, value, False, 1 - value), "Ada")
    assert words in text and f"**{chance(value)}** chance it is Ada" in text


def test_review_people_and_find_similar_show_the_same_number_for_a_face(home):
    store = home.store
    snap = snapshot(store)
    ctx = AppContext.from_resources(home.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")
    predictions = snap.open_predictions()
    unknown = [p for p in predictions.values() if p.persona_id is None]
    assert unknown and all(p.confidence < 0.5 for p in unknown)  # "unknown" is never shown above 50%
    item = review_queue(snap, limit=1)[0]
    persona = predictions[item.face_id].persona_id or predictions[item.face_id].candidate_persona_id
    shown = chance(predictions[item.face_id].confidence)
    assert f"**{shown}**" in question(item, snap.name(persona))
    named = next(p for p in predictions.values() if p.persona_id is not None)
    [tile] = [t for t in ctx.tiles(snap, predicted_faces(snap, named.persona_id)) if t.face_id == named.face_id]
    assert tile.badge == chance(named.confidence)
    found = FoundFace((0, 0, 1, 1), named.persona_id, named.confidence, named.persona_id)
    assert face_label(snap, 1, found).endswith(f"({chance(named.confidence)})")
