"""PROTOCOL TEST DOUBLE of the Azure Files REST API, in memory, for the adapters' tests.

Azure Files has no emulator (Azurite has none), so the real ``azure-storage-file-share`` SDK talks
to this small HTTP server instead. It implements only what the FaceLoop adapters call: create
share and directory, list a directory (with ``marker``/``maxresults`` paging), get file
properties (HEAD), download (whole or a ``x-ms-range``), create file + put range, rename, delete.
It does not check SharedKey signatures (only that one is sent), leases, snapshots, SMB metadata or
quotas. The same tests run against a real storage account when
``FACELOOP_TEST_AZURE_FILES_CONNECTION_STRING`` is set.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

ACCOUNT = "devstoreaccount1"
INVALID_NAME_CHARS = set('"\\:|<>*?')  # as the service refuses them in file and directory names
ACCOUNT_KEY = "RmFjZUxvb3AgdGVzdCBkb3VibGUga2V5LCBub3QgYSBzZWNyZXQ="  # base64 of a harmless text


@dataclass
class Node:
    data: bytearray | None = None  # None: a directory
    modified: float = field(default_factory=time.time)
    etag: str = ""

    def touch(self) -> None:
        self.modified = time.time()
        self.etag = f'"0x{time.time_ns():X}"'


class Share:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {"": Node()}
        self.lock = threading.Lock()


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e7):07d}Z"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: AzureFilesDouble

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # -- helpers ---------------------------------------------------------------------------------
    def _target(self) -> tuple[Share | None, str, str, dict]:
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        share_name = segments[1] if len(segments) > 1 else ""
        return self.server.shares.get(share_name), share_name, "/".join(segments[2:]), query

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in {"x-ms-version": "2025-11-05", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str) -> None:
        body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{code}</Message></Error>'
        self._reply(status, body.encode(), {"x-ms-error-code": code, "Content-Type": "application/xml"})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _file_headers(self, node: Node) -> dict:
        return {
            "ETag": node.etag,
            "Last-Modified": formatdate(node.modified, usegmt=True),
            "x-ms-type": "File",
            "x-ms-file-last-write-time": iso(node.modified),
            "x-ms-file-creation-time": iso(node.modified),
            "x-ms-file-change-time": iso(node.modified),
        }

    def _authorized(self) -> bool:
        self.server.requests.append((self.command, self.path))
        if self.headers.get("Authorization", "").startswith(f"SharedKey {ACCOUNT}:"):
            return True
        self._body()
        self._error(403, "AuthenticationFailed")
        return False

    # -- verbs -----------------------------------------------------------------------------------
    def do_PUT(self) -> None:
        if not self._authorized():
            return
        share, share_name, path, query = self._target()
        body = self._body()
        if query.get("restype") == "share" and not path:
            if share is not None:
                return self._error(409, "ShareAlreadyExists")
            self.server.shares[share_name] = Share()
            return self._reply(201, headers={"ETag": '"0x1"', "Last-Modified": formatdate(usegmt=True)})
        if share is None:
            return self._error(404, "ShareNotFound")
        if any(c in INVALID_NAME_CHARS for c in path):
            return self._error(400, "InvalidResourceName")
        with share.lock:
            node = share.nodes.get(path)
            parent = share.nodes.get(path.rpartition("/")[0])
            if query.get("restype") == "directory":
                if node is not None:
                    return self._error(409, "ResourceAlreadyExists")
                if parent is None or parent.data is not None:
                    return self._error(404, "ParentNotFound")
                share.nodes[path] = Node()
                share.nodes[path].touch()
                return self._reply(
                    201, headers={"ETag": share.nodes[path].etag, "Last-Modified": formatdate(usegmt=True)}
                )
            comp = query.get("comp")
            if comp == "range":
                if node is None or node.data is None:
                    return self._error(404, "ResourceNotFound")
                start, end = (int(n) for n in self.headers["x-ms-range"].split("=")[1].split("-"))
                if end >= len(node.data) or len(body) != end - start + 1:
                    return self._error(416, "InvalidRange")
                node.data[start : end + 1] = body
                node.touch()
                return self._reply(201, headers={"ETag": node.etag, "Last-Modified": formatdate(usegmt=True)})
            if comp == "rename":
                source = unquote(urlsplit(self.headers["x-ms-file-rename-source"]).path)
                source = source.split("/", 3)[-1] if source.startswith(f"/{ACCOUNT}/") else source.lstrip("/")
                source = source.split("/", 1)[1] if source.startswith(f"{share_name}/") else source
                moved = share.nodes.get(source)
                if moved is None:
                    return self._error(404, "ResourceNotFound")
                if node is not None and self.headers.get("x-ms-file-rename-replace-if-exists") != "true":
                    return self._error(409, "ResourceAlreadyExists")
                if parent is None:
                    return self._error(404, "ParentNotFound")
                share.nodes[path] = share.nodes.pop(source)
                return self._reply(200, headers=self._file_headers(share.nodes[path]))
            if comp is None and self.headers.get("x-ms-type") == "file":
                if parent is None or parent.data is not None:
                    return self._error(404, "ParentNotFound")
                if node is not None and node.data is None:
                    return self._error(409, "ResourceAlreadyExists")
                share.nodes[path] = Node(bytearray(int(self.headers["x-ms-content-length"])))
                share.nodes[path].touch()
                return self._reply(201, headers=self._file_headers(share.nodes[path]))
        self._error(400, "UnsupportedByTestDouble")

    def do_DELETE(self) -> None:
        if not self._authorized():
            return
        share, _, path, _ = self._target()
        with share.lock if share else threading.Lock():
            node = share.nodes.get(path) if share else None
            if node is None or node.data is None:
                return self._error(404, "ResourceNotFound")
            del share.nodes[path]
        self._reply(202)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._authorized():
            return
        share, share_name, path, query = self._target()
        node = share.nodes.get(path) if share else None
        if node is None:
            return self._error(404, "ShareNotFound" if share is None else "ResourceNotFound")
        if query.get("comp") == "list":
            return self._list(share, share_name, path, query)
        if node.data is None:
            return self._reply(
                200, headers={"ETag": node.etag, "Last-Modified": formatdate(node.modified, usegmt=True)}
            )
        data, headers, status = bytes(node.data), self._file_headers(node), 200
        wanted = self.headers.get("x-ms-range") or self.headers.get("Range")
        if wanted:
            start, _, end = wanted.split("=")[1].partition("-")
            start, end = int(start), min(int(end) if end else len(data) - 1, len(data) - 1)
            if start >= len(data):
                return self._error(416, "InvalidRange")
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        self.server.bytes_served += len(data) if self.command == "GET" else 0
        self._reply(status, data, {**headers, "Content-Type": "application/octet-stream"})

    def _list(self, share: Share, share_name: str, path: str, query: dict) -> None:
        prefix = f"{path}/" if path else ""
        with share.lock:
            children = sorted(
                (key[len(prefix) :], node)
                for key, node in share.nodes.items()
                if key.startswith(prefix) and key != path and "/" not in key[len(prefix) :]
            )
        children = [(n, node) for n, node in children if n.startswith(query.get("prefix", ""))]
        marker = query.get("marker", "")
        children = [(n, node) for n, node in children if n >= marker]
        limit = int(query.get("maxresults", 5000))
        page, rest = children[:limit], children[limit:]
        entries = []
        for name, node in page:
            if node.data is None:
                entries.append(f"<Directory><Name>{escape(name)}</Name><Properties /></Directory>")
            else:
                entries.append(
                    f"<File><Name>{escape(name)}</Name><Properties><Content-Length>{len(node.data)}</Content-Length>"
                    f"<CreationTime>{iso(node.modified)}</CreationTime><LastWriteTime>{iso(node.modified)}</LastWriteTime>"
                    f"<ChangeTime>{iso(node.modified)}</ChangeTime><LastAccessTime>{iso(node.modified)}</LastAccessTime>"
                    f"<Last-Modified>{formatdate(node.modified, usegmt=True)}</Last-Modified><Etag>{node.etag}</Etag>"
                    "</Properties></File>"
                )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="http://{self.headers.get("Host")}/{ACCOUNT}/" '
            f'ShareName="{escape(share_name)}" DirectoryPath="{escape(path)}">'
            f"<Prefix>{escape(query.get('prefix', ''))}</Prefix><Marker>{escape(marker)}</Marker>"
            f"<MaxResults>{limit}</MaxResults><Entries>{''.join(entries)}</Entries>"
            f"<NextMarker>{escape(rest[0][0]) if rest else ''}</NextMarker></EnumerationResults>"
        )
        self.server.list_calls += 1
        self._reply(200, body.encode(), {"Content-Type": "application/xml"})


class AzureFilesDouble(ThreadingHTTPServer):
    """``with AzureFilesDouble() as double:`` serves on a free loopback port until the block ends."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.shares: dict[str, Share] = {}
        self.list_calls = 0
        self.bytes_served = 0
        self.requests: list[tuple[str, str]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def connection_string(self) -> str:
        host, port = self.server_address[:2]
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"FileEndpoint=http://{host}:{port}/{ACCOUNT};"
        )

    def __enter__(self) -> AzureFilesDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
