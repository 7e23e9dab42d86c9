"""Optional login: credentials only from the environment; with them set, nothing is served before sign-in.

The real app (build_app + Gradio's own auth, as ``python -m gradio_app`` launches it) on a loopback
port, spoken to over HTTP.
"""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

import pytest

from gradio_app.app import build_app, launch_kwargs
from gradio_app.context import AppContext
from gradio_app.launch.server import auth_from_env
from tests.support.local_net import free_port


def test_login_is_on_only_with_both_user_and_password(monkeypatch):
    monkeypatch.delenv("FACELOOP_UI_USER", raising=False)
    monkeypatch.delenv("FACELOOP_UI_PASSWORD", raising=False)
    assert auth_from_env() is None
    monkeypatch.setenv("FACELOOP_UI_USER", "ada")
    with pytest.raises(SystemExit, match="both"):
        auth_from_env()
    monkeypatch.setenv("FACELOOP_UI_PASSWORD", "pw")
    assert auth_from_env() == ("ada", "pw")


def request(opener, url: str, data: dict | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=20) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def test_with_login_on_the_app_serves_nothing_until_the_right_password(home, monkeypatch):
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv("FACELOOP_UI_USER", "ada")
    monkeypatch.setenv("FACELOOP_UI_PASSWORD", password)
    ctx = AppContext.from_resources(home.resources, dagster_graphql_url="http://127.0.0.1:9/graphql")
    port = free_port()
    app = build_app(ctx)
    app.launch(
        server_name="127.0.0.1", server_port=port, auth=auth_from_env(), prevent_thread_lock=True, **launch_kwargs(ctx)
    )
    base = f"http://127.0.0.1:{port}"
    no_proxy = urllib.request.ProxyHandler({})
    try:
        anonymous = urllib.request.build_opener(no_proxy)
        status, _ = request(anonymous, f"{base}/config")
        assert status == 401
        status, body = request(anonymous, f"{base}/login", {"username": "ada", "password": "wrong"})
        assert status in (400, 401) and password not in body

        jar = http.cookiejar.CookieJar()
        signed_in = urllib.request.build_opener(no_proxy, urllib.request.HTTPCookieProcessor(jar))
        status, _ = request(signed_in, f"{base}/login", {"username": "ada", "password": password})
        assert status == 200 and len(jar) >= 1
        status, body = request(signed_in, f"{base}/config")
        assert status == 200 and "components" in json.loads(body)
        assert password not in body
    finally:
        app.close()
