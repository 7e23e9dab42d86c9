"""What the labeling app does, as plain functions over the stores (no Gradio in here).

One name for the tabs and the tests; the functions live by concern in ``reading`` (the
snapshot, the classifier's status), ``labeling`` (labels and people), ``questions`` (the review
queue and look-alike groups) and ``similarity`` (find similar).
"""

from gradio_app.labeling import *  # noqa: F403
from gradio_app.questions import *  # noqa: F403
from gradio_app.reading import *  # noqa: F403
from gradio_app.similarity import *  # noqa: F403
