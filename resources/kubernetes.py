"""Kubernetes knobs from the environment: which executor runs steps, and which steps get a GPU.

Read when the definitions load. The code server, the run pod and every step pod load the same
code with the same environment (the Dagster Helm chart passes the user deployment's ``env`` and
``envSecrets`` on to launched runs), so they all agree on tags and executor. Only non-secret
settings live here; secrets reach resources through ``EnvVar``.

Variables (all optional):

- ``FACELOOP_EXECUTOR``: ``k8s`` | ``in_process`` | ``multiprocess``. Unset: ``k8s`` when
  ``FACELOOP_DEPLOYMENT=azure`` inside a cluster (``KUBERNETES_SERVICE_HOST`` is set in every
  pod), else the local default.
- ``FACELOOP_GPU_STEPS``: comma-separated step names that get a GPU (default ``face_classifier``).
- ``FACELOOP_GPU_NODE_SELECTOR``: JSON object, e.g. ``{"faceloop/pool": "gpu"}``.
- ``FACELOOP_GPU_TOLERATIONS``: JSON list of Kubernetes tolerations.
- ``FACELOOP_GPU_IMAGE``: image for GPU steps (default: the code location's image).
- ``FACELOOP_MAX_STEP_PODS`` (16): ``max_concurrent`` of ``k8s_job_executor``, the most step pods
  one run has at once (a backfill's ingest chunks queue behind it instead of flooding the cluster).
- ``FACELOOP_GPU_COUNT`` (1), ``FACELOOP_GPU_CPU`` (2), ``FACELOOP_GPU_MEMORY`` (8Gi): the step
  pod's resources; requests equal limits so a GPU step is never CPU-throttled below its request.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

# dagster_k8s and kubernetes are imported only when Kubernetes is in use: they add ~0.8 s to
# every local definitions load otherwise.
EXECUTOR_NAMES = ("k8s", "in_process", "multiprocess")
USER_DEFINED_K8S_CONFIG_KEY = "dagster-k8s/config"  # = dagster_k8s.job.USER_DEFINED_K8S_CONFIG_KEY
# Steps that run TensorFlow/deepface and can use a GPU; a typo in FACELOOP_GPU_STEPS must fail
# loudly rather than silently train on CPU.
GPU_CAPABLE_STEPS = frozenset({"detected_faces", "face_embeddings", "face_classifier", "predicted_labels"})
DEFAULT_GPU_STEPS = "face_classifier"
DEFAULT_MAX_STEP_PODS = 16
TOLERATION_FIELDS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})
IMAGE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")


class KubernetesConfigError(ValueError):
    """A FACELOOP_* Kubernetes variable is malformed; the message names the variable."""


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def executor_name(env: Mapping[str, str] | None = None) -> str | None:
    """The executor the environment asks for, or None for the caller's local default."""
    env = _env(env)
    name = env.get("FACELOOP_EXECUTOR", "").strip()
    if name:
        if name not in EXECUTOR_NAMES:
            raise KubernetesConfigError(f"FACELOOP_EXECUTOR={name!r}; expected one of {list(EXECUTOR_NAMES)}")
        return name
    if env.get("FACELOOP_DEPLOYMENT") == "azure" and env.get("KUBERNETES_SERVICE_HOST"):
        return "k8s"
    return None


def executor_from_env(
    default: ExecutorDefinition = in_process_executor, env: Mapping[str, str] | None = None
) -> ExecutorDefinition:
    """``k8s_job_executor`` (one pod per step) on Kubernetes, ``default`` elsewhere."""
    name = executor_name(env)
    if name == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor.configured({"max_concurrent": max_step_pods(env)})
    return {"in_process": in_process_executor, "multiprocess": multiprocess_executor}.get(name, default)


def max_step_pods(env: Mapping[str, str] | None = None) -> int:
    raw = _env(env).get("FACELOOP_MAX_STEP_PODS", "").strip() or str(DEFAULT_MAX_STEP_PODS)
    if not raw.isdigit() or int(raw) < 1:
        raise KubernetesConfigError(f"FACELOOP_MAX_STEP_PODS={raw!r}; expected a whole number >= 1")
    return int(raw)


