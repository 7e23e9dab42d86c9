"""The app in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

A person's clicks must end up as label events in the store. Screenshots of the main views are
saved to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

from gradio_app.people import persona_summaries
from gradio_app.review import review_queue
from gradio_app.snapshot import snapshot
from resources.state_store.records import LabelKind
from tests.support.browser import needs_chromium, retrain_and_relabel, shoot

pytestmark = needs_chromium


def app_events(store, since: int):
    return [e for e in store.label_events(since) if e.source == "app"]


def test_a_person_confirms_and_corrects_faces_in_the_browser(page, home):
    store = home.store
    start = store.label_watermark()
    snap = snapshot(store)
    first_in_queue = review_queue(snap, limit=1)[0]
    shoot(page, "review")

    # Review card: the Y key answers "yes" for the face shown.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("y")
    page.wait_for_selector("#review-progress :text('1 answered')")
    (event,) = app_events(store, start)
    expected = LabelKind.ASSIGN if first_in_queue.unknown else LabelKind.CONFIRM
    assert (event.face_id, event.kind, event.persona_id) == (
        first_in_queue.face_id,
        expected,
        first_in_queue.persona_id,
    )

    # People: confirm one predicted face of the first person.
    page.get_by_role("tab", name="People").click()
    page.wait_for_selector("#predicted-grid .fl-ready .fl-tile")
    persona = persona_summaries(snapshot(store))[0]
    tile = page.locator("#predicted-grid .fl-tile").first
    confirmed = tile.get_attribute("data-id")
    tile.click()
    page.wait_for_selector("#predicted-grid :text('1 of')")
    page.click("#confirm-btn")
    page.wait_for_selector("#persona-title :text('Confirmed 1 face')")
    last = app_events(store, start)[-1]
    assert (last.face_id, last.kind, last.persona_id) == (confirmed, LabelKind.CONFIRM, persona.persona_id)

    # ...and correct another one to a different person, picked from the dropdown.
    tile = page.locator("#predicted-grid .fl-tile").first
    corrected = tile.get_attribute("data-id")
    assert corrected != confirmed
    tile.click()
    page.wait_for_selector("#predicted-grid :text('1 of')")
    page.locator("#move-predicted input").click()
    page.locator("#move-predicted input").fill("Colin")
    page.get_by_role("option", name="Colin_Powell").click()
    page.click("#move-btn")
    page.wait_for_selector("#persona-title :text('Moved 1 face')")
    powell = next(p.persona_id for p in store.personas() if p.name == "Colin_Powell")
    last = app_events(store, start)[-1]
    assert (last.face_id, last.kind, last.persona_id) == (corrected, LabelKind.ASSIGN, powell)
    assert len(app_events(store, start)) == 3
    shoot(page, "people")

    for tab, ready, name in [
        ("Unknown faces", "#cluster-title h3", "unknown"),
        ("Classifier", "#status-md h3", "classifier"),
        ("Add photos", "#upload-btn", "add-photos"),
    ]:
        page.get_by_role("tab", name=tab).click()
        page.wait_for_selector(ready)
        shoot(page, name)
    assert "Dagster not reachable" in page.locator("#status-md").inner_text()

    # Find similar: a labeled person's photo comes back with that person's name.
    page.get_by_role("tab", name="Find similar").click()
    photo = next(Path(home.library, "Tony_Blair").glob("*.jpg"))
    page.locator("#query input[type=file]").set_input_files(str(photo))
    page.wait_for_timeout(500)
    page.click("#find-btn")
    page.wait_for_selector("#found-text li", timeout=60_000)
    assert re.search(r"Tony.Blair", page.locator("#found-text").inner_text())
    shoot(page, "find-similar")

    assert page.outside_requests == [], "the page must work offline"
    assert page.errors == []


# Times, inside the page, the click on Confirm and the first DOM change that shows the face's new
# state: its tile marked in the browser, or (if the server were faster) the face in the labeled grid.
WATCH_FACE_STATE_JS = """(id) => {
    delete window.faceStateShownAt;
    document.querySelector('#confirm-btn').addEventListener(
        'click', () => { window.confirmClickedAt = performance.now(); }, {capture: true, once: true});
    const observer = new MutationObserver(() => {
        const tile = document.querySelector(`#predicted-grid .fl-tile[data-id="${id}"]`);
        const labeled = document.querySelector(`#labeled-grid .fl-tile[data-id="${id}"]`);
        const shown = (tile && tile.classList.contains('fl-pending')) || labeled;
        if (window.confirmClickedAt === undefined || !shown) return;
        window.faceStateShownAt = performance.now();
        window.faceStateHow = labeled ? 'labeled by the server' : 'marked in the browser';
        observer.disconnect();
    });
    observer.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def test_a_click_shows_at_once_and_the_open_view_follows_the_new_predictions(page, home):
    import time

    store = home.store
    page.get_by_role("tab", name="People").click()
    page.wait_for_selector("#predicted-grid .fl-ready .fl-tile")
    tile = page.locator("#predicted-grid .fl-tile").first
    face_id = tile.get_attribute("data-id")
    tile.click()
    page.wait_for_selector("#predicted-grid :text('1 of')")
    page.evaluate(WATCH_FACE_STATE_JS, face_id)
    page.click("#confirm-btn")
    # The face's own state changes on screen before the server has answered: < 1 s from the click
    # event to the DOM change, timed inside the page.
    page.wait_for_function("() => window.faceStateShownAt !== undefined", timeout=5_000)
    shown_after_ms, how = page.evaluate(
        "() => [window.faceStateShownAt - window.confirmClickedAt, window.faceStateHow]"
    )
    print(f"click -> face state on screen: {shown_after_ms:.0f} ms ({how})")
    assert shown_after_ms < 1000 and how == "marked in the browser"
    page.wait_for_selector(f'#labeled-grid .fl-tile[data-id="{face_id}"]')  # the server's answer lands
    seq = store.label_watermark()
    assert page.locator("#fl-predictions").inner_text().startswith("learning 1 new label")

    # A retrain lands (as the daemon's run would): the open view refreshes by itself, no click.
    before = page.locator("#persona-title").inner_text()
    retrain_and_relabel(home)
    landed = time.monotonic()
    page.wait_for_function(
        "(seq) => Number(document.querySelector('#fl-predictions')?.dataset.watermark) >= seq",
        arg=seq,
        timeout=10_000,
    )
    print(f"prediction update -> open view refreshed: {(time.monotonic() - landed) * 1000:.0f} ms")
    chip = page.locator("#fl-predictions").inner_text()
    assert re.fullmatch(r"predictions updated \d+\.\d s after your label", chip), chip
    after = page.locator("#persona-title").inner_text()
    assert "Confirmed 1 face" in before and "Confirmed" not in after  # the people view was re-rendered...
    assert after.splitlines()[0] == before.splitlines()[0]  # ...for the same person, not reset
    assert page.locator(f'#labeled-grid .fl-tile[data-id="{face_id}"]').count() == 1
    shoot(page, "people-refreshed")
    assert page.errors == []
