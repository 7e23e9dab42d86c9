"""resources/kubernetes.py: executor choice and GPU op tags from the environment."""

from __future__ import annotations

import json

import pytest
from dagster import in_process_executor, multiprocess_executor
from dagster_k8s import k8s_job_executor
from dagster_k8s.job import USER_DEFINED_K8S_CONFIG_KEY, get_user_defined_k8s_config

from resources import kubernetes as k

K8S = {"FACELOOP_EXECUTOR": "k8s"}
TOLERATION = {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}


def test_local_default_executor_outside_kubernetes():
    assert k.executor_from_env(env={}) is in_process_executor
    assert k.executor_from_env(default=multiprocess_executor, env={"FACELOOP_DEPLOYMENT": "local"}) is (
        multiprocess_executor
    )


def is_k8s_executor(executor, max_concurrent: int = k.DEFAULT_MAX_STEP_PODS) -> bool:
    """k8s_job_executor, configured with the step-pod cap."""
    config = executor.config_schema.resolve_config({}).value["config"]
    return executor.executor_creation_fn is k8s_job_executor.executor_creation_fn and (
        config["max_concurrent"] == max_concurrent
    )


def test_max_step_pods_caps_the_k8s_executor_and_rejects_nonsense():
    assert is_k8s_executor(k.executor_from_env(env={**K8S, "FACELOOP_MAX_STEP_PODS": "40"}), max_concurrent=40)
    for bad in ("0", "-3", "many"):
        with pytest.raises(k.KubernetesConfigError, match="FACELOOP_MAX_STEP_PODS"):
            k.executor_from_env(env={**K8S, "FACELOOP_MAX_STEP_PODS": bad})


def test_k8s_executor_when_asked_or_when_azure_runs_in_a_cluster():
    assert is_k8s_executor(k.executor_from_env(env=K8S))
    in_cluster = {"FACELOOP_DEPLOYMENT": "azure", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert is_k8s_executor(k.executor_from_env(env=in_cluster))
    # Azure settings on a laptop (no cluster) keep the local executor.
    assert k.executor_from_env(env={"FACELOOP_DEPLOYMENT": "azure"}) is in_process_executor
    # An explicit choice wins over the in-cluster guess.
    assert k.executor_from_env(env={**in_cluster, "FACELOOP_EXECUTOR": "in_process"}) is in_process_executor


def test_unknown_executor_is_a_clear_error():
    with pytest.raises(k.KubernetesConfigError, match="FACELOOP_EXECUTOR='celery'"):
        k.executor_from_env(env={"FACELOOP_EXECUTOR": "celery"})


def test_gpu_tags_only_under_the_k8s_executor_and_only_for_listed_steps():
    assert k.gpu_op_tags("face_classifier", env={}) == {}
    assert set(k.gpu_op_tags("face_classifier", env=K8S)) == {USER_DEFINED_K8S_CONFIG_KEY}
    assert k.gpu_op_tags("face_embeddings", env=K8S) == {}  # default GPU_STEPS: face_classifier only
    env = {**K8S, "FACELOOP_GPU_STEPS": "face_classifier, face_embeddings"}
    assert k.gpu_op_tags("face_embeddings", env=env)


def test_gpu_tag_carries_limits_selector_tolerations_and_image_in_dagster_k8s_form():
    env = {
        **K8S,
        "FACELOOP_GPU_NODE_SELECTOR": '{"faceloop/pool": "gpu"}',
        "FACELOOP_GPU_TOLERATIONS": json.dumps([TOLERATION]),
        "FACELOOP_GPU_IMAGE": "acr.example/faceloop-gpu:1",
        "FACELOOP_GPU_COUNT": "2",
        "FACELOOP_GPU_MEMORY": "12Gi",
    }
    config = get_user_defined_k8s_config(k.gpu_op_tags("face_classifier", env=env))  # dagster-k8s parses it
    resources = config.container_config["resources"]
    assert resources["limits"] == {"cpu": "2", "memory": "12Gi", "nvidia.com/gpu": "2"}
    assert resources["requests"] == resources["limits"]
    assert config.container_config["image"] == "acr.example/faceloop-gpu:1"
    assert config.pod_spec_config["node_selector"] == {"faceloop/pool": "gpu"}
    assert config.pod_spec_config["tolerations"] == [TOLERATION]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FACELOOP_GPU_STEPS", "face_clasifier", "unknown steps"),
        ("FACELOOP_GPU_NODE_SELECTOR", '{"pool": 1}', "JSON object of strings"),
        ("FACELOOP_GPU_NODE_SELECTOR", "pool=gpu", "not valid JSON"),
        ("FACELOOP_GPU_TOLERATIONS", '{"key": "sku"}', "JSON list"),
        ("FACELOOP_GPU_TOLERATIONS", '[{"key": "sku", "effects": "NoSchedule"}]', "unknown fields"),
        ("FACELOOP_GPU_COUNT", "0", "whole number >= 1"),
        ("FACELOOP_GPU_MEMORY", "lots", "not a positive Kubernetes quantity"),
        ("FACELOOP_GPU_IMAGE", "acr.example/x y", "not an image reference"),
    ],
)
def test_malformed_gpu_settings_fail_loudly_naming_the_variable(name, value, message):
    with pytest.raises(k.KubernetesConfigError, match=message) as error:
        k.gpu_op_tags("face_classifier", env={**K8S, name: value})
    assert name in str(error.value)


def test_a_step_that_cannot_use_a_gpu_is_rejected():
    with pytest.raises(k.KubernetesConfigError, match="raw_images"):
        k.gpu_op_tags("raw_images", env=K8S)


def test_local_dagster_k8s_key_matches_dagster_k8s():
    assert k.USER_DEFINED_K8S_CONFIG_KEY == USER_DEFINED_K8S_CONFIG_KEY
