"""Finding one's way in a real headless Chromium: the Photos tab (a filter, the photo with its
faces framed) and Review's "Check these labels" (Keep, Fix, Undo, also after a reload).
Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from PIL import Image

from gradio_app.context import BOX_COLOUR, AppContext
from gradio_app.photos import library_photos
from gradio_app.review import labels_to_check
from gradio_app.snapshot import face_caption, snapshot
from resources.state_store.records import LabelKind, PhotoEntry
from tests.support.browser import needs_chromium, shoot

pytestmark = needs_chromium


def picture(page, selector: str) -> Image.Image:
    """The picture the browser shows in ``selector``, fetched as the browser got it."""
    src = page.locator(f"{selector} img").first.get_attribute("src")
    return Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB")


def framed(image: Image.Image) -> int:
    """Pixels of about the frames' colour (the page gets a lossy WebP)."""
    return sum(1 for pixel in image.getdata() if sum(abs(a - b) for a, b in zip(pixel, BOX_COLOUR, strict=True)) < 60)


def test_photos_filtered_by_person_and_a_photo_shown_with_its_faces_framed(page, home):
    store = home.store
    store.register_photo(PhotoEntry("uploads/broken.jpg", 10, 1.0), None, "not an image: truncated")
    blair = next(p.persona_id for p in store.personas() if p.name == "Tony_Blair")
    expected = library_photos(store, snapshot(store), "person", blair)
    page.click("#tab-photos-button")
    page.wait_for_selector("#photos-grid .thumbnail-lg img")
    total = len(library_photos(store, snapshot(store)))
    page.wait_for_selector(f"#photos-count :text('of {total} photos')")

    page.locator("#photos-person input").click()
    page.locator("#photos-person input").fill("Tony")
    page.get_by_role("option", name="Tony_Blair").click()
    page.wait_for_selector(f"#photos-count :text('of {len(expected)} photos')")
    assert page.locator("#photos-grid .thumbnail-lg").count() == min(24, len(expected))
    assert page.locator("#photos-show input[value=person]").is_checked()

    page.locator("#photos-grid .thumbnail-lg").nth(1).click()
    page.wait_for_selector(f"#photos-about :text('{expected[1].key}')")
    assert "Tony_Blair" in page.locator("#photos-about").inner_text()
    plain = AppContext.from_resources(home.resources).photo(expected[1].image_id)
    assert framed(picture(page, "#photos-photo")) > framed(plain) + 2 * sum(f.box[2] for f in expected[1].faces)
    shoot(page, "photos-person")

    page.locator("#photos-show label:has-text('Could not read')").click()
    page.wait_for_selector("#photos-count :text('of 1 photos')")
    page.wait_for_selector("#photos-about :text('could not read: not an image')")
    shoot(page, "photos-unreadable")
    assert page.errors == []


def test_check_these_labels_keeps_and_fixes_a_label_and_undo_takes_it_back(page, home):
    store = home.store
    checks = labels_to_check(store, snapshot(store))
    first = checks[0]
    page.locator("#review-mode label:has-text('Check these labels')").click()
    page.wait_for_selector("#check-question :text('Is this really')")
    assert page.locator("#review-question").is_hidden()
    page.wait_for_selector(f"#check-question :text('{len(checks)} label(s) to check')")
    shoot(page, "check-labels")

    # Keep: a CHECK event of the label as it is; it is not asked about again.
    name = snapshot(store).name(first.persona_id)
    page.click("#check-keep")
    page.wait_for_selector(f"#check-question :text('Kept: {name}')")
    event = [e for e in store.label_events() if e.source == "app"][-1]
    assert (event.face_id, event.kind, event.persona_id) == (first.face_id, LabelKind.CHECK, first.persona_id)
    assert first not in labels_to_check(store, snapshot(store))
    page.wait_for_selector("#undo-btn:text('kept the label')")

    # Undo survives a reload (it is kept per browser): the label is back on the card.
    page.reload()
    page.wait_for_selector("#undo-btn:text('kept the label')")
    page.locator("#review-mode label:has-text('Check these labels')").click()
    page.click("#undo-btn")
    page.wait_for_selector(".toast-body :text('Undone: kept the label')")
    assert labels_to_check(store, snapshot(store))[0] == first
    page.wait_for_selector(f"#check-question :text('{len(checks)} label(s) to check')")

    # Fix: the face now is who the model says; Undo gives it its label back.
    page.click("#check-fix")
    page.wait_for_selector("#check-question :text('Fixed: now')")
    assert snapshot(store).label_of(first.face_id) == first.model_says
    shoot(page, "check-labels-fixed")
    page.click("#undo-btn")
    page.wait_for_selector(".toast-body :text('Undone: fixed a label')")
    assert snapshot(store).label_of(first.face_id) == first.persona_id
    page.wait_for_selector("#check-question :text('Is this really')")
    assert page.errors == []


def ingest(home) -> None:
    """What the new-photos sensor's run does: ingest_job (faces, embeddings, then predictions)."""
    from dagster import DagsterInstance, materialize

    from assets.jobs import INGEST_ASSETS
    from definitions import ASSETS

    wanted = [a for a in ASSETS if {key.path[-1] for key in a.keys} & set(INGEST_ASSETS)]
    assert materialize(wanted, resources=home.resources, instance=DagsterInstance.ephemeral()).success


ROWS = "document.querySelector('#upload-results').innerText"


def test_each_upload_row_follows_its_photo_to_its_faces_or_no_face(page, home, tmp_path):
    from PIL import ImageOps

    counts = Counter(f.image_id for f in home.store.faces())
    image = next(i for i in home.store.images() if counts[i.image_id] == 1)
    mirrored, blank = tmp_path / "mirrored.jpg", tmp_path / "blank-wall.png"
    ImageOps.mirror(Image.open(Path(home.library) / image.key)).save(mirrored)  # new content, a face
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(blank)  # no face at all
    page.get_by_role("tab", name="Add photos").click()
    page.wait_for_selector("#upload-btn")
    page.locator("#upload-files input[type=file]").set_input_files([str(mirrored), str(blank)])
    page.wait_for_timeout(500)
    page.click("#upload-btn")
    results = page.locator("#upload-results")
    page.wait_for_function(f"() => ({ROWS}.match(/waiting for the pipeline/g) || []).length == 2")

    ingest(home)
    page.wait_for_function(f"() => /no face found/.test({ROWS}) && /1 face → \\S/.test({ROWS})", timeout=15_000)
    text = results.inner_text()
    assert "waiting" not in text
    uploaded = next(i for i in home.store.images() if i.key.startswith("uploads/mirrored"))
    (face,) = [f for f in home.store.faces() if f.image_id == uploaded.image_id]
    snap = snapshot(home.store)
    assert f"1 face → {face_caption(snap, face.face_id)}" in text
    shoot(page, "upload-followed")
    assert page.errors == []
