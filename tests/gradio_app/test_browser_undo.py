"""Mistakes in a real headless Chromium: a refused click changes nothing on screen, Undo takes
an action back (merge, delete), and the log only grows. Screenshots go to test-artifacts/."""

from __future__ import annotations

from gradio_app.review import review_queue
from gradio_app.snapshot import labeled_faces, snapshot
from resources.state_store.records import LabelKind
from tests.support.browser import needs_chromium, retrain_and_relabel, shoot

pytestmark = needs_chromium


def persona_named(store, name: str) -> int:
    return next(p.persona_id for p in store.personas() if p.name == name)


def pick_person(page, name: str) -> None:
    page.locator("#persona-pick input").click()
    page.locator("#persona-pick input").fill(name[:5])
    page.get_by_role("option", name=name).click()
    page.wait_for_selector(f"#persona-title h3:text('{name}')")


def test_an_empty_save_warns_and_leaves_the_face_on_screen(page, home):
    question = page.locator("#review-question h2").inner_text()
    face = page.locator("#review-face img").get_attribute("src")
    before = home.store.label_watermark()

    page.click("#review-other-save")

    page.wait_for_selector(".toast-body :text('choose a person')")
    assert page.locator("#review-question h2").inner_text() == question
    assert page.locator("#review-face img").get_attribute("src") == face
    assert page.locator(".error, :text('Error')").count() == 0  # no red badges in place of the card
    assert home.store.label_watermark() == before
    shoot(page, "empty-save")
    assert page.errors == []


def test_a_merge_and_a_delete_are_undone_in_the_browser(page, home):
    store = home.store
    blair, powell = persona_named(store, "Tony_Blair"), persona_named(store, "Colin_Powell")
    blair_faces = {i.face_id for i in labeled_faces(snapshot(store), blair)}
    page.get_by_role("tab", name="People").click()
    page.wait_for_selector("#predicted-grid .fl-ready .fl-tile")

    # Merge Tony Blair into Colin Powell, then Undo: both are back with their own faces.
    pick_person(page, "Tony_Blair")
    page.locator("#persona-admin").click()
    page.locator("#merge-into input").click()
    page.locator("#merge-into input").fill("Colin")
    page.get_by_role("option", name="Colin_Powell").click()
    page.click("#merge-btn")
    page.wait_for_selector("#persona-title :text('Merged')")
    assert "Tony_Blair" not in page.locator("#persona-table").inner_text()
    page.wait_for_selector("#undo-btn:text('merged Tony_Blair into Colin_Powell')")
    shoot(page, "merged")
    page.click("#undo-btn")
    page.wait_for_selector(".toast-body :text('Undone')")
    page.wait_for_function("() => document.querySelector('#persona-table').innerText.includes('Tony_Blair')")
    snap = snapshot(store)
    assert {i.face_id for i in labeled_faces(snap, blair)} == blair_faces
    assert snap.resolve(blair) == blair and snap.resolve(powell) == powell
    assert [e.kind for e in store.persona_events()][-2:] == [LabelKind.MERGE, LabelKind.UNMERGE]
    shoot(page, "merge-undone")

    # Delete Tony Blair: unlisted, faces unlabeled; Ctrl+Z brings every label back.
    pick_person(page, "Tony_Blair")
    page.click("#delete-btn")
    page.wait_for_selector("#persona-title :text('Deleted Tony')")
    assert "Tony_Blair" not in page.locator("#persona-table").inner_text()
    assert labeled_faces(snapshot(store), blair) == []
    shoot(page, "deleted")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    page.wait_for_function("() => document.querySelector('#persona-table').innerText.includes('Tony_Blair')")
    assert {i.face_id for i in labeled_faces(snapshot(store), blair)} == blair_faces
    removed = [e for e in store.label_events() if e.kind == LabelKind.REMOVE and e.face_id in blair_faces]
    assert len(removed) == len(blair_faces)  # the log kept the delete; undo appended the labels again
    shoot(page, "delete-undone")
    assert page.errors == []


def test_a_stranger_is_not_asked_again_even_after_three_retrains(page, home):

    store = home.store
    shown = review_queue(snapshot(store), limit=1)[0].face_id
    page.click("#review-stranger")
    page.wait_for_selector("#review-progress :text('1 answered')")
    (event,) = [e for e in store.label_events() if e.source == "app"]
    assert (event.face_id, event.kind, event.persona_id) == (shown, LabelKind.STRANGER, None)
    assert shown not in {i.face_id for i in review_queue(snapshot(store), limit=0)}

    for _ in range(3):  # what the label sensor's runs do after the verdict
        retrain_and_relabel(home)
        assert shown not in store.predictions()  # dropped from the predictions, not re-guessed
    page.reload()
    page.wait_for_selector("#review-question h2")
    assert shown not in {i.face_id for i in review_queue(snapshot(store), limit=0)}

    # Listed with the set-aside faces, and restored from there.
    page.get_by_role("tab", name="Unknown faces").click()
    page.wait_for_selector("#cluster-title h3")
    page.locator("#set-aside").click()
    tile = page.locator(f'#set-aside-grid .fl-tile[data-id="{shown}"]')
    tile.wait_for()
    assert "stranger" in tile.inner_text()
    shoot(page, "strangers")
    tile.click()
    page.click("#restore-btn")
    page.wait_for_selector("#cluster-title :text('Restored 1 face')")
    assert not snapshot(store).settled(shown)
    assert page.errors == []


def test_skips_outlive_a_reload_and_back_brings_the_last_face_again(page, home):
    store = home.store
    queue = [i.face_id for i in review_queue(snapshot(store), limit=0)]
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("s")
    page.wait_for_selector(f"#review-progress :text('{len(queue) - 1} face(s) to review')")

    page.reload()
    page.wait_for_selector(f"#review-progress :text('{len(queue) - 1} face(s) to review')")  # still skipped

    page.click("#review-yes")  # answer the second face, then go back to it: the answer is undone
    page.wait_for_selector("#review-progress :text('1 answered')")
    assert snapshot(store).settled(queue[1])
    page.click("#review-back")
    page.wait_for_selector("#review-progress :text('0 answered')")
    assert not snapshot(store).settled(queue[1])
    assert queue[1] in {i.face_id for i in review_queue(snapshot(store), limit=0)}
    shoot(page, "review-back")
    assert page.errors == []


def test_a_duplicate_upload_is_named_as_such(page, home):
    from pathlib import Path

    image = next(iter(home.store.images()))
    page.get_by_role("tab", name="Add photos").click()
    page.wait_for_selector("#upload-btn")
    page.locator("#upload-files input[type=file]").set_input_files(str(Path(home.library) / image.key))
    page.wait_for_timeout(500)
    page.click("#upload-btn")
    page.wait_for_function(
        "(text) => document.querySelector('#upload-results').innerText.includes(text)",
        arg=f"already in your library as {image.key}",
    )
    assert not any(key.startswith("uploads/") for key in (e.key for e in home.resources["image_source"].list_photos()))
    shoot(page, "duplicate-upload")
    assert page.errors == []
