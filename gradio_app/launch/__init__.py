"""How the app is started, apart from the page itself: ``server`` (``python -m gradio_app``:
host, port, login) and ``demo`` (``make demo``: Dagster and the app, started and stopped together)."""
