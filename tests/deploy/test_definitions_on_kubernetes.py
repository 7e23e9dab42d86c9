"""The code location loads and validates with the Kubernetes environment of deploy/helm/values.yaml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from resources.kubernetes import USER_DEFINED_K8S_CONFIG_KEY, gpu_op_tags
from tests.support.k8s_specs import ROOT, k8s_env


def test_dagster_definitions_validate_passes_with_kubernetes_settings(tmp_path, values):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=k8s_env(tmp_path, values),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_loaded_definitions_carry_exactly_the_configured_gpu_tags(k8s_definitions, tmp_path, values):
    env = k8s_env(tmp_path, values, deployment="local")
    steps = k8s_definitions["steps"]
    # face_embeddings' work runs in the ingest chunk steps (assets/ingest/chunks.py).
    for step, name in (("face_classifier", "face_classifier"), ("ingest_faces.ingest_chunk[?]", "face_embeddings")):
        assert steps[step][USER_DEFINED_K8S_CONFIG_KEY] == gpu_op_tags(name, env=env)[USER_DEFINED_K8S_CONFIG_KEY]
    cpu_steps = ("raw_images", "ingest_faces.plan_ingest_chunks", "ingest_faces.finish_ingest", "predicted_labels")
    for step in cpu_steps:
        assert USER_DEFINED_K8S_CONFIG_KEY not in steps[step]


def test_local_definitions_carry_no_kubernetes_tags():
    from assets.ingest.chunks import ingest_chunk
    from definitions import defs

    assert USER_DEFINED_K8S_CONFIG_KEY not in defs.get_assets_def("face_classifier").op.tags
    assert USER_DEFINED_K8S_CONFIG_KEY not in ingest_chunk.tags
