"""Secrets come only from the environment and never reach logs, the event log or metadata.

A real pipeline run (every asset, on a persistent Dagster instance with compute logs) uses the
Cosmos DB state store on the local protocol server, its key given as ``EnvVar`` from a freshly
generated random value. Afterwards the value is searched for everywhere it could leak: every file
of the Dagster home (run storage, event log, compute logs), the FaceLoop home, the materialization
metadata, the captured stdout/stderr and Python log records, and the resource's repr.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shutil
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, EnvVar
from dagster._serdes import serialize_value

from resources.face_engine.weights import provision_weights
from resources.state_store.cosmos import CosmosStateStore
from tests.support.cosmos_server import cosmos_server
from tests.support.pipeline import local_resources_at, materialize_all
from tests.support.sample_library import build_library, people_folders, photos_of

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def small_dataset(lfw10: Path, target: Path) -> Path:
    for folder in people_folders(lfw10)[:2]:
        (target / folder.name).mkdir(parents=True)
        for photo in photos_of(folder)[:4]:
            shutil.copyfile(photo, target / folder.name / photo.name)
    return target


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path} contains {needle[:6]!r}..." for needle in needles if needle in data]
    return found


def test_the_cosmos_key_from_the_environment_appears_in_no_log_event_or_metadata(
    lfw10, weights_home, tmp_path, monkeypatch, capfd, caplog
):
    provision_weights(weights_home)  # before the run: worker processes must not race to copy them
    key = base64.b64encode(secrets.token_bytes(64)).decode()  # a fresh value: any hit is a real leak
    needles = [key.encode(), key[:24].encode(), base64.b64decode(key)]
    library = tmp_path / "library"
    build_library(small_dataset(lfw10, tmp_path / "dataset"), library, labels_per_person=2)
    (library / "broken.jpg").write_bytes(b"")  # a warning path is logged too
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    caplog.set_level(logging.DEBUG)

    with cosmos_server() as endpoint:
        monkeypatch.setenv("FACELOOP_COSMOS_ENDPOINT", endpoint)
        monkeypatch.setenv("FACELOOP_COSMOS_KEY", key)
        store = CosmosStateStore(
            endpoint=EnvVar("FACELOOP_COSMOS_ENDPOINT"),
            key=EnvVar("FACELOOP_COSMOS_KEY"),
            database=f"secrets-{uuid.uuid4().hex[:8]}",
            verify_tls=False,
        )
        resources = {**local_resources_at(tmp_path / "home", library), "state_store": store}
        with DagsterInstance.local_temp(str(dagster_home)) as instance:
            result = materialize_all(resources, instance=instance)
            assert result.success
            events = instance.all_logs(result.run_id)
            run = instance.get_run_by_id(result.run_id)
        images = store.images()
        store.close()

    assert len(images) == 9 and any(i.reason == "empty file (0 bytes)" for i in images)  # the run did real work
    assert any(e.dagster_event and e.dagster_event.is_step_materialization for e in events)
    serialized = "\n".join(serialize_value(e) for e in events) + serialize_value(run)
    assert key not in serialized and key[:24] not in serialized
    assert "key=" not in repr(store) and "FACELOOP_COSMOS_ENDPOINT" in repr(store)  # names, not values
    assert files_containing(dagster_home, needles) == []
    assert files_containing(tmp_path / "home", needles) == []
    out, err = capfd.readouterr()
    assert key not in out and key not in err and key[:24] not in err
    assert all(key not in record.getMessage() for record in caplog.records)
    assert key not in repr(store) and key not in str(store)
    assert os.environ["FACELOOP_COSMOS_KEY"] == key  # the value came from the environment only
