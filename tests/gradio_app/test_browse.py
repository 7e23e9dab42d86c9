"""The Photos tab's and "Check these labels"' readers, and what became of an upload, on a real
SQLite store holding a real lfw10 run."""

from __future__ import annotations

import pytest

from gradio_app.context import BOX_COLOUR, AppContext
from gradio_app.errors import ActionError
from gradio_app.labels import set_aside
from gradio_app.photos import library_photos, page_of
from gradio_app.review import (
    DISAGREES_BELOW,
    LabelToCheck,
    fix_label,
    keep_labels,
    labels_to_check,
    ranked_version,
    review_queue,
)
from gradio_app.snapshot import snapshot
from gradio_app.undo import UndoLog
from gradio_app.uploads import photo_outcomes
from resources.state_store.records import ImageStatus, LabelKind, PhotoEntry


def with_a_photo_of_no_face_and_an_unreadable_one(store) -> tuple[str, str]:
    """Two photos the lfw10 run does not have: one decoded with no face, one not readable at all."""
    store.register_photo(PhotoEntry("uploads/empty-room.jpg", 10, 1.0), "e" * 64)
    store.record_detection("e" * 64, ImageStatus.NO_FACE, size=(640, 480))
    store.register_photo(PhotoEntry("uploads/broken.jpg", 10, 1.0), None, "not an image: truncated")
    return "uploads/empty-room.jpg", "uploads/broken.jpg"


def test_photos_are_filtered_by_person_unknown_no_face_and_unreadable(store):
    empty, broken = with_a_photo_of_no_face_and_an_unreadable_one(store)
    snap = snapshot(store)
    everything = library_photos(store, snap)
    assert {p.key for p in everything} == {i.key for i in store.images()} | {broken}

    blair = next(p.persona_id for p in store.personas() if p.name == "Tony_Blair")
    blairs = library_photos(store, snap, "person", blair)
    labeled = {f.split(":")[0] for f, s in snap.states.items() if s.persona_id == blair}
    assert labeled <= {p.image_id for p in blairs}
    assert all(any(f.caption.rstrip("?") == "Tony_Blair" for f in p.faces) for p in blairs)

    unknown = library_photos(store, snap, "unknown")
    open_unknown = {f.split(":")[0] for f, p in snap.open_predictions().items() if p.persona_id is None}
    assert {p.image_id for p in unknown} == open_unknown
    assert [p.key for p in library_photos(store, snap, "no_face")] == [empty]
    assert [(p.key, p.caption) for p in library_photos(store, snap, "error")] == [
        (broken, "could not read: not an image: truncated")
    ]


def test_a_photo_filter_that_does_not_exist_is_refused(store):
    with pytest.raises(ValueError, match="no photo filter 'faces'"):
        library_photos(store, snapshot(store), "faces")


def test_pages_are_clamped_to_the_photos_there_are(store):
    photos = library_photos(store, snapshot(store))
    last = (len(photos) - 1) // 7
    assert page_of(photos, 0, 7) == (photos[:7], 0)
    assert page_of(photos, 999, 7) == (photos[last * 7 :], last)
    assert page_of(photos, -3, 7)[1] == 0


