"""URL tricks that reach a private address without spelling one, against the real resolver and server.

test_url_fetch.py covers plain private addresses, DNS answers and redirects through a resolver
hook; here the system resolver itself turns odd spellings (decimal, hex, short IPv4) into
loopback, and a public page points its images at private hosts.
"""

from __future__ import annotations

import pytest

from gradio_app.adapters.url_fetch import FetchPolicy, FetchRefused, SafeFetcher
from gradio_app.uploads import add_from_url
from resources.image_source.local import LocalFolderImageSource
from tests.support.photo_site import PUBLIC_IP, PhotoSite, fake_dns, routed_to


@pytest.fixture
def server():
    s = PhotoSite()
    yield s
    s.close()


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1", "[::1]", "[0:0:0:0:0:ffff:7f00:1]"]
)
def test_odd_spellings_of_loopback_are_refused_by_the_real_resolver(server, host):
    fetcher = SafeFetcher(FetchPolicy(allow_private=False))  # system resolver, direct connections
    with pytest.raises(FetchRefused, match=r"is a loopback address; fetching it is not allowed"):
        fetcher.fetch(f"http://{host}:{server.port}/face.jpg")
    assert server.hits == []


def test_a_public_page_cannot_pull_its_images_from_private_hosts(server, tmp_path):
    page = (
        b'<html><body><img src="http://10.0.0.5/a.jpg"><img src="http://169.254.169.254/latest/meta-data/">'
        b'<img src="http://intranet.example/b.jpg"><img src="/face.jpg"></body></html>'
    )
    server_handler_page = server.httpd.RequestHandlerClass
    original = server_handler_page.do_GET

    def do_get(handler):
        if handler.path == "/mixed.html":
            server.hits.append(handler.path)
            handler._send(200, "text/html", page)
        else:
            original(handler)

    server_handler_page.do_GET = do_get
    fetcher = SafeFetcher(
        FetchPolicy(
            allow_private=False,
            resolver=fake_dns({"photos.example": [PUBLIC_IP], "intranet.example": ["192.168.1.20"]}),
            connector=routed_to(server),
        )
    )
    source = LocalFolderImageSource(root=str(tmp_path / "library"))
    results = add_from_url(source, "http://photos.example/mixed.html", fetcher)
    stored = [r for r in results if r.ok]
    refused = [r.message for r in results if not r.ok]
    assert len(stored) == 1 and stored[0].key.startswith("uploads/")
    assert len(refused) == 3 and all("not allowed" in m for m in refused)
    assert server.hits == ["/mixed.html", "/face.jpg"]  # no private target was ever requested
