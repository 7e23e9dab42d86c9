"""Seconds from a click in the labeling app to the new predictions on screen, in a real browser.

    .venv/bin/python -m bench.app_latency --labels 6 --json

The demo's set-up in a temporary home: lfw10 (3 labels per person) ingested and trained once
with real deepface, a real ``dagster-daemon`` on this checkout, the app as its own process
(``python -m gradio_app``) and Debian's headless Chromium driven by Playwright. Each round opens
nothing new: in the People view it selects a predicted face, clicks "Confirm selected" and waits,
without reloading, until the open page shows the prediction update that includes that label.
Per label it records: click -> the face's new state on screen, click -> the new predictions on
screen (the goal, p50 <= 5 s), and, for the same labels, label written -> prediction update
stored (what ``bench.label_latency`` measures, printed next to it as ``pipeline_p50_s``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.label_latency import alive, instance_at, wait_until_idle
from tests.support.daemon import ROOT, running_daemon, wait_for
from tests.support.local_net import answers, free_port
from tests.support.sample_library import DEFAULT_DATASET, build_library

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TIMEOUT_S = 120

PENDING_OR_LABELED = """(id) => {
    const tile = document.querySelector(`#predicted-grid .fl-tile[data-id="${id}"]`);
    return (tile && tile.classList.contains('fl-pending'))
        || document.querySelector(`#labeled-grid .fl-tile[data-id="${id}"]`);
}"""
UPDATE_SHOWN = "(seq) => Number(document.querySelector('#fl-predictions')?.dataset.watermark) >= seq"


def start_app(home: Path, library: Path, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "FACELOOP_HOME": str(home),
        "FACELOOP_LIBRARY": str(library),
        "PYTHONPATH": str(ROOT),
        "FACELOOP_DAGSTER_URL": f"http://127.0.0.1:{free_port()}/graphql",  # no webserver in this bench
    }
    with log.open("w") as out:
        app = subprocess.Popen(
            [sys.executable, "-m", "gradio_app", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    wait_for(lambda: app.poll() is None and answers(f"http://127.0.0.1:{port}/"), TIMEOUT_S, 0.5, "the app to start")
    return app


def pick_predicted_face(page) -> str:
    """A predicted face of the open person, opening the next person in the table when one has none."""
    for row in range(12):
        tiles = page.locator("#predicted-grid .fl-tile")
        if tiles.count():
            return tiles.first.get_attribute("data-id")
        page.locator("#persona-table tbody tr").nth(row).click()
        page.wait_for_timeout(800)
    raise RuntimeError("no predicted face left to confirm")


def measure(labels: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.support.pipeline import local_resources_at, materialize_all

    with tempfile.TemporaryDirectory(prefix="faceloop-app-latency-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        home, library = root / "home", root / "library"
        build_library(DEFAULT_DATASET, library, labels_per_person=3)
        resources = local_resources_at(home, library)
        store = resources["state_store"]
        if not materialize_all(resources).success:
            raise SystemExit("initial pipeline run failed")
        instance = instance_at(root / "dagster_home", ROOT)
        port = free_port()
        rounds = []
        with running_daemon(home, library, root / "dagster_home") as daemon:
            app = start_app(home, library, port, root / "app.log")
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport={"width": 1360, "height": 900})
                    page.goto(f"http://127.0.0.1:{port}/")
                    page.get_by_role("tab", name="People").click()
                    page.wait_for_selector("#predicted-grid .fl-ready .fl-tile", timeout=TIMEOUT_S * 1000)
                    wait_until_idle(instance, daemon)
                    for _ in range(labels):
                        rounds.append(one_label(page, store, daemon))
                        wait_until_idle(instance, daemon, settle_s=0.5)
                    browser.close()
            finally:
                app.terminate()
                app.wait(timeout=10)
    screen = [r["click_to_predictions_on_screen_s"] for r in rounds]
    return {
        "labels": labels,
        "p50_s": round(statistics.median(screen), 2),
        "p95_s": round(float(np.percentile(screen, 95)), 2),
        "samples_s": [round(s, 2) for s in screen],
        "click_to_face_state_p50_s": round(statistics.median(r["click_to_face_state_s"] for r in rounds), 3),
        "pipeline_p50_s": round(statistics.median(r["label_to_update_stored_s"] for r in rounds), 2),
        "update_stored_to_screen_p50_s": round(statistics.median(r["update_stored_to_screen_s"] for r in rounds), 2),
    }


def one_label(page, store, daemon) -> dict:
    """Confirm one predicted face in the open People view; time what the person sees."""
    face_id = pick_predicted_face(page)
    before = store.label_watermark()
    page.locator(f'#predicted-grid .fl-tile[data-id="{face_id}"]').click()
    page.wait_for_selector("#predicted-grid :text('1 of')")
    clicked = time.time()
    page.click("#confirm-btn")
    page.wait_for_function(PENDING_OR_LABELED, arg=face_id, timeout=10_000)
    face_state = time.time() - clicked
    [event] = wait_for(lambda: store.label_events(since=before), 30, 0.02, "the app's label event")
    page.wait_for_function(UPDATE_SHOWN, arg=event.seq, timeout=TIMEOUT_S * 1000, polling=50)
    on_screen = time.time() - clicked
    alive(daemon)
    update = store.latest_prediction_update()
    return {
        "click_to_face_state_s": face_state,
        "click_to_predictions_on_screen_s": on_screen,
        "label_to_update_stored_s": update["updated_at"] - event.created_at,
        "update_stored_to_screen_s": clicked + on_screen - update["updated_at"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.labels < 5:
        parser.error("--labels must be at least 5")
    figures = measure(args.labels)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
