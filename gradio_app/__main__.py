"""``python -m gradio_app``: starts the labeling app (the launcher lives in ``launch/server.py``)."""

from gradio_app.launch.server import main

if __name__ == "__main__":
    main()
