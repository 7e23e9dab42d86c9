"""Offline stand-ins for a cluster: the Job specs dagster-k8s would submit for each step.

No Kubernetes cluster, Docker engine or helm binary exists on these machines. The specs are
built by dagster-k8s's own code (K8sRunLauncher, K8sContainerContext.create_for_run,
construct_dagster_k8s_job) from (a) the step tags of the real definitions, loaded in a
subprocess with deploy/helm/values.yaml's environment, and (b) the launcher and code-location
config the Dagster chart renders from that values file. The chart-rendering part is mirrored by
hand from chart 1.13.27 (_run-launcher.tpl, dagsterUserDeployments.k8sContainerContext) and is
the one link not executed for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VALUES = DEPLOY / "helm" / "values.yaml"
K8S_VERSION = "1.34"  # schemas bundled by kubernetes-validate; AKS supports this minor (az aks get-versions)
RELEASE, NAMESPACE = "dagster", "faceloop"  # the README's `helm install dagster ... -n faceloop`

CHUNK_COUNTS = (1, 4, 16)  # ingest plans resolved for this many chunks
PLAN_STEP = "ingest_faces.plan_ingest_chunks"

# Loads definitions.defs as a code server would and reports the executor (and its config) and each
# step's tags, from the execution plans the run worker builds (what K8sStepHandler reads as
# step_tags). The ingest plan is also resolved as it is once plan_ingest_chunks has yielded N
# chunks: the step keys the executor then launches, one Job each.
DUMP_STEPS = f"""
import json
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.plan.state import KnownExecutionState
from definitions import defs
out = {{"executors": {{}}, "executor_config": {{}}, "steps": {{}}, "chunk_plans": {{}}}}
for name in ("ingest_job", "retrain_job"):
    job = defs.resolve_job_def(name)
    out["executors"][name] = job.executor_def.name
    out["executor_config"][name] = job.executor_def.config_schema.resolve_config({{}}).value
    for step in create_execution_plan(job).steps:
        out["steps"][step.key] = dict(step.tags)
job = defs.resolve_job_def("ingest_job")
for count in {CHUNK_COUNTS!r}:
    chunks = [f"chunk_{{i}}" for i in range(count)]
    state = KnownExecutionState(dynamic_mappings={{"{PLAN_STEP}": {{"result": chunks}}}})
    plan = create_execution_plan(job, known_state=state)
    out["chunk_plans"][count] = [step.key for step in plan.get_all_steps_in_topo_order()]
    for step in plan.get_all_steps_in_topo_order():
        out["steps"][step.key] = dict(step.tags)
print("STEPS=" + json.dumps(out))
"""


def load_values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def user_deployment(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def deployment_env(values: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in user_deployment(values)["env"]}


def code_image(values: dict[str, Any]) -> str:
    image = user_deployment(values)["image"]
    return f"{image['repository']}:{image['tag']}"


def k8s_env(tmp_path: Path, values: dict[str, Any], deployment: str | None = None) -> dict[str, str]:
    """The pods' environment from values.yaml (FACELOOP_DEPLOYMENT=azure), minus the secrets:
    Azure resources read them through EnvVar at launch, so loading the code needs none.
    ``deployment`` overrides FACELOOP_DEPLOYMENT. KUBERNETES_SERVICE_HOST is set in every pod."""
    return {
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path),
        "FACELOOP_HOME": str(tmp_path / "home"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KUBERNETES_SERVICE_HOST": "10.0.0.1",
        **deployment_env(values),
        **({"FACELOOP_DEPLOYMENT": deployment} if deployment else {}),
    }


def load_k8s_definitions(tmp: Path, values: dict[str, Any]) -> dict[str, Any]:
    """Executor and step tags of definitions.defs loaded with the deployment's environment."""
    result = subprocess.run(
        [sys.executable, "-c", DUMP_STEPS],
        cwd=ROOT,
        # An execution plan resolves resource config, i.e. the Azure secrets only a real pod has;
        # which stores load does not change a step's tags, so the plan is built with local ones.
        env=k8s_env(tmp, values, deployment="local"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("STEPS="))
    return json.loads(line.removeprefix("STEPS="))


def _kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig naming an unreachable server: the launcher parses it and never connects."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "none", "user": {"token": "unused"}}],
                "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}],
                "current-context": "none",
            }
        )
    )
    return path


