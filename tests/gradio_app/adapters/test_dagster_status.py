"""Retrain status from a real dagster-webserver's GraphQL API, and from one that is not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gradio_app.adapters.dagster_status import retrain_status, ui_url
from tests.support.local_net import free_port

TINY_DEFS = """
from dagster import Definitions, job, op

@op
def noop():
    pass

@job
def retrain_job():
    noop()

@job
def ingest_job():
    noop()

defs = Definitions(jobs=[retrain_job, ingest_job])
"""


LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
  }
}
"""


def graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps({"query": query, "variables": variables}).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def dagster_webserver(tmp_path):
    """A real webserver over a real instance holding runs in known states (no daemon: QUEUED stays queued)."""
    from dagster import DagsterInstance
    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    defs = tmp_path / "tiny_defs.py"
    defs.write_text(TINY_DEFS)
    with DagsterInstance.from_config(str(home)) as instance:
        for job, status in [
            ("retrain_job", DagsterRunStatus.STARTED),
            ("retrain_job", DagsterRunStatus.SUCCESS),
            ("retrain_job", DagsterRunStatus.FAILURE),
            ("ingest_job", DagsterRunStatus.STARTED),
        ]:
            instance.add_run(DagsterRun(job_name=job, status=status))
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-f", str(defs)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("dagster-webserver did not start")
            time.sleep(0.5)
    for job in ("retrain_job", "ingest_job"):  # submitted like the UI does; with no daemon they stay QUEUED
        submitted = graphql(
            url,
            LAUNCH,
            {
                "executionParams": {
                    "selector": {
                        "repositoryLocationName": defs.name,
                        "repositoryName": "__repository__",
                        "jobName": job,
                    }
                }
            },
        )
        assert submitted["data"]["launchRun"]["__typename"] == "LaunchRunSuccess", submitted
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_active_retrain_runs_are_counted_and_other_runs_ignored(dagster_webserver):
    status = retrain_status(dagster_webserver)
    assert status.reachable and status.error is None
    assert (status.queued, status.running) == (1, 1)
    assert {r["status"] for r in status.runs} == {"QUEUED", "STARTED"}
    assert status.summary() == "retrain running (1), 1 queued"


def test_an_unreachable_dagster_is_a_status_not_an_error():
    status = retrain_status(f"http://127.0.0.1:{free_port()}/graphql", timeout_s=1.0)
    assert not status.reachable
    assert status.summary() == "Dagster not reachable"


def test_ui_url_follows_the_graphql_url(monkeypatch):
    monkeypatch.delenv("FACELOOP_DAGSTER_UI_URL", raising=False)
    assert ui_url("http://dagster.internal:3000/graphql") == "http://dagster.internal:3000"
    monkeypatch.setenv("FACELOOP_DAGSTER_UI_URL", "https://dagster.example.org/")
    assert ui_url("http://x/graphql") == "https://dagster.example.org"
