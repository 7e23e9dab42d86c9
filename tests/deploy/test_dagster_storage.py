"""Dagster's own storage on Kubernetes: the chart's Postgres settings match what the tests run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tests.support.postgres_server import SCHEME


def test_helm_postgres_storage_uses_the_driver_that_is_installed_and_tested(values):
    postgres = values["postgresql"]
    assert postgres["enabled"] is True and "postgresqlPassword" not in postgres
    assert postgres["postgresqlScheme"] == SCHEME == "postgresql+psycopg2"
    assert importlib.util.find_spec("psycopg2") is not None  # what that scheme loads
    assert importlib.util.find_spec("dagster_postgres") is not None


def test_dagster_postgres_is_pinned_to_the_dagster_release():
    root = Path(__file__).resolve().parents[2]
    lock = dict(line.split("==") for line in (root / "requirements.lock").read_text().split() if "==" in line)
    assert lock["dagster-postgres"] == lock["dagster-k8s"] == "0.29.27" and lock["dagster"] == "1.13.27"
    assert '"dagster-postgres==0.29.27"' in (root / "pyproject.toml").read_text()