def launcher_config(values: dict[str, Any]) -> dict[str, Any]:
    """The K8sRunLauncher config block the chart renders into dagster.yaml (_run-launcher.tpl)."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s = k8s.get("runK8sConfig", {})
    keys = {
        "containerConfig": "container_config",
        "podSpecConfig": "pod_spec_config",
        "podTemplateSpecMetadata": "pod_template_spec_metadata",
        "jobSpecConfig": "job_spec_config",
        "jobMetadata": "job_metadata",
    }
    return {
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s.get("imagePullPolicy", "Always"),
        "service_account_name": RELEASE,
        "dagster_home": "/opt/dagster/dagster_home",
        "instance_config_map": f"{RELEASE}-instance",
        "postgres_password_secret": f"{RELEASE}-postgresql-secret",
        "env_secrets": [s["name"] for s in k8s.get("envSecrets", [])],
        "security_context": k8s.get("securityContext", {}),
        "run_k8s_config": {keys[k]: v for k, v in run_k8s.items()},
    }


def code_location_context(values: dict[str, Any]) -> dict[str, Any]:
    """DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT as dagsterUserDeployments.k8sContainerContext renders it."""
    deployment = user_deployment(values)
    return {
        "k8s": {
            "image_pull_policy": deployment["image"]["pullPolicy"],
            "env_config_maps": [f"{RELEASE}-{deployment['name']}-user-env"],
            "env_secrets": [s["name"] for s in deployment.get("envSecrets", [])],
            "resources": deployment.get("resources", {}),
            "namespace": NAMESPACE,
            "service_account_name": f"{RELEASE}-dagster-user-deployments-user-deployments",
            "env": deployment.get("env", []),
            "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
        }
    }


def step_job_builder(tmp: Path, values: dict[str, Any], k8s_definitions: dict[str, Any]):
    """Build the V1Job dagster-k8s submits for a step, as K8sStepHandler.launch_step does."""
    from dagster._config import process_config
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._grpc.types import ExecuteStepArgs
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import construct_dagster_k8s_job, get_k8s_job_name, get_user_defined_k8s_config

    config = {**launcher_config(values), "load_incluster_config": False}
    config["kubeconfig_file"] = str(_kubeconfig(tmp))
    processed = process_config(K8sRunLauncher.config_type(), config)
    assert processed.success, processed.errors  # the rendered launcher config fits dagster-k8s's schema
    launcher = K8sRunLauncher(**processed.value)

    def build(step_key: str, job_name: str = "retrain_job"):
        origin = JobPythonOrigin(
            job_name,
            RepositoryPythonOrigin(
                executable_path="/usr/local/bin/python",
                code_pointer=ModuleCodePointer("definitions", "defs", working_directory=None),
                container_image=code_image(values),
                container_context=code_location_context(values),
            ),
        )
        run = DagsterRun(job_name=job_name, run_id=str(uuid.uuid4()), job_code_origin=origin)
        context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False)
        step_tags = k8s_definitions["steps"][step_key]
        context = context.merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(step_tags)))
        job_config = context.get_k8s_job_config(None, launcher)
        if not job_config.job_image:
            job_config = job_config.with_image(origin.repository_origin.container_image)
        args = ExecuteStepArgs(job_origin=origin, run_id=run.run_id, step_keys_to_execute=[step_key])
        name = f"dagster-step-{get_k8s_job_name(run.run_id, step_key)}"
        job = construct_dagster_k8s_job(
            job_config=job_config,
            args=args.get_command_args(skip_serialized_namedtuple=True),
            job_name=name,
            pod_name=name,
            component="step_worker",
            user_defined_k8s_config=context.run_k8s_config,
            labels={"dagster/job": job_name, "dagster/op": step_key, "dagster/run-id": run.run_id},
            env_vars=[
                *args.get_command_env(),
                {"name": "DAGSTER_RUN_JOB_NAME", "value": job_name},
                {"name": "DAGSTER_RUN_STEP_KEY", "value": step_key},
            ],
        )
        # dagster-k8s posts the body to this namespace; the API server records it in metadata.
        job.metadata.namespace = context.namespace
        return job

    return build


def to_manifest(job) -> dict[str, Any]:
    """A V1Job as the camelCase JSON the API server receives."""
    from kubernetes.client import ApiClient

    return ApiClient().sanitize_for_serialization(job)
