"""`make demo`'s servers (python -m gradio_app.launch.demo: dagster dev + the app) stop on Ctrl+C or
SIGTERM within 10 s and leave no process behind: webserver, daemon, code servers, app."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradio_app.launch.demo import STOP_S
from tests.support.local_net import answers, free_port

ROOT = Path(__file__).resolve().parents[3]


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc), however deep."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_the_app_and_dagster_leaving_nothing_running(tmp_path, signum):
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {
        **os.environ,
        "FACELOOP_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(dagster_home),
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    dagster_port, app_port = free_port(), free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gradio_app.launch.demo",
            "--dagster-port",
            str(dagster_port),
            "--app-port",
            str(app_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while not (
            answers(f"http://127.0.0.1:{dagster_port}/server_info") and answers(f"http://127.0.0.1:{app_port}/")
        ):
            assert demo.poll() is None and time.monotonic() < deadline, "the demo servers never came up"
            time.sleep(1)
        time.sleep(3)  # the daemon and its code server are up too by now
        tree = descendants(demo.pid)
        assert len(tree) >= 4  # dagster dev, its webserver and daemon, the app (+ code servers)
        demo.send_signal(signum)
        sent = time.monotonic()
        demo.wait(timeout=STOP_S + 5)
        while running(tree) and time.monotonic() - sent < STOP_S + 5:
            time.sleep(0.1)
        took = time.monotonic() - sent
        assert not running(tree), f"still running {took:.1f}s after {signum.name}: {sorted(running(tree))}"
        assert took < STOP_S
        assert not answers(f"http://127.0.0.1:{dagster_port}/server_info")
        assert not answers(f"http://127.0.0.1:{app_port}/")
    finally:
        if demo.poll() is None:
            demo.kill()
