"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package, a throwaway cluster.

``initdb`` into a fresh temp dir, ``pg_ctl start`` on a free loopback port (no Unix socket
outside that dir, trust auth on loopback only), one database for Dagster's run, event-log and
schedule storage, and ``pg_ctl stop`` afterwards. PostgreSQL refuses to run as root, and the
tests run as root in CI containers: then the cluster belongs to the ``postgres`` system user the
package creates, and every server command runs through ``runuser``.
`make postgres` installs the package (the `test` target does it first).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.local_net import free_port

SUPERUSER, DATABASE = "faceloop", "dagster"


def server_bin() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian keeps versions side by side)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found: `make postgres` (apt-get install postgresql)")
    return Path(found[-1]).parent


def as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(timeout_s: float = 60.0) -> Iterator[str]:
    """Start a fresh cluster; yields ``postgresql://`` URL of an empty database, stops it afterwards."""
    binaries = server_bin()
    root = Path(tempfile.mkdtemp(prefix="faceloop-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": timeout_s}
    try:
        subprocess.run(
            as_server_user(
                [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"]
            ),
            **run,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off"
        subprocess.run(
            as_server_user(
                [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
            ),
            **run,
        )
        url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}"
        create_database(url, DATABASE, timeout_s)
        yield f"{url}/{DATABASE}"
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{log}") from exc
    finally:
        subprocess.run(
            as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=timeout_s,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(url: str, name: str, timeout_s: float) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connection = psycopg2.connect(f"{url}/postgres")
            break
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; dagster-postgres ships psycopg2. The
# Helm chart sets the same scheme (postgresql.postgresqlScheme in deploy/helm/values.yaml).
SCHEME = "postgresql+psycopg2"


def dagster_storage(url: str) -> dict:
    """The ``storage:`` block of dagster.yaml for the server at ``url``, in the fields the Helm
    chart renders (``postgres_db``), so the tests exercise the deployment's connection settings."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return {
        "postgres": {
            "postgres_db": {
                "username": parts.username,
                "hostname": parts.hostname,
                "port": parts.port,
                "db_name": parts.path.lstrip("/"),
                "scheme": SCHEME,
            }
        }
    }
