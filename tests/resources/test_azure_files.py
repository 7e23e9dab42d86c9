"""The Azure File Share adapters, through the real azure-storage-file-share SDK.

By default they talk to tests/support/azure_files_double.py (a protocol test double: Azure Files
has no emulator). To run the same tests against a real storage account:

    FACELOOP_TEST_AZURE_FILES_CONNECTION_STRING='DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...' \\
        .venv/bin/python -m pytest tests/resources/test_azure_files.py

Each test then makes a share named faceloop-test-<random> and deletes it afterwards. Tests that
count requests or bytes on the wire run on the double only.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from azure.storage.fileshare import ShareClient
from dagster import EnvVar, materialize

from assets.ingest.photos import raw_images
from resources.artifact_store.azure_files import AzureFileShareArtifactStore
from resources.deployments import resources_for_deployment
from resources.image_source.azure_files import AzureFileShareImageSource
from resources.image_source.errors import SourceError
from resources.state_store.cosmos import CosmosStateStore
from tests.support.azure_files_double import AzureFilesDouble

REAL = os.environ.get("FACELOOP_TEST_AZURE_FILES_CONNECTION_STRING")
pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


class Share:
    def __init__(self, connection_string: str, name: str, double: AzureFilesDouble | None):
        self.connection_string, self.name, self.double = connection_string, name, double
        self.client = ShareClient.from_connection_string(connection_string, name)

    def write(self, path: str, data: bytes) -> None:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            directory = self.client.get_directory_client("/".join(parts[:depth]))
            if not directory.exists():
                directory.create_directory()
        self.client.get_file_client(path).upload_file(data)

    def source(self, **config) -> AzureFileShareImageSource:
        return AzureFileShareImageSource(connection_string=self.connection_string, share_name=self.name, **config)

    def artifacts(self) -> AzureFileShareArtifactStore:
        return AzureFileShareArtifactStore(connection_string=self.connection_string, share_name=self.name)


@pytest.fixture(params=["double", "real"])
def share(request):
    if request.param == "real":
        if not REAL:
            pytest.skip("set FACELOOP_TEST_AZURE_FILES_CONNECTION_STRING to run against a real storage account")
        made = Share(REAL, f"faceloop-test-{uuid.uuid4().hex[:12]}", None)
        made.client.create_share()
        yield made
        made.client.delete_share()
        return
    with AzureFilesDouble() as double:
        made = Share(double.connection_string, "photos", double)
        made.client.create_share()
        yield made


def double_only(share: Share) -> AzureFilesDouble:
    if share.double is None:
        pytest.skip("counts requests on the protocol double")
    return share.double


def test_photos_are_listed_recursively_across_pages_with_size_and_mtime(share):
    for n in range(5):
        share.write(f"library/Ada/{n}.jpg", b"x" * (n + 1))
    share.write("library/Ada/0.json", b'{"persona": "Ada"}')
    share.write("library/deep/er/b.PNG", b"png")
    share.write("library/notes.txt", b"not a photo")
    share.write("library/.hidden.jpg", b"temp")
    share.write("outside.jpg", b"not in the library")
    entries = sorted(share.source(root="library", page_size=2).list_photos(), key=lambda e: e.key)
    assert [(e.key, e.size) for e in entries] == [*((f"Ada/{n}.jpg", n + 1) for n in range(5)), ("deep/er/b.PNG", 3)]
    assert all(e.mtime > 1_600_000_000 for e in entries)
    if share.double:
        assert share.double.list_calls >= 6  # 7 entries in Ada/ at 2 per page is 4 pages alone


def test_a_missing_library_folder_lists_nothing(share):
    assert list(share.source(root="not-there").list_photos()) == []


def test_sidecars_and_folders_give_persona_hints(share):
    share.write("Ada/1.jpg", b"1")
    share.write("Ada/1.json", json.dumps({"persona": " Ada Lovelace "}).encode())
    share.write("Ada/2.jpg", b"2")
    share.write("Ada/3.jpg", b"3")
    share.write("Ada/3.json", b"{not json")
    source = share.source(label_from_folders=True)
    list(source.list_photos())
    assert source.persona_hint("Ada/1.jpg") == ("Ada Lovelace", None)
    assert source.persona_hint("Ada/2.jpg") == ("Ada", None)
    persona, problem = source.persona_hint("Ada/3.jpg")
    assert persona is None and problem.startswith("sidecar ignored: not valid JSON")


def test_a_photo_without_sidecar_costs_no_request_after_listing(share):
    double = double_only(share)
    share.write("a/1.jpg", b"1")
    source = share.source()
    list(source.list_photos())
    before = len(double.requests)
    assert source.read_sidecar("a/1.jpg") is None
    assert len(double.requests) == before


def test_photo_bytes_round_trip(share):
    data = os.urandom(300_000)
    share.write("a/big.jpg", data)
    assert share.source().read_bytes("a/big.jpg") == data


def test_an_oversized_photo_is_refused_without_downloading_it(share):
    share.write("huge.jpg", b"\0" * (9 * 1024 * 1024))
    with pytest.raises(SourceError, match="over the 1,000-byte limit"):
        share.source(max_photo_bytes=1000).read_bytes("huge.jpg")
    if share.double:
        assert share.double.bytes_served <= 4 * 1024 * 1024  # the first range only


def test_missing_or_escaping_photo_keys_raise_source_errors(share):
    with pytest.raises(SourceError, match="disappeared"):
        share.source().read_bytes("gone.jpg")
    with pytest.raises(SourceError, match=r"'\.\.'"):
        share.source().read_bytes("../secret.jpg")


def test_uploads_get_safe_unique_names_and_are_listed(share):
    source = share.source()
    first = source.add_photo("../../My Photo?.JPG", b"one")
    second = source.add_photo("My Photo?.JPG", b"two")
    assert first == "uploads/My Photo.jpg" and second.startswith("uploads/My Photo-") and second != first
    assert source.read_bytes(first) == b"one" and source.read_bytes(second) == b"two"
    assert sorted(e.key for e in share.source().list_photos()) == sorted([first, second])
    if share.double:  # nothing partial is left behind
        assert not any(".partial" in key for key in share.double.shares["photos"].nodes)


def test_artifacts_round_trip_with_keys_azure_files_would_refuse(share):
    store = share.artifacts()
    key = "thumbnails/abc123:0.jpg"  # ':' is not allowed in Azure Files names
    assert not store.exists(key)
    store.put(key, b"first")
    store.put(key, b"second")  # overwrite is atomic: a rename over the old file
    assert store.exists(key) and store.get(key) == b"second"
    store.put("models/v1.keras", b"model")
    assert store.get("models/v1.keras") == b"model"
    with pytest.raises(KeyError):
        store.get("thumbnails/missing.jpg")
    with pytest.raises(KeyError):
        store.put("../escape", b"x")


def test_secrets_are_not_in_the_resource_reprs(monkeypatch):
    monkeypatch.setenv("FACELOOP_FILE_SHARE_CONNECTION_STRING", "AccountKey=s3cret")
    monkeypatch.setenv("FACELOOP_COSMOS_ENDPOINT", "https://example.documents.azure.com:443/")
    monkeypatch.setenv("FACELOOP_COSMOS_KEY", "s3cret")
    resources = resources_for_deployment("azure")
    assert isinstance(resources["state_store"], CosmosStateStore)
    assert isinstance(resources["image_source"], AzureFileShareImageSource)
    assert isinstance(resources["artifact_store"], AzureFileShareArtifactStore)
    assert resources["state_store"].key == EnvVar("FACELOOP_COSMOS_KEY")
    assert not any("s3cret" in repr(r) for r in resources.values())
    with pytest.raises(ValueError, match="unknown FACELOOP_DEPLOYMENT"):
        resources_for_deployment("moon")


def test_azure_deployment_ingests_photos_from_the_share_into_cosmos(monkeypatch, cosmos_endpoint):
    """raw_images through Dagster with the azure deployment's resources: EnvVars resolved at launch."""
    with AzureFilesDouble() as double:
        share = Share(double.connection_string, "faceloop", double)
        share.client.create_share()
        share.write("library/Ada/1.jpg", b"photo one")
        share.write("library/Ada/1.json", b'{"persona": "Ada"}')
        share.write("library/Bob/2.jpg", b"photo two")
        monkeypatch.setenv("FACELOOP_FILE_SHARE_CONNECTION_STRING", double.connection_string)
        monkeypatch.setenv("FACELOOP_COSMOS_ENDPOINT", cosmos_endpoint)
        monkeypatch.setenv(
            "FACELOOP_COSMOS_KEY",
            "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
        )
        monkeypatch.setenv("FACELOOP_COSMOS_DATABASE", f"deploy-{uuid.uuid4().hex[:8]}")
        resources = resources_for_deployment("azure")
        # The local protocol server's certificate is self-signed; a real account keeps verification on.
        resources["state_store"] = resources["state_store"].model_copy(update={"verify_tls": False})
        result = materialize([raw_images], resources={k: resources[k] for k in ("state_store", "image_source")})
        assert result.success
        store = CosmosStateStore(
            endpoint=cosmos_endpoint,
            key=os.environ["FACELOOP_COSMOS_KEY"],
            database=os.environ["FACELOOP_COSMOS_DATABASE"],
            verify_tls=False,
        )
        assert {i.key: i.import_persona for i in store.images()} == {"Ada/1.jpg": "Ada", "Bob/2.jpg": None}
