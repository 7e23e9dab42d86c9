"""The code location loads, with the five assets, the gate and both jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_hold_the_five_assets_and_both_jobs():
    from definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {"raw_images", "detected_faces", "face_embeddings", "face_classifier", "predicted_labels"}
    assert defs.resolve_job_def("ingest_job") and defs.resolve_job_def("retrain_job")
    retrain_keys = defs.resolve_job_def("retrain_job").asset_layer.selected_asset_keys
    assert retrain_keys == {AssetKey("face_classifier"), AssetKey("predicted_labels")}


def test_dagster_definitions_validate_passes(tmp_path):
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": str(Path(sys.executable).parent),
            "DAGSTER_HOME": str(tmp_path),
            "HOME": str(tmp_path),
            "FACELOOP_HOME": str(tmp_path / "home"),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
