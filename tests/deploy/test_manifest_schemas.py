"""Every manifest in deploy/ and every generated step Job against the Kubernetes OpenAPI schemas.

kubernetes-validate bundles the schemas (no network); strict mode also rejects unknown fields,
which is what a typo in a values file or op tag would produce.
"""

from __future__ import annotations

import copy
import json
import os

import kubernetes_validate
import pytest
import yaml

from tests.support.k8s_specs import DEPLOY, K8S_VERSION, NAMESPACE, deployment_env, to_manifest, user_deployment

STEPS = {
    "raw_images": "ingest_job",
    "ingest_faces.plan_ingest_chunks": "ingest_job",
    "ingest_faces.ingest_chunk[chunk_0]": "ingest_job",
    "ingest_faces.finish_ingest": "ingest_job",
    "face_classifier": "retrain_job",
    "face_classifier_classifier_quality_gate": "retrain_job",
    "predicted_labels": "retrain_job",
}


def validate(manifest: dict) -> None:
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def deploy_manifests() -> list[tuple[str, dict]]:
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


@pytest.mark.parametrize(("name", "manifest"), deploy_manifests(), ids=lambda x: x if isinstance(x, str) else "")
def test_deploy_manifest_is_valid_kubernetes(name, manifest):
    validate(manifest)


def test_deploy_has_the_device_plugin_manifest():
    assert any(m["kind"] == "DaemonSet" for _, m in deploy_manifests())


@pytest.mark.parametrize("step", sorted(STEPS))
def test_generated_step_job_is_valid_kubernetes(step_job, step):
    validate(to_manifest(step_job(step, STEPS[step])))


def test_values_kubernetes_fragments_are_valid_in_a_pod(values):
    """The parts of values.yaml the chart copies verbatim into pod specs."""
    deployment = user_deployment(values)
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    env = deployment_env(values)
    container = {
        "name": "faceloop",
        "image": "faceloop:test",
        "env": deployment["env"],
        "envFrom": [{"secretRef": s} for s in deployment["envSecrets"]],
        "resources": deployment["resources"],
        "securityContext": deployment["securityContext"],
    }
    pods = [
        {"securityContext": deployment["podSecurityContext"], "containers": [container]},
        {
            "securityContext": launcher["runK8sConfig"]["podSpecConfig"]["securityContext"],
            "containers": [{**container, "securityContext": launcher["securityContext"]}],
            "nodeSelector": json.loads(env["FACELOOP_GPU_NODE_SELECTOR"]),
            "tolerations": json.loads(env["FACELOOP_GPU_TOLERATIONS"]),
        },
    ]
    for spec in pods:
        validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "values-check"}, "spec": spec})


def test_schema_validation_rejects_a_malformed_toleration_and_an_unknown_field(step_job):
    manifest = to_manifest(step_job("face_classifier"))
    bad_toleration = copy.deepcopy(manifest)
    bad_toleration["spec"]["template"]["spec"]["tolerations"][0]["tolerationSeconds"] = "soon"
    typo = copy.deepcopy(manifest)
    typo["spec"]["template"]["spec"]["nodeSelecter"] = typo["spec"]["template"]["spec"].pop("nodeSelector")
    for broken in (bad_toleration, typo):
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(broken)


@pytest.mark.skipif(
    not os.environ.get("FACELOOP_TEST_KUBE_CONTEXT"),
    reason="no cluster here: set FACELOOP_TEST_KUBE_CONTEXT to a kubeconfig context to dry-run on a real API server",
)
@pytest.mark.parametrize(
    "step", ["face_classifier", "ingest_faces.ingest_chunk[chunk_0]", "ingest_faces.finish_ingest"]
)
def test_generated_step_job_passes_server_side_dry_run(step_job, step):
    from kubernetes import client, config

    config.load_kube_config(context=os.environ["FACELOOP_TEST_KUBE_CONTEXT"])
    namespace = os.environ.get("FACELOOP_TEST_NAMESPACE", NAMESPACE)
    client.BatchV1Api().create_namespaced_job(namespace, step_job(step, STEPS[step]), dry_run="All")
