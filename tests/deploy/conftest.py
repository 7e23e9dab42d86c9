"""Fixtures for the offline Kubernetes checks; the machinery is in tests/support/k8s_specs.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.k8s_specs import load_k8s_definitions, load_values, step_job_builder


@pytest.fixture(scope="session")
def values() -> dict[str, Any]:
    return load_values()


@pytest.fixture(scope="session")
def k8s_definitions(tmp_path_factory, values) -> dict[str, Any]:
    return load_k8s_definitions(tmp_path_factory.mktemp("k8s-defs"), values)


@pytest.fixture(scope="session")
def step_job(tmp_path_factory, values, k8s_definitions):
    return step_job_builder(tmp_path_factory.mktemp("kube"), values, k8s_definitions)