def test_a_photo_with_faces_is_drawn_with_a_frame_and_name_per_face(home):
    ctx = AppContext.from_resources(home.resources)
    face = home.store.faces()[0]
    plain = ctx.photo(face.image_id)
    x, y, w, h = face.box
    drawn, unnamed = (ctx.photo_with_boxes(face.image_id, [(face.box, n)], max(plain.size)) for n in ("Ada", ""))
    assert drawn.getpixel((x - 2, y + h // 2)) == BOX_COLOUR  # on the frame's left edge
    above = (x, max(0, y - 16), x + w, y - 4)  # where the name goes
    assert list(unnamed.crop(above).getdata()) == list(plain.crop(above).getdata())
    assert BOX_COLOUR in set(drawn.crop(above).getdata()) and drawn.crop(above) != unnamed.crop(above)
    small = ctx.photo(face.image_id, side=120)
    assert max(small.size) == 120


def test_an_upload_is_followed_to_no_face_could_not_read_and_waiting_for_predictions(store):
    empty, broken = with_a_photo_of_no_face_and_an_unreadable_one(store)
    face = next(iter(sorted(store.predictions())))  # a face nobody labeled
    image = next(i for i in store.images() if i.image_id == face.split(":")[0])
    store.write_predictions([], drop=[face])  # ingested, its prediction not written yet
    snap = snapshot(store)
    outcomes = photo_outcomes(store, snap, [empty, broken, image.key])
    assert outcomes[empty] == "no face found"
    assert outcomes[broken] == "could not read: not an image: truncated"
    assert outcomes[image.key].endswith("found · waiting for predictions…")


def open_labels_to_check(store) -> list[LabelToCheck]:
    return labels_to_check(store, snapshot(store))


def test_the_labels_to_check_are_those_the_newest_ranking_doubts_most_doubtful_first(store):
    ranking = ranked_version(store).metrics["label_check"]
    doubted = [row for row in ranking if row["agreement"] < DISAGREES_BELOW]
    checks = open_labels_to_check(store)
    assert checks, "the lfw10 run doubts at least one of its labels"
    assert len(doubted) < len(ranking)  # labels the model agrees with are not asked about
    assert [c.face_id for c in checks] == [row["face_id"] for row in doubted]
    assert [c.agreement for c in checks] == sorted(c.agreement for c in checks)
    snap = snapshot(store)
    assert [snap.name(c.persona_id) for c in checks] == [row["persona"] for row in doubted]
    assert [snap.name(c.model_says) for c in checks] == [row["model_says"] for row in doubted]


def test_a_kept_label_is_not_asked_again_until_undone(store):
    first, *rest = open_labels_to_check(store)
    log = UndoLog()
    log.record("s", "kept", keep_labels(store, [first]))
    assert [c.face_id for c in open_labels_to_check(store)] == [c.face_id for c in rest]
    assert snapshot(store).label_of(first.face_id) == first.persona_id  # the label itself unchanged
    assert store.face_events(first.face_id)[-1].kind == LabelKind.CHECK

    assert log.undo(store, "s").message == "Undone: kept."
    assert open_labels_to_check(store)[0] == first


def test_a_fixed_label_takes_the_person_chosen_or_what_the_model_says(store):
    first = open_labels_to_check(store)[0]
    log = UndoLog()
    name, seqs = fix_label(store, first, name="Someone Else")
    log.record("s", "fixed", seqs)
    snap = snapshot(store)
    assert name == "Someone Else" == snap.name(snap.label_of(first.face_id))
    assert first.face_id not in {c.face_id for c in open_labels_to_check(store)}  # fixed: not asked again

    log.undo(store, "s")
    assert open_labels_to_check(store)[0] == first
    name, _ = fix_label(store, first)
    snap = snapshot(store)
    assert snap.label_of(first.face_id) == first.model_says and name == snap.name(first.model_says)


def test_nothing_to_keep_or_fix_is_refused(store):
    with pytest.raises(ActionError, match="no label to keep"):
        keep_labels(store, [])
    with pytest.raises(ActionError, match="no label to fix"):
        fix_label(store, None)


def test_undo_steps_follow_the_browser_into_a_new_session(store):
    face = review_queue(snapshot(store), limit=1)[0].face_id
    log = UndoLog()
    log.bind("session-1", "browser:ada")
    log.record("session-1", "a stranger", set_aside(store, [face], LabelKind.STRANGER))
    log.bind("session-2", "browser:ada")  # the page reloaded in the same browser
    assert log.last("session-2").description == "a stranger"
    assert log.last("session-3") is None  # another browser
    assert log.undo(store, "session-2").message == "Undone: a stranger."
    assert not snapshot(store).settled(face)
