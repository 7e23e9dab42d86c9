"""A real Dagster daemon over a FaceLoop home, for the end-to-end test and the latency benchmark."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the checkout this module is in
T = TypeVar("T")


@contextmanager
def running_daemon(
    faceloop_home: Path,
    library: Path,
    dagster_home: Path,
    extra_env: dict[str, str] | None = None,
    code_root: Path = ROOT,
    storage: dict | None = None,
) -> Iterator[subprocess.Popen]:
    """``dagster-daemon run`` on a checkout's workspace with its instance config (sensors on).

    ``code_root`` is this checkout unless a benchmark runs a baseline's code side by side;
    ``storage``: a dagster.yaml ``storage:`` block (e.g. Postgres) instead of SQLite in ``dagster_home``.
    """
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(code_root / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    if storage is not None:
        with (dagster_home / "dagster.yaml").open("a") as config:
            config.write("\n" + yaml.safe_dump({"storage": storage}))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "FACELOOP_HOME": str(faceloop_home),
        "FACELOOP_LIBRARY": str(library),
        "DEEPFACE_HOME": os.environ.get("DEEPFACE_HOME", str(faceloop_home)),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(code_root),
        **(extra_env or {}),
    }
    log = (dagster_home / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=code_root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield daemon
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
        log.close()


def wait_for(probe: Callable[[], T], timeout_s: float, interval_s: float = 0.1, what: str = "condition") -> T:
    """Poll until ``probe`` returns something truthy; raise TimeoutError with ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
