"""Run the Cosmos DB protocol server (@vercel/cosmosdb-server, in memory) for the contract tests.

The server is installed from the lockfile in tests/cosmos_server (``npm ci``, node_modules is
git-ignored) and started on a free loopback port; it speaks the real REST protocol, so the tests
use the real azure-cosmos SDK. TLS is self-signed: clients pass ``verify_tls=False``.
"""

from __future__ import annotations

import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The Node project (package.json, lockfile, server.js) stays in tests/cosmos_server.
SERVER_DIR = Path(__file__).resolve().parents[1] / "cosmos_server"
# The well-known Cosmos emulator key: the protocol server accepts any key; this one is public.
LOCAL_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


def install() -> Path:
    """``npm ci`` into tests/cosmos_server unless that lockfile is already installed there."""
    marker = SERVER_DIR / "node_modules" / ".package-lock.json"
    lock = SERVER_DIR / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for the Cosmos DB protocol server (apt-get install nodejs npm)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SERVER_DIR, check=True, capture_output=True)
    return SERVER_DIR / "server.js"


@contextmanager
def cosmos_server(timeout_s: float = 30.0) -> Iterator[str]:
    """Start the server on a free loopback port; yields its endpoint URL and stops it afterwards."""
    script = install()
    node = shutil.which("node") or "node"
    process = subprocess.Popen(
        [node, str(script), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout_s
        line = ""
        while (remaining := deadline - time.monotonic()) > 0:
            if not select.select([process.stdout], [], [], remaining)[0]:
                break
            line = process.stdout.readline()
            if match := re.search(r"Ready to accept HTTPS connections at ([\d.]+):(\d+)", line):
                yield f"https://{match.group(1)}:{match.group(2)}"
                return
            if not line and process.poll() is not None:
                break
        raise RuntimeError(f"Cosmos DB protocol server did not start: {line.strip() or process.returncode}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
