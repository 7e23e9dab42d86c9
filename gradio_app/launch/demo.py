"""``make demo``'s last step: ``dagster dev`` and the labeling app, started and stopped together.

    python -m gradio_app.launch.demo --dagster-port 3000 --app-port 7860

Ctrl+C or SIGTERM stops both within ``STOP_S``: each is asked to shut down (``dagster dev`` takes
its webserver, daemon and code servers down with it), and whatever is still alive after the grace
period is killed with its whole process group, so nothing is left running. If either one exits by
itself, the other is stopped too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STOP_S = 10.0  # the promise: everything is gone this long after Ctrl+C / SIGTERM
GRACE_S = 7.0  # asked nicely for this long, then killed
ROOT = Path(__file__).resolve().parents[2]  # the repository: where workspace.yaml is


class Stop(Exception):
    """Raised in the main thread by SIGINT / SIGTERM."""


def _raise_stop(signum: int, _frame) -> None:
    raise Stop(signal.Signals(signum).name)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in its own process group, so that it and everything it starts can be signalled at once."""
    return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_all(children: list[subprocess.Popen], grace_s: float = GRACE_S) -> None:
    """SIGTERM each child's group, wait up to ``grace_s``, then SIGKILL the groups that are left."""
    groups = [child.pid for child in children]  # start_new_session: group id == the child's pid
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(g) for g in groups):
        for child in children:
            child.poll()  # reap, so an exited child stops counting as alive
        time.sleep(0.1)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dagster-port", type=int, default=3000)
    parser.add_argument("--app-port", type=int, default=7860)
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "FACELOOP_DAGSTER_URL": f"http://127.0.0.1:{args.dagster_port}/graphql"}
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    children: list[subprocess.Popen] = []
    try:
        children.append(
            start([str(bin_dir / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(args.dagster_port)], env)
        )
        children.append(start([sys.executable, "-m", "gradio_app", "--port", str(args.app_port)], env))
        print(f"Dagster UI:   http://127.0.0.1:{args.dagster_port}", flush=True)
        print(f"Labeling app: http://127.0.0.1:{args.app_port}", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        exited = next(child for child in children if child.returncode is not None)
        print(f"{Path(exited.args[0]).name} exited ({exited.returncode}); stopping the rest", flush=True)
        return exited.returncode or 1
    except Stop as why:
        print(f"{why}: stopping the app and Dagster", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)


if __name__ == "__main__":
    sys.exit(main())
