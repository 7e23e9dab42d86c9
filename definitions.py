"""The one Definitions object of the FaceLoop code location: it assembles the asset graph, its
check, jobs and sensors, and picks the resources by deployment (``FACELOOP_DEPLOYMENT``).

Nothing else collects the definitions (``assets/__init__.py`` and ``sensors/__init__.py`` import
nothing), so importing one module of the plain compute never loads the whole graph.
"""

from dagster import Definitions, in_process_executor

from assets.classifier import classifier_quality_gate, face_classifier
from assets.ingest.chunks import ingest_faces
from assets.ingest.photos import raw_images
from assets.jobs import ingest_job, relabel_job, retrain_job
from assets.predictions import predicted_labels
from resources.deployments import resources_for_deployment
from resources.kubernetes import executor_from_env
from sensors.new_images import new_images_sensor
from sensors.new_labels import new_labels_sensor
from sensors.serving_changes import serving_changes_sensor

# ingest_faces is the detected_faces + face_embeddings pair, fanned out in chunks (assets/ingest/chunks.py).
ASSETS = [raw_images, ingest_faces, face_classifier, predicted_labels]
CHECKS = [classifier_quality_gate]
JOBS = [ingest_job, retrain_job, relabel_job]
SENSORS = [new_images_sensor, new_labels_sensor, serving_changes_sensor]

defs = Definitions(
    assets=ASSETS,
    asset_checks=CHECKS,
    jobs=JOBS,
    sensors=SENSORS,
    resources=resources_for_deployment(),
    # Locally the steps of one run share the process: no per-step interpreter start (seconds of
    # TensorFlow import each), most of the label-to-prediction latency on one machine. On
    # Kubernetes (FACELOOP_EXECUTOR=k8s) each step is its own pod, so GPU steps land on the GPU pool.
    executor=executor_from_env(default=in_process_executor),
)
