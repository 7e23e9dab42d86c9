"""Fixtures for the labeling app: a private copy of the real lfw10 pipeline home per test, and the
app served on a free port with a real headless Chromium on it (``app_url``, ``page``)."""

from __future__ import annotations

import os

import pytest

from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.support.local_net import free_port

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture
def home(lfw10_pipeline, tmp_path):
    """A fork of the materialized lfw10 home: real SQLite state, artifacts, library, face engine."""
    return lfw10_pipeline.fork(tmp_path / "fork")


@pytest.fixture
def store(home):
    return home.store


@pytest.fixture
def truth(home):
    """Face id -> the person it really is (lfw10 keeps each person's photos in a folder of their name)."""
    keys = {image.image_id: image.key for image in home.store.images()}
    return lambda face_id: keys[face_id.split(":")[0]].split("/")[0]


@pytest.fixture
def app_url(home, monkeypatch):
    """The app on the home's stores, served on a free port; Dagster is deliberately unreachable."""
    from gradio_app.app import build_app, launch_kwargs
    from gradio_app.context import AppContext

    monkeypatch.setenv("FACELOOP_DAGSTER_URL", f"http://127.0.0.1:{free_port()}/graphql")  # nobody listens
    ctx = AppContext.from_resources(home.resources)
    demo = build_app(ctx)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_kwargs(ctx))
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def page(app_url):
    """A Chromium page on the app, recording page errors and any request that leaves the machine."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.outside_requests = []
        page.errors = []
        page.on(
            "request",
            lambda r: (
                page.outside_requests.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else None
            ),
        )
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(app_url)
        page.wait_for_selector("#review-question h2", timeout=60_000)
        yield page
        browser.close()
