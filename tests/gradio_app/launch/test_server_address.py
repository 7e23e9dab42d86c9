"""Where ``python -m gradio_app`` listens: flags, then FaceLoop's variables, then Gradio's own."""

from __future__ import annotations

from gradio_app.launch.server import parse_args


def test_gradio_server_name_and_port_are_honoured_as_in_any_gradio_app(monkeypatch):
    for name in ("FACELOOP_UI_HOST", "FACELOOP_UI_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    args = parse_args([])
    assert (args.host, args.port) == ("0.0.0.0", 7999)


def test_faceloop_variables_and_flags_come_first(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    monkeypatch.setenv("FACELOOP_UI_HOST", "127.0.0.2")
    monkeypatch.setenv("FACELOOP_UI_PORT", "8001")
    assert (parse_args([]).host, parse_args([]).port) == ("127.0.0.2", 8001)
    assert parse_args(["--port", "8100"]).port == 8100


def test_without_any_setting_it_listens_on_localhost_7860(monkeypatch):
    for name in ("FACELOOP_UI_HOST", "FACELOOP_UI_PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert (parse_args([]).host, parse_args([]).port) == ("127.0.0.1", 7860)
