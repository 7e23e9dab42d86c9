"""Fetch photos from a URL a person pasted, without letting the URL reach inside our network.

A URL is only a request to fetch; the server decides where it may go (SSRF). Every hop (the
first URL and every redirect) is resolved once, *every* DNS answer must be a public address,
and the connection goes to the address that was checked (no second lookup a DNS rebinding
attacker could answer differently). Loopback, private, link-local (cloud metadata at
169.254.169.254), shared, reserved and multicast addresses are refused unless
``FACELOOP_ALLOW_PRIVATE_URLS=1``. Downloads have a deadline and a size cap.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from resources.settings import env_flag

Resolver = Callable[[str, int], list[str]]
Connector = Callable[[str, int, float], socket.socket]

REDIRECTS = {301, 302, 303, 307, 308}
METADATA_HOSTS = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"})
USER_AGENT = "FaceLoop/0.1 (photo import)"


class FetchRefused(ValueError):
    """A URL that was not fetched, with the reason a person can read."""


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in answers))


def direct_connector(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


def public_address_problem(address: str) -> str | None:
    """Why this address may not be fetched from, or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:  # IPv4 inside IPv6 (::ffff:127.0.0.1 and friends) is judged as that IPv4
            problem = public_address_problem(str(embedded))
            if problem or ip.ipv4_mapped is not None:
                return problem and f"{ip} wraps {problem}"
    if str(ip) in METADATA_HOSTS:
        return f"{ip} is a cloud metadata address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return f"{ip} is not a public address"
    return None


