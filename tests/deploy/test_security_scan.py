"""checkov over deploy/ (Dockerfiles, manifests, secrets) and the generated step Jobs.

checkov pins dependencies that conflict with ours (tabulate), so it lives in its own venv,
.venv-tools/, made by `make tools`; FACELOOP_CHECKOV may point at another checkov binary.
Skipped checks, each with its reason, are in deploy/checkov.yaml.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from test_manifest_schemas import STEPS

from tests.support.k8s_specs import DEPLOY, ROOT, to_manifest

CONFIG = DEPLOY / "checkov.yaml"


def checkov_binary() -> Path:
    path = Path(os.environ.get("FACELOOP_CHECKOV", ROOT / ".venv-tools" / "bin" / "checkov"))
    if not path.exists():
        pytest.fail(f"checkov not found at {path}: run `make tools` (or set FACELOOP_CHECKOV)")
    return path


def scan(directory: Path) -> list[dict]:
    """checkov's JSON reports for `directory`; fails the test if checkov itself breaks."""
    result = subprocess.run(
        [str(checkov_binary()), "--config-file", str(CONFIG), "-d", str(directory), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"},
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def failures(reports: list[dict]) -> list[str]:
    return [
        f"{check['check_id']} {check['check_name']} @ {check['file_path']} {check.get('resource', '')}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]


def passed(reports: list[dict]) -> int:
    return sum(report.get("summary", {}).get("passed", 0) for report in reports)


def test_deploy_directory_has_no_unexplained_security_findings():
    reports = scan(DEPLOY)
    assert {r["check_type"] for r in reports} >= {"dockerfile", "kubernetes"}  # both were scanned
    assert passed(reports) > 0
    assert failures(reports) == []


def test_generated_step_jobs_have_no_unexplained_security_findings(step_job, tmp_path):
    for step, job_name in STEPS.items():
        manifest = to_manifest(step_job(step, job_name))
        (tmp_path / f"{step}.yaml").write_text(yaml.safe_dump(manifest))
    reports = scan(tmp_path)
    assert passed(reports) > 0
    assert failures(reports) == []


def test_scan_catches_a_privileged_root_job(step_job, tmp_path):
    """The scan is not vacuous: the same Job made privileged and root fails it."""
    manifest = to_manifest(step_job("face_classifier"))
    pod = manifest["spec"]["template"]["spec"]
    pod["securityContext"] = {"runAsUser": 0}
    pod["containers"][0]["securityContext"] = {"privileged": True, "allowPrivilegeEscalation": True}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(manifest))
    found = {f.split()[0] for f in failures(scan(tmp_path))}
    assert {"CKV_K8S_16", "CKV_K8S_20"} <= found  # privileged, allowPrivilegeEscalation
