"""Undo and delete in the app, on a real SQLite store holding a real lfw10 pipeline run."""

from __future__ import annotations

from gradio_app.labels import assign_faces, confirm_faces
from gradio_app.people import (
    create_persona,
    delete_persona,
    merge_personas,
    persona_summaries,
    predicted_faces,
    rename_persona,
)
from gradio_app.snapshot import labeled_faces, snapshot
from gradio_app.undo import UndoLog
from gradio_app.uploads import photo_outcomes
from resources.state_store.records import LabelKind


def persona_named(store, name: str) -> int:
    return next(p.persona_id for p in store.personas() if p.name == name)


def test_undo_takes_back_a_whole_action_by_appending_inverse_events(store):
    blair = persona_named(store, "Tony_Blair")
    predicted = [i.face_id for i in predicted_faces(snapshot(store), blair)][:3]
    log = UndoLog()
    log.record("s1", "confirmed 3 faces", confirm_faces(store, predicted, blair))
    before = store.label_watermark()

    done = log.undo(store, "s1")

    assert (done.undone, done.refused) == (3, [])
    assert done.message == "Undone: confirmed 3 faces."
    snap = snapshot(store)
    assert all(snap.label_of(f) is None for f in predicted)
    assert {f.face_id for f in predicted_faces(snap, blair)} >= set(predicted)
    assert len(store.label_events(before)) == 3  # appended, never rewritten
    assert log.undo(store, "s1") is None  # nothing left for this session


def test_undo_is_per_session_and_refuses_what_was_changed_again_since(store):
    blair, powell = persona_named(store, "Tony_Blair"), persona_named(store, "Colin_Powell")
    face = predicted_faces(snapshot(store), blair)[0].face_id
    log = UndoLog()
    log.record("ana", "confirmed 1 face", confirm_faces(store, [face], blair))
    assign_faces(store, [face], persona_id=powell)  # someone else, later

    assert log.undo(store, "bo") is None
    done = log.undo(store, "ana")

    assert done.undone == 0 and done.refused
    assert done.message.startswith("Could not undo confirmed 1 face:")
    assert snapshot(store).label_of(face) == powell  # the later label stands


def test_deleting_a_person_unlabels_their_faces_unlists_them_and_undo_brings_them_back(store):
    blair = persona_named(store, "Tony_Blair")
    labeled = {i.face_id for i in labeled_faces(snapshot(store), blair)}
    log = UndoLog()

    log.record("s", "deleted Tony_Blair", delete_persona(store, blair))

    snap = snapshot(store)
    assert "Tony_Blair" not in {s.name for s in persona_summaries(snap)}
    assert all(snap.label_of(f) is None for f in labeled)
    assert all(p.persona_id != blair for p in snap.open_predictions().values())
    assert {e.kind for e in store.label_events() if e.face_id in labeled} >= {LabelKind.REMOVE}

    log.undo(store, "s")

    snap = snapshot(store)
    assert "Tony_Blair" in {s.name for s in persona_summaries(snap)}
    assert {i.face_id for i in labeled_faces(snap, blair)} == labeled


def test_a_person_just_added_is_listed_though_nobody_is_labeled_yet(store):
    create_persona(store, "Nobody Yet")
    assert "Nobody Yet" in {s.name for s in persona_summaries(snapshot(store))}


def test_merge_and_rename_report_their_events_so_they_can_be_undone(store):
    blair, powell = persona_named(store, "Tony_Blair"), persona_named(store, "Colin_Powell")
    log = UndoLog()
    _, seqs = merge_personas(store, blair, powell)
    log.record("s", "merged", seqs)
    _, seqs = rename_persona(store, powell, "Colin Powell")
    log.record("s", "renamed", seqs)

    assert log.undo(store, "s").message == "Undone: renamed."
    assert log.undo(store, "s").message == "Undone: merged."
    snap = snapshot(store)
    assert snap.name(powell) == "Colin_Powell" and snap.resolve(blair) == blair


def test_an_added_photo_is_followed_to_its_faces_and_names(home):
    store = home.store
    snap = snapshot(store)
    keys = {i.image_id: i.key for i in store.images()}
    face = next(f for f, p in sorted(store.predictions().items()) if p.persona_id is not None)
    labeled = next(f for f, s in sorted(snap.states.items()) if s.persona_id is not None)
    photo, labeled_photo = keys[face.split(":")[0]], keys[labeled.split(":")[0]]

    outcomes = photo_outcomes(store, snap, [photo, labeled_photo, "uploads/not-yet.jpg"])

    assert outcomes[photo].endswith(f"{snap.name(store.predictions()[face].persona_id)}?")
    assert outcomes[photo].startswith("1 face → ") or " faces → " in outcomes[photo]
    assert snap.name(snap.label_of(labeled)) in outcomes[labeled_photo]
    assert outcomes["uploads/not-yet.jpg"] == "waiting for the pipeline to find its faces…"


def test_serving_an_earlier_version_is_undone_like_a_label(tmp_path):
    from gradio_app.undo import SERVING
    from resources.state_store.records import ServingKind
    from resources.state_store.sqlite.store import SqliteStateStore

    store = SqliteStateStore(path=str(tmp_path / "state.db"))
    for watermark in (3, 5):
        version = store.add_model_version(watermark, f"k{watermark}", {"accuracy": 0.9})
        store.set_gate_result(version.version, True, promote=True)
    log = UndoLog()
    log.record("s1", "serve version 1", [store.pin_model(1, actor="ada")], SERVING)
    assert store.serving_model().version == 1

    done = log.undo(store, "s1", actor="ada")

    assert (done.undone, done.refused, done.message) == (1, [], "Undone: serve version 1.")
    assert store.serving_model().version == 2 and not store.serving().pinned
    assert [e.kind for e in store.serving_events()] == [ServingKind.PIN, ServingKind.AUTOMATIC]  # appended
