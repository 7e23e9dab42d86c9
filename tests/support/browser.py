"""The real headless browser for the app's tests: Debian's Chromium, driven by Playwright.

The ``app_url`` and ``page`` fixtures (tests/gradio_app/conftest.py) use these; the browser test
files use ``shoot`` for the screenshots people look at in test-artifacts/, and
``retrain_and_relabel`` for what the label sensor's run would do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian chromium missing: `make test` installs it (apt-get install -y chromium)",
)


def shoot(page, name: str) -> None:
    """A full-page screenshot as test-artifacts/app-<name>.png, once images have painted."""
    page.wait_for_timeout(400)  # let images finish painting
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)


def retrain_and_relabel(home) -> None:
    """What the label sensor's run does: face_classifier, its gate and predicted_labels."""
    from dagster import DagsterInstance, materialize

    from definitions import ASSETS, CHECKS

    retrain = [a for a in ASSETS if {key.path[-1] for key in a.keys} & {"face_classifier", "predicted_labels"}]
    assert materialize([*retrain, *CHECKS], resources=home.resources, instance=DagsterInstance.ephemeral()).success
