"""The one Definitions object of the FaceLoop code location."""

from dagster import Definitions, in_process_executor

from assets import ALL_ASSETS, ALL_CHECKS, ALL_JOBS
from resources.deployments import resources_for_deployment
from resources.kubernetes import executor_from_env
from sensors import ALL_SENSORS

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    sensors=ALL_SENSORS,
    resources=resources_for_deployment(),
    # Locally the steps of one run share the process: no per-step interpreter start (seconds of
    # TensorFlow import each), most of the label-to-prediction latency on one machine. On
    # Kubernetes (FACELOOP_EXECUTOR=k8s) each step is its own pod, so GPU steps land on the GPU pool.
    executor=executor_from_env(default=in_process_executor),
)