def uses_kubernetes_executor(env: Mapping[str, str] | None = None) -> bool:
    return executor_name(env) == "k8s"


def gpu_steps(env: Mapping[str, str] | None = None) -> frozenset[str]:
    raw = _env(env).get("FACELOOP_GPU_STEPS", DEFAULT_GPU_STEPS)
    steps = frozenset(s.strip() for s in raw.split(",") if s.strip())
    unknown = steps - GPU_CAPABLE_STEPS
    if unknown:
        raise KubernetesConfigError(
            f"FACELOOP_GPU_STEPS names unknown steps {sorted(unknown)}; GPU-capable: {sorted(GPU_CAPABLE_STEPS)}"
        )
    return steps


def _json_env(env: Mapping[str, str], name: str, default: Any) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise KubernetesConfigError(f"{name} is not valid JSON: {exc}") from exc


def _node_selector(env: Mapping[str, str]) -> dict[str, str]:
    value = _json_env(env, "FACELOOP_GPU_NODE_SELECTOR", {})
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise KubernetesConfigError('FACELOOP_GPU_NODE_SELECTOR must be a JSON object of strings, e.g. {"pool": "gpu"}')
    return value


def _tolerations(env: Mapping[str, str]) -> list[dict[str, Any]]:
    value = _json_env(env, "FACELOOP_GPU_TOLERATIONS", [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise KubernetesConfigError("FACELOOP_GPU_TOLERATIONS must be a JSON list of toleration objects")
    for toleration in value:
        extra = set(toleration) - TOLERATION_FIELDS
        if extra:
            raise KubernetesConfigError(
                f"FACELOOP_GPU_TOLERATIONS: unknown fields {sorted(extra)}; allowed: {sorted(TOLERATION_FIELDS)}"
            )
    return value


def _quantity(env: Mapping[str, str], name: str, default: str) -> str:
    from kubernetes.utils import parse_quantity

    value = env.get(name, "").strip() or default
    try:
        if parse_quantity(value) <= 0:
            raise ValueError("must be positive")
    except ValueError as exc:
        raise KubernetesConfigError(f"{name}={value!r} is not a positive Kubernetes quantity ({exc})") from exc
    return value


def _gpu_count(env: Mapping[str, str]) -> int:
    raw = env.get("FACELOOP_GPU_COUNT", "").strip() or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise KubernetesConfigError(f"FACELOOP_GPU_COUNT={raw!r}; expected a whole number >= 1")
    return int(raw)


def gpu_k8s_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``dagster-k8s/config`` body for a GPU step: resources, node selector, tolerations, image."""
    env = _env(env)
    amounts = {
        "cpu": _quantity(env, "FACELOOP_GPU_CPU", "2"),
        "memory": _quantity(env, "FACELOOP_GPU_MEMORY", "8Gi"),
        "nvidia.com/gpu": str(_gpu_count(env)),
    }
    container: dict[str, Any] = {"resources": {"requests": dict(amounts), "limits": dict(amounts)}}
    image = env.get("FACELOOP_GPU_IMAGE", "").strip()
    if image:
        if not IMAGE_RE.match(image):
            raise KubernetesConfigError(f"FACELOOP_GPU_IMAGE={image!r} is not an image reference")
        container["image"] = image
    pod: dict[str, Any] = {}
    if selector := _node_selector(env):
        pod["node_selector"] = selector
    if tolerations := _tolerations(env):
        pod["tolerations"] = tolerations
    return {"container_config": container, "pod_spec_config": pod}


def gpu_op_tags(step_name: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Op tags for ``step_name``: the GPU pod config when it is a GPU step under ``k8s_job_executor``.

    Empty otherwise: other executors ignore ``dagster-k8s/config``, so the tag would only
    mislead a reader of the UI. Op tags (not job tags) are what reach step pods.
    """
    if step_name not in GPU_CAPABLE_STEPS:
        raise KubernetesConfigError(f"{step_name!r} is not a GPU-capable step: {sorted(GPU_CAPABLE_STEPS)}")
    if not uses_kubernetes_executor(env) or step_name not in gpu_steps(env):
        return {}
    return {USER_DEFINED_K8S_CONFIG_KEY: json.dumps(gpu_k8s_config(env), sort_keys=True)}
