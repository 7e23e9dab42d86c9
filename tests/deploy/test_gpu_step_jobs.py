"""The Kubernetes Jobs dagster-k8s would launch: GPU steps land on the GPU pool, others do not."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.k8s_specs import DEPLOY, code_image, deployment_env, to_manifest

SECRET = "faceloop-secrets"
SECRET_KEYS = {
    "FACELOOP_COSMOS_ENDPOINT",
    "FACELOOP_COSMOS_KEY",
    "FACELOOP_FILE_SHARE_CONNECTION_STRING",
    "FACELOOP_FILE_SHARE_NAME",
}


def pod_spec(job) -> dict:
    return to_manifest(job)["spec"]["template"]["spec"]


# face_embeddings' work runs in the ingest chunk steps (assets/ingest/chunks.py).
@pytest.mark.parametrize(
    ("step", "job_name"), [("face_classifier", "retrain_job"), ("ingest_faces.ingest_chunk[chunk_0]", "ingest_job")]
)
def test_gpu_step_job_requests_a_gpu_on_the_tainted_gpu_pool(step_job, values, step, job_name):
    env = deployment_env(values)
    spec = pod_spec(step_job(step, job_name))
    (container,) = spec["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert spec["nodeSelector"] == json.loads(env["FACELOOP_GPU_NODE_SELECTOR"])
    assert spec["tolerations"] == json.loads(env["FACELOOP_GPU_TOLERATIONS"])
    assert container["image"] == env["FACELOOP_GPU_IMAGE"]


@pytest.mark.parametrize(
    "step", ["raw_images", "ingest_faces.plan_ingest_chunks", "ingest_faces.finish_ingest", "predicted_labels"]
)
def test_cpu_step_job_stays_off_the_gpu_pool_with_the_code_image(step_job, values, step):
    spec = pod_spec(step_job(step, "retrain_job" if step == "predicted_labels" else "ingest_job"))
    (container,) = spec["containers"]
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    assert container["resources"] == user_resources(values)
    assert "tolerations" not in spec and "nodeSelector" not in spec
    assert container["image"] == code_image(values)


def user_resources(values) -> dict:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment["resources"]


@pytest.mark.parametrize("step", ["face_classifier", "ingest_faces.ingest_chunk[chunk_0]"])
def test_every_step_pod_gets_secrets_only_by_reference_and_runs_as_non_root(step_job, step):
    spec = pod_spec(step_job(step, "retrain_job" if step == "face_classifier" else "ingest_job"))
    (container,) = spec["containers"]
    assert {"secretRef": {"name": SECRET}} in container["envFrom"]
    plain = {e["name"] for e in container["env"] if "value" in e}
    assert not plain & SECRET_KEYS  # never inlined as values
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_definitions_on_kubernetes_use_the_k8s_executor_for_both_jobs(k8s_definitions):
    # definitions.py must pass executor=executor_from_env() (resources/kubernetes.py) to Definitions.
    assert k8s_definitions["executors"] == {"ingest_job": "k8s", "retrain_job": "k8s"}


def test_readme_secret_command_creates_exactly_the_keys_the_values_reference():
    readme = (DEPLOY / "README.md").read_text()
    command = readme[readme.index(f"kubectl create secret generic {SECRET}") :].split("\n```")[0]
    assert {key for key in SECRET_KEYS if f"--from-literal={key}=" in command} == SECRET_KEYS


def test_helm_queue_limit_matches_the_retrain_job_tag_and_the_local_instance(values):
    from assets.jobs import retrain_job

    helm_limits = values["concurrency"]["runs"]["tagConcurrencyLimits"]
    local = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["concurrency"]["runs"]["tag_concurrency_limits"]
    assert helm_limits == local == [{"key": "faceloop/retrain", "value": "true", "limit": 1}]
    assert retrain_job.tags["faceloop/retrain"] == "true"
    # The chart refuses to render tag limits set in both places (dagster-facts.md).
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert "tagConcurrencyLimits" not in queued and "maxConcurrentRuns" not in queued


def test_values_file_holds_no_secret_values(values):
    text = yaml.safe_dump(values)
    for key in SECRET_KEYS:
        assert key not in deployment_env(values)
    assert "postgresqlPassword" not in text
    assert "AccountKey=" not in text and "DefaultEndpointsProtocol" not in text
