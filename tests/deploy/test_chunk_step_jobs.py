"""The fanned-out ingest on Kubernetes: N chunks are N step Jobs, each sized and placed right."""

from __future__ import annotations

import copy
import json

import kubernetes_validate
import pytest

from resources.kubernetes import DEFAULT_MAX_STEP_PODS, gpu_k8s_config
from tests.support.k8s_specs import (
    CHUNK_COUNTS,
    K8S_VERSION,
    code_image,
    deployment_env,
    load_k8s_definitions,
    step_job_builder,
    to_manifest,
    user_deployment,
)


def chunk_steps(k8s_definitions, count: int) -> list[str]:
    keys = [key for key in k8s_definitions["chunk_plans"][str(count)] if ".ingest_chunk[chunk_" in key]
    return sorted(keys, key=lambda key: int(key.rsplit("_", 1)[1].rstrip("]")))


@pytest.mark.parametrize("count", CHUNK_COUNTS)
def test_n_chunks_yield_n_gpu_step_jobs_with_the_gpu_image_resources_and_tolerations(
    step_job, k8s_definitions, values, count
):
    env = deployment_env(values)
    keys = chunk_steps(k8s_definitions, count)
    assert keys == [f"ingest_faces.ingest_chunk[chunk_{i}]" for i in range(count)]
    manifests = [to_manifest(step_job(key, "ingest_job")) for key in keys]
    assert len({m["metadata"]["name"] for m in manifests}) == count  # one Job per chunk
    wanted = gpu_k8s_config(env)["container_config"]["resources"]
    for key, manifest in zip(keys, manifests, strict=True):
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)
        spec = manifest["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["image"] == env["FACELOOP_GPU_IMAGE"]
        assert container["resources"] == wanted and wanted["limits"]["nvidia.com/gpu"] == "1"
        assert spec["nodeSelector"] == json.loads(env["FACELOOP_GPU_NODE_SELECTOR"])
        assert spec["tolerations"] == json.loads(env["FACELOOP_GPU_TOLERATIONS"])
        step_env = {e["name"]: e.get("value") for e in container["env"]}
        assert step_env["DAGSTER_RUN_STEP_KEY"] == key


def test_chunk_step_jobs_are_cpu_pods_with_the_code_image_when_no_ingest_step_is_a_gpu_step(tmp_path, values):
    cpu_values = copy.deepcopy(values)
    for item in user_deployment(cpu_values)["env"]:
        if item["name"] == "FACELOOP_GPU_STEPS":
            item["value"] = "face_classifier"
    definitions = load_k8s_definitions(tmp_path, cpu_values)
    build = step_job_builder(tmp_path, cpu_values, definitions)
    keys = chunk_steps(definitions, 4)
    assert len(keys) == 4
    for key in keys:
        spec = to_manifest(build(key, "ingest_job"))["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["image"] == code_image(cpu_values)
        assert container["resources"] == user_deployment(cpu_values)["resources"]
        assert "tolerations" not in spec and "nodeSelector" not in spec


def test_a_run_has_at_most_max_concurrent_step_pods_and_step_retries_on(k8s_definitions):
    for job in ("ingest_job", "retrain_job"):
        config = k8s_definitions["executor_config"][job]["config"]
        assert config["max_concurrent"] == DEFAULT_MAX_STEP_PODS
        assert "enabled" in config["retries"]  # the chunk's RetryPolicy needs executor retries on


def test_chunk_retry_policy_retries_a_failed_chunk_alone():
    from assets.ingest.chunks import CHUNK_RETRY, ingest_chunk

    assert ingest_chunk.retry_policy == CHUNK_RETRY and CHUNK_RETRY.max_retries >= 1
