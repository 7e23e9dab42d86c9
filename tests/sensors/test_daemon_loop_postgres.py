"""The daemon test of test_daemon_loop.py with Dagster's run, event-log and schedule storage in a
real PostgreSQL server (dagster-postgres), as the Helm chart deploys it."""

from __future__ import annotations

import functools

import psycopg2
import test_daemon_loop as loop

from tests.support.daemon import running_daemon
from tests.support.postgres_server import dagster_storage


def stored_runs(url: str) -> dict[str, int]:
    """Runs per job as Postgres holds them: read with SQL, not through Dagster."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pipeline_name, COUNT(*) FROM runs GROUP BY pipeline_name")
        return dict(cursor.fetchall())


def test_labels_and_photos_flow_through_the_daemon_on_postgres(lfw10_pipeline, postgres_url, tmp_path, monkeypatch):
    on_postgres = functools.partial(running_daemon, storage=dagster_storage(postgres_url))
    monkeypatch.setattr(loop, "running_daemon", on_postgres)
    loop.test_labels_and_photos_flow_through_the_daemon(lfw10_pipeline, tmp_path)
    runs = stored_runs(postgres_url)
    assert runs.get("retrain_job", 0) >= 2 and runs.get("ingest_job", 0) >= 1
    assert not (tmp_path / "dagster_home" / "history").exists()  # nothing fell back to SQLite
