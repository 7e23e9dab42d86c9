"""Safe URL fetching against a real HTTP server on 127.0.0.1 (no external DNS: a resolver hook)."""

from __future__ import annotations

import time

import pytest

from gradio_app.adapters.url_fetch import FetchPolicy, FetchRefused, SafeFetcher, public_address_problem
from gradio_app.uploads import UploadLimits, add_from_url
from resources.image_source.local import LocalFolderImageSource
from tests.support.photo_site import FACE, PUBLIC_IP, PhotoSite, fake_dns, routed_to


@pytest.fixture
def server():
    s = PhotoSite()
    yield s
    s.close()


def public_fetcher(server: PhotoSite, **limits) -> SafeFetcher:
    return SafeFetcher(
        FetchPolicy(
            allow_private=False,
            resolver=fake_dns({"photos.example": [PUBLIC_IP], "evil.example": [PUBLIC_IP, "10.0.0.7"]}),
            connector=routed_to(server),
            **limits,
        )
    )


def test_allowed_private_fetch_gets_an_image_from_the_local_server(server):
    fetched = SafeFetcher(FetchPolicy(allow_private=True)).fetch(server.url("/face.jpg"))
    assert fetched.data == FACE
    assert fetched.content_type == "image/jpeg"


def test_a_web_page_yields_its_images_and_lists_what_it_could_not_fetch(server, tmp_path):
    source = LocalFolderImageSource(root=str(tmp_path / "library"))
    fetcher = SafeFetcher(FetchPolicy(allow_private=True))
    results = add_from_url(source, server.url("/page.html"), fetcher, UploadLimits())
    added = [r for r in results if r.ok]
    refused = {r.name: r.message for r in results if not r.ok}
    # og:image, face.jpg and the 2x srcset entry are photos; the icon is too small; missing.jpg is a 404
    assert len(added) == 3
    assert all(r.key.startswith("uploads/") and r.key.endswith(".jpg") for r in added)
    assert sorted(p.key for p in source.list_photos()) == sorted(r.key for r in added)
    assert any("too small" in m for n, m in refused.items() if n.endswith("/icon.jpg"))
    assert any("HTTP 404" in m for m in refused.values())
    assert "/small.jpg" not in server.hits  # srcset: only the largest candidate is fetched


def test_a_public_host_is_fetched_through_the_checked_address(server):
    fetched = public_fetcher(server).fetch("http://photos.example/face.jpg")
    assert fetched.data == FACE


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/face.jpg",
        "http://10.0.0.5/face.jpg",
        "http://192.168.1.10/face.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/face.jpg",
        "http://[::ffff:127.0.0.1]:{port}/face.jpg",
        "http://localhost:{port}/face.jpg",
        "http://100.100.100.200/latest/meta-data/",
        "http://0.0.0.0:{port}/face.jpg",
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(server, url):
    with pytest.raises(FetchRefused, match="not allowed"):
        public_fetcher(server).fetch(url.format(port=server.port))
    assert server.hits == []


def test_a_name_with_any_private_dns_answer_is_refused(server):
    with pytest.raises(FetchRefused, match=r"10\.0\.0\.7 is a private address"):
        public_fetcher(server).fetch("http://evil.example/face.jpg")
    assert server.hits == []


@pytest.mark.parametrize(
    "target", ["http://10.1.2.3/face.jpg", "http://127.0.0.1:{port}/face.jpg", "http://169.254.169.254/"]
)
def test_a_redirect_to_a_private_address_is_refused(server, target):
    server.redirect_to = target.format(port=server.port)
    with pytest.raises(FetchRefused, match="not allowed"):
        public_fetcher(server).fetch("http://photos.example/redirect")
    assert server.hits == ["/redirect"]  # the private target was never requested


def test_a_redirect_to_a_public_address_is_followed(server):
    server.redirect_to = "http://photos.example/face.jpg"
    assert public_fetcher(server).fetch("http://photos.example/redirect").data == FACE


def test_redirect_loops_stop(server):
    server.redirect_to = "/redirect"
    with pytest.raises(FetchRefused, match="redirects"):
        public_fetcher(server, max_redirects=3).fetch("http://photos.example/redirect")
    assert len(server.hits) == 4


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_downloads_over_the_size_limit_are_refused(server, path):
    with pytest.raises(FetchRefused, match="limit"):
        public_fetcher(server, max_bytes=100_000).fetch(f"http://photos.example{path}")


def test_slow_downloads_hit_the_deadline(server):
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="longer than"):
        public_fetcher(server, timeout_s=0.5).fetch("http://photos.example/slow")
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://photos.example/a.jpg", "http://user:pw@photos.example/face.jpg", "nonsense"]
)
def test_other_schemes_and_credentials_are_refused(server, url):
    with pytest.raises(FetchRefused):
        public_fetcher(server).fetch(url)
    assert server.hits == []


def test_content_that_is_not_a_photo_is_not_stored(server, tmp_path):
    source = LocalFolderImageSource(root=str(tmp_path / "library"))
    (result,) = add_from_url(source, "http://photos.example/text.jpg", public_fetcher(server))
    assert not result.ok and "not a photo" in result.message
    assert list(source.list_photos()) == []


def test_public_address_check_knows_the_special_ranges():
    assert public_address_problem("8.8.8.8") is None
    assert public_address_problem("2606:4700:4700::1111") is None
    for address in [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "100.64.0.1",
        "224.0.0.1",
        "0.0.0.0",
        "::ffff:10.0.0.1",
        "fd00:ec2::254",
    ]:
        assert public_address_problem(address), address


def test_fetch_policy_reads_the_private_url_switch_from_the_environment(monkeypatch):
    monkeypatch.delenv("FACELOOP_ALLOW_PRIVATE_URLS", raising=False)
    assert FetchPolicy.from_env().allow_private is False
    monkeypatch.setenv("FACELOOP_ALLOW_PRIVATE_URLS", "1")
    assert FetchPolicy.from_env().allow_private is True
