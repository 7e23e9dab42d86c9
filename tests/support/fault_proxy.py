"""A fault-injecting HTTPS proxy in front of the local Cosmos DB protocol server.

Clients talk TLS to the proxy (the protocol server's own self-signed test certificate, so
``verify_tls=False`` clients accept it); each request is either forwarded to the server or
answered with a planned fault: ``429`` (with ``x-ms-retry-after-ms``), ``503``, a dropped
connection before forwarding (``drop``), or a dropped connection *after* the server applied the
request (``lost_reply``: the write happened, the client never hears so).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.cosmos_server import SERVER_DIR

CERT_DIR = SERVER_DIR / "node_modules" / "@vercel" / "cosmosdb-server"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


@dataclass
class Seen:
    method: str
    path: str
    action: str  # "forward" or the fault injected


@dataclass
class FaultPlan:
    """Faults for the next matching requests, in order; everything else is forwarded."""

    faults: list[str] = field(default_factory=list)
    matches: Callable[[str, str], bool] = lambda method, path: True
    retry_after_ms: int = 100
    always: str | None = None  # a fault for every matching request (an outage)


class FaultProxy:
    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.plan = FaultPlan()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                action = proxy._next(self.command, self.path)
                if action in ("429", "503"):
                    proxy._answer(self, int(action))
                    return
                if action == "drop":
                    self.close_connection = True
                    return  # no reply: the client sees the connection close
                status, headers, data = proxy._forward(self.command, self.path, dict(self.headers), body)
                if action == "lost_reply":
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CERT_DIR / "cert.pem", CERT_DIR / "key.pem")
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.endpoint = f"https://{self.address}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _next(self, method: str, path: str) -> str:
        with self._lock:
            action = "forward"
            if self.plan.matches(method, path):
                if self.plan.always:
                    action = self.plan.always
                elif self.plan.faults:
                    action = self.plan.faults.pop(0)
            self.seen.append(Seen(method, path, action))
            return action

    def _answer(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        code = {429: "TooManyRequests", 503: "ServiceUnavailable"}[status]
        body = json.dumps({"code": code, "message": f"injected {status} by the test proxy"}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("x-ms-activity-id", "00000000-0000-0000-0000-000000000000")
        if status == 429:
            handler.send_header("x-ms-retry-after-ms", str(self.plan.retry_after_ms))
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _forward(self, method: str, path: str, headers: dict, body: bytes | None) -> tuple[int, list, bytes]:
        context = ssl._create_unverified_context()  # the protocol server's self-signed test certificate
        conn = http.client.HTTPSConnection(*self.upstream, context=context, timeout=30)
        try:
            kept = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(method, path, body=body, headers=kept)
            response = conn.getresponse()
            data = response.read()
            # The account document names the server's own address as the endpoint to use; point it
            # at the proxy, or the SDK would route every later request around it.
            data = data.replace(f"{self.upstream[0]}:{self.upstream[1]}".encode(), self.address.encode())
            return response.status, response.getheaders(), data
        finally:
            conn.close()

    def injected(self) -> list[Seen]:
        return [s for s in self.seen if s.action != "forward"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
