"""The page's header: which classifier serves, the labels it has not learned yet, the retrain,
and how current the predictions are; and which prediction update the open page shows, so it
can follow a newer one by itself. No Gradio in here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gradio_app.classifier import ModelStatus, PageStatus, page_status
from gradio_app.formatting import pct, when
from resources.state_store.ports import Predictions

if TYPE_CHECKING:
    from gradio_app.context import AppContext

RECENT_LABEL_S = 120  # "N s after your label" only when the update came this soon after it
# The open view asks the store this often whether a newer prediction update landed (one small
# read; nothing is re-rendered unless it did).
PREDICTIONS_POLL_S = float(os.environ.get("FACELOOP_UI_PREDICTIONS_POLL_S", "1"))


def header_html(ctx: AppContext, status: PageStatus | None = None) -> str:
    """The header's HTML: what serves, how far behind, the retrain (one status read, or ``status``)."""
    status = status or page_status(ctx)
    model = status.model
    serving, pinned = model.serving, bool(model.serving_state and model.serving_state.pinned)
    chips = [
        f"Classifier v{serving.version}{' (pinned)' if pinned else ''} · "
        f"{pct(serving.metrics.get('accuracy'))} accurate"
        if serving
        else "No classifier yet",
        f"{model.labels_since_model} new label(s) since training",
        status.retrain.summary(),
    ]
    chip_html = "".join(f'<span class="fl-chip">{c}</span>' for c in chips) + predictions_chip(ctx, model)
    return (
        '<div class="fl-header"><h1>FaceLoop</h1>'
        "<p>Teach the computer who is in your photos: check its guesses, name the faces it does not know.</p>"
        f'<div style="margin-top:8px">{chip_html}</div></div>'
    )


def predictions_chip(ctx: AppContext, status: ModelStatus) -> str:
    """How current the predictions are: "updated N s after your label", or that labels are on their way.

    The chip carries the update's label watermark (``data-watermark``) for the browser bench.
    """
    update = status.prediction_update
    if update is None:
        return ""
    watermark = int(update["label_watermark"])
    pin = status.serving_state.pin if status.serving_state else None
    if pin is not None and int(update["model_version"]) == pin.version:
        text = f"predictions from pinned v{pin.version}"
    elif status.labels_since_predictions:
        text = f"learning {status.labels_since_predictions} new label(s)…"
    else:
        mine = [e for e in ctx.state_store.label_events(since=max(0, watermark - 200)) if e.source == "app"]
        lag = update["updated_at"] - mine[-1].created_at if mine and mine[-1].created_at else None
        recent = lag is not None and lag < RECENT_LABEL_S
        text = (
            f"predictions updated {lag:.1f} s after your label"
            if recent
            else f"predictions {when(update['updated_at'])}"
        )
    return (
        f'<span class="fl-chip" id="fl-predictions" data-watermark="{watermark}" '
        f'data-model="{int(update["model_version"])}">{text}</span>'
    )


def prediction_update_key(store: Predictions) -> list | None:
    """What identifies the prediction update a page shows (JSON-friendly, for a gr.State)."""
    update = store.latest_prediction_update()
    return None if update is None else [update["model_version"], update["label_watermark"], update["updated_at"]]