@dataclass
class FetchPolicy:
    """Limits for one fetch; ``resolver``/``connector`` are hooks (tests use them to avoid real DNS)."""

    allow_private: bool = False
    timeout_s: float = 15.0  # whole download, all redirects included
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    max_page_images: int = 20
    resolver: Resolver = field(default=system_resolver)
    connector: Connector = field(default=direct_connector)

    @classmethod
    def from_env(cls) -> FetchPolicy:
        return cls(
            allow_private=env_flag("FACELOOP_ALLOW_PRIVATE_URLS"),
            timeout_s=float(os.environ.get("FACELOOP_URL_TIMEOUT_S", "15")),
            max_bytes=int(os.environ.get("FACELOOP_UPLOAD_MAX_BYTES", str(20 * 1024 * 1024))),
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FetchedImages:
    images: list[Fetched]
    problems: list[str]  # one line per image (or page) that was not fetched
    from_page: bool  # the URL was a web page, not an image


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: str, connector: Connector, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._create_connection = lambda _addr, timeout, _source=None: connector(address, port, timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, verifying the certificate for the host name (SNI too)."""

    def __init__(self, host: str, port: int, address: str, connector: Connector, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._create_connection = lambda _addr, timeout, _source=None: connector(address, port, timeout)


class SafeFetcher:
    def __init__(self, policy: FetchPolicy | None = None):
        self.policy = policy or FetchPolicy()

    def _address_for(self, host: str, port: int) -> str:
        if not self.policy.allow_private and host.rstrip(".").lower() in {"localhost", "metadata.google.internal"}:
            raise FetchRefused(f"{host} is a local name; fetching it is not allowed")
        try:
            answers = [str(ipaddress.ip_address(host.strip("[]")))]
        except ValueError:
            answers = self.policy.resolver(host, port)
        if not answers:
            raise FetchRefused(f"{host} has no address")
        if not self.policy.allow_private:
            for answer in answers:  # every answer: the client could connect to any of them
                problem = public_address_problem(answer)
                if problem:
                    raise FetchRefused(f"{host} resolves to {problem}; fetching it is not allowed")
        return answers[0]

    def fetch(self, url: str, deadline: float | None = None) -> Fetched:
        """The body at ``url`` after at most ``max_redirects`` checked redirects."""
        deadline = deadline or time.monotonic() + self.policy.timeout_s
        current = url.strip()
        for _hop in range(self.policy.max_redirects + 1):
            status, headers, body = self._get(current, deadline)
            if status in REDIRECTS:
                location = headers.get("location")
                if not location:
                    raise FetchRefused(f"{current} redirects without a Location header")
                current = urljoin(current, location)
                continue
            if status != 200:
                raise FetchRefused(f"{current} answered HTTP {status}")
            return Fetched(current, headers.get("content-type", "").split(";")[0].strip().lower(), body)
        raise FetchRefused(f"more than {self.policy.max_redirects} redirects")

    def _get(self, url: str, deadline: float) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise FetchRefused(f"only http and https URLs can be fetched, not {parts.scheme or 'no scheme'!r}")
        if parts.username or parts.password:
            raise FetchRefused("URLs with a user name or password are not fetched")
        host = parts.hostname
        if not host:
            raise FetchRefused(f"{url!r} has no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchRefused(f"{url!r} has an invalid port") from None
        address = self._address_for(host, port)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(f"took longer than {self.policy.timeout_s:g} s")
        cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        conn = cls(host, port, address, self.policy.connector, remaining)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*,text/html;q=0.8"})
            response = conn.getresponse()
            headers = {k.lower(): v for k, v in response.getheaders()}
            if response.status in REDIRECTS:
                return response.status, headers, b""
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.policy.max_bytes:
                raise FetchRefused(f"{url} is {int(declared):,} bytes, over the {self.policy.max_bytes:,}-byte limit")
            chunks, size = [], 0
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FetchRefused(f"took longer than {self.policy.timeout_s:g} s")
                if conn.sock is not None:
                    conn.sock.settimeout(remaining)
                chunk = response.read1(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise FetchRefused(f"{url} is over the {self.policy.max_bytes:,}-byte limit")
                chunks.append(chunk)
            return response.status, headers, b"".join(chunks)
        except TimeoutError:
            raise FetchRefused(f"took longer than {self.policy.timeout_s:g} s") from None
        except ssl.SSLError as exc:
            raise FetchRefused(f"TLS failed for {host}: {exc.reason or exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"could not fetch {url}: {exc}") from None
        finally:
            conn.close()

    def fetch_images(self, url: str) -> FetchedImages:
        """Images at ``url``: the image itself, or those a web page shows (up to ``max_page_images``).

        One image on a page that cannot be fetched is a problem listed; the others still come.
        """
        first = self.fetch(url)
        if not first.content_type.startswith(("text/html", "application/xhtml")):
            return FetchedImages([first], [], from_page=False)
        parser = _ImageLinks()
        parser.feed(first.data[: 2 * 1024 * 1024].decode("utf-8", errors="replace"))
        links = []
        for link in parser.links:
            absolute = urljoin(first.url, link.strip())
            if urlsplit(absolute).scheme in {"http", "https"} and absolute not in links:
                links.append(absolute)
        fetched, problems = [], []
        if not links:
            problems.append(f"{first.url}: the page shows no images")
        for link in links[: self.policy.max_page_images]:
            try:
                fetched.append(self.fetch(link))
            except FetchRefused as exc:
                problems.append(f"{link}: {exc}")
        if len(links) > self.policy.max_page_images:
            problems.append(f"only the first {self.policy.max_page_images} of {len(links)} images were fetched")
        return FetchedImages(fetched, problems, from_page=True)


class _ImageLinks(HTMLParser):
    """Image URLs a page shows: <img src/srcset>, <source srcset>, og:image and image_src links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "img":
            if a.get("src") and not a["src"].startswith("data:"):
                self.links.append(a["src"])
            elif a.get("srcset"):
                self.links.append(_largest_in_srcset(a["srcset"]))
        elif tag == "source" and a.get("srcset"):
            self.links.append(_largest_in_srcset(a["srcset"]))
        elif tag == "meta" and a.get("property", a.get("name", "")).lower() in {"og:image", "twitter:image"}:
            if a.get("content"):
                self.links.append(a["content"])
        elif tag == "link" and a.get("rel", "").lower() == "image_src" and a.get("href"):
            self.links.append(a["href"])


def _largest_in_srcset(srcset: str) -> str:
    best, best_size = "", -1.0
    for candidate in srcset.split(","):
        bits = candidate.strip().split()
        if not bits:
            continue
        size = 1.0
        if len(bits) > 1 and bits[1][:-1].replace(".", "", 1).isdigit():
            size = float(bits[1][:-1])
        if size > best_size:
            best, best_size = bits[0], size
    return best
