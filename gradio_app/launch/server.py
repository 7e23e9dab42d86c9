"""``python -m gradio_app`` (``__main__`` calls :func:`main`): the labeling app on the deployment's stores.

Offline by construction: Gradio analytics are off before Gradio is imported, the theme uses
system fonts only, and server-side rendering (which needs Node) is off. Login is optional:
FACELOOP_UI_USER and FACELOOP_UI_PASSWORD from the environment turn on Gradio's auth.
"""

from __future__ import annotations

import argparse
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def auth_from_env() -> tuple[str, str] | None:
    """(user, password) when both are set; one without the other is a configuration mistake."""
    user, password = os.environ.get("FACELOOP_UI_USER"), os.environ.get("FACELOOP_UI_PASSWORD")
    if bool(user) != bool(password):
        raise SystemExit("set both FACELOOP_UI_USER and FACELOOP_UI_PASSWORD, or neither")
    return (user, password) if user else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Host and port: the flags, else FACELOOP_UI_HOST/PORT, else Gradio's own GRADIO_SERVER_NAME/PORT."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m gradio_app", description="FaceLoop labeling app")
    parser.add_argument("--host", default=env("FACELOOP_UI_HOST") or env("GRADIO_SERVER_NAME") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(env("FACELOOP_UI_PORT") or env("GRADIO_SERVER_PORT") or "7860"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build the page on the deployment's stores and serve it until stopped."""
    args = parse_args(argv)

    from gradio_app.app import build_app, launch_kwargs
    from gradio_app.context import AppContext
    from resources.deployments import resources_for_deployment

    ctx = AppContext.from_resources(resources_for_deployment())
    auth = auth_from_env()
    print(f"FaceLoop app: http://{args.host}:{args.port}" + (" (login required)" if auth else ""), flush=True)
    build_app(ctx).launch(
        server_name=args.host,
        server_port=args.port,
        auth=auth,
        auth_message="FaceLoop: sign in to label faces." if auth else None,
        **launch_kwargs(ctx),
    )
