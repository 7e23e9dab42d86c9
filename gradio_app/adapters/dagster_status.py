"""Is a retrain queued or running? Asked of Dagster's GraphQL API, the same one its UI uses.

The app never needs Dagster to work: when the webserver cannot be reached the status says so and
everything else carries on.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field

DEFAULT_GRAPHQL_URL = "http://127.0.0.1:3000/graphql"
RETRAIN_JOB = "retrain_job"
ACTIVE_STATUSES = ("QUEUED", "STARTING", "STARTED")

RUNS_QUERY = """
query FaceLoopActiveRuns($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 20) {
    __typename
    ... on Runs { results { runId status creationTime startTime } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}
"""


def graphql_url() -> str:
    """Where Dagster answers (FACELOOP_DAGSTER_URL; ``make demo`` sets it to the port it started)."""
    return os.environ.get("FACELOOP_DAGSTER_URL", DEFAULT_GRAPHQL_URL)


def ui_url(graphql: str | None = None) -> str:
    """The Dagster UI that serves this GraphQL endpoint (FACELOOP_DAGSTER_UI_URL overrides)."""
    configured = os.environ.get("FACELOOP_DAGSTER_UI_URL")
    if configured:
        return configured.rstrip("/")
    graphql = graphql or graphql_url()
    return graphql[: -len("/graphql")] if graphql.endswith("/graphql") else graphql.rstrip("/")


@dataclass(frozen=True)
class RetrainStatus:
    reachable: bool
    queued: int = 0
    running: int = 0  # STARTING or STARTED
    runs: list[dict] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        """The retrain status in a few words, for the header's chip."""
        if not self.reachable:
            return "Dagster not reachable"
        if self.running:
            return f"retrain running ({self.running})" + (f", {self.queued} queued" if self.queued else "")
        if self.queued:
            return f"retrain queued ({self.queued})"
        return "no retrain queued or running"


def retrain_status(url: str | None = None, job: str = RETRAIN_JOB, timeout_s: float = 3.0) -> RetrainStatus:
    """Active runs of ``job``; never raises (an unreachable Dagster is a status, not an error)."""
    url = url or graphql_url()
    payload = json.dumps(
        {"query": RUNS_QUERY, "variables": {"filter": {"pipelineName": job, "statuses": list(ACTIVE_STATUSES)}}}
    ).encode()
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"}, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # Dagster is ours, never via a proxy
    try:
        with opener.open(request, timeout=timeout_s) as response:
            body = json.loads(response.read(1024 * 1024))
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return RetrainStatus(reachable=False, error=str(getattr(exc, "reason", exc)))
    result = (body.get("data") or {}).get("runsOrError") or {}
    if result.get("__typename") != "Runs":
        message = result.get("message") or json.dumps(body.get("errors", body))[:300]
        return RetrainStatus(reachable=True, error=f"Dagster answered: {message}")
    runs = result.get("results", [])
    return RetrainStatus(
        reachable=True,
        queued=sum(1 for r in runs if r["status"] == "QUEUED"),
        running=sum(1 for r in runs if r["status"] in ("STARTING", "STARTED")),
        runs=runs,
    )
