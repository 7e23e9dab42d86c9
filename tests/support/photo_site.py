"""A public photo site without the internet, for the URL fetcher's tests.

A real HTTP server on 127.0.0.1 serves photos, a web page of images, redirects, oversized and slow
answers; ``fake_dns`` and ``routed_to`` are the fetcher's resolver and connector hooks, so a
public-looking name can resolve to PUBLIC_IP and still reach this server (and a test can see which
address the fetcher really connected to).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from gradio_app.adapters.url_fetch import FetchRefused

PUBLIC_IP = "93.184.216.34"  # a public address the connector hook routes to the local server


def jpeg(width: int = 200, height: int = 160) -> bytes:
    """A plain one-colour JPEG of that size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 60)).save(buffer, format="JPEG")
    return buffer.getvalue()


FACE = jpeg()
ICON = jpeg(16, 16)
PAGE = b"""<html><head><meta property="og:image" content="/og.jpg"></head><body>
<img src="face.jpg"><img src="/icon.jpg"><img srcset="small.jpg 1x, /face.jpg?big 2x">
<img src="/missing.jpg"><img src="data:image/png;base64,AAAA"></body></html>"""


class PhotoSite:
    """An HTTP server on 127.0.0.1 with photos, a page of images, redirects, oversized and slow answers.

    ``hits`` lists the paths asked for; ``redirect_to`` is where ``/redirect`` points.
    """

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.redirect_to = ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.hits.append(self.path)
                path = self.path.split("?")[0]
                if path in ("/face.jpg", "/og.jpg"):
                    self._send(200, "image/jpeg", FACE)
                elif path == "/icon.jpg":
                    self._send(200, "image/jpeg", ICON)
                elif path == "/page.html":
                    self._send(200, "text/html; charset=utf-8", PAGE)
                elif path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", owner.redirect_to)
                    self.end_headers()
                elif path == "/big":
                    self._send(200, "image/jpeg", b"\xff" * 300_000)
                elif path == "/big-chunked":  # no Content-Length: the cap must hold while streaming
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.end_headers()
                    for _ in range(30):
                        self.wfile.write(b"\xff" * 10_000)
                elif path == "/slow":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.end_headers()
                    for _ in range(40):
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                        time.sleep(0.1)
                elif path == "/text.jpg":
                    self._send(200, "image/jpeg", b"this is not a photo at all" * 10)
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status, content_type, body):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True  # a handler still writing to a client that gave up must not hold teardown
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def fake_dns(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A resolver hook answering from ``table``: any name can be given public or private addresses."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise FetchRefused(f"cannot resolve {host!r}")
        return table[host]

    return resolve


def routed_to(server: PhotoSite) -> Callable[[str, int, float], socket.socket]:
    """Connections to PUBLIC_IP reach the local server: a public site without the internet."""

    def connect(address: str, port: int, timeout: float) -> socket.socket:
        assert address == PUBLIC_IP, f"connected to unchecked address {address}"
        return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)

    return connect
