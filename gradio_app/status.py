"""What is serving and how current it is: read once per tick, shown in the header and the Classifier tab."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from assets.core.learning.gate import is_failed_attempt, serving_note
from gradio_app import actions
from gradio_app.adapters import dagster_status
from gradio_app.context import AppContext
from gradio_app.formatting import md, num, pct, table, when
from gradio_app.history import figures_table, gate_short, pin_line, serving_words
from resources.state_store.base import StateStore
from resources.state_store.records import ModelVersion, Serving

RECENT_LABEL_S = 120  # "N s after your label" only when the update came this soon after it
# The open view asks the store this often whether a newer prediction update landed (one small
# read; nothing is re-rendered unless it did).
PREDICTIONS_POLL_S = float(os.environ.get("FACELOOP_UI_PREDICTIONS_POLL_S", "1"))


@dataclass(frozen=True)
class PageStatus:
    """The model, prediction and retrain status of one moment: one read for header and tab alike."""

    model: actions.ModelStatus
    retrain: dagster_status.RetrainStatus
    graphql_url: str


def page_status(ctx: AppContext) -> PageStatus:
    return PageStatus(
        actions.model_status(ctx.state_store),
        dagster_status.retrain_status(ctx.dagster_graphql_url, timeout_s=1.5),
        ctx.dagster_graphql_url,
    )


def prediction_update_key(store: StateStore) -> list | None:
    """What identifies the prediction update a page shows (JSON-friendly, for a gr.State)."""
    update = store.latest_prediction_update()
    return None if update is None else [update["model_version"], update["label_watermark"], update["updated_at"]]


def header_html(ctx: AppContext, status: PageStatus | None = None) -> str:
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


def predictions_chip(ctx: AppContext, status: actions.ModelStatus) -> str:
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


def status_markdown(ctx: AppContext, status: PageStatus | None = None) -> str:
    """The Classifier tab: what is serving, how good it is, and how far behind the labels it is."""
    status = status or page_status(ctx)
    model = status.model
    versions = ctx.state_store.model_versions()
    blocks = _serving_blocks(model.serving, versions)
    if line := pin_line(model.serving_state):
        blocks.insert(1, f"**{line}**")
    blocks.append(f"**{model.labels_since_model} new label(s)** since this classifier was trained.")
    retrain_line = f"**Retrain:** {status.retrain.summary()}"
    if not status.retrain.reachable:
        retrain_line += f" at `{status.graphql_url}`"
    blocks.append(retrain_line + f" · [Open the Dagster UI]({dagster_status.ui_url(status.graphql_url)}/runs)")
    blocks += _prediction_and_training_blocks(model)
    per_persona = model.serving.metrics.get("per_persona") if model.serving else None
    if per_persona:
        rows = [
            [md(name), num(r.get("precision")), num(r.get("recall")), num(r.get("f1")), str(r.get("support", "–"))]
            for name, r in sorted(per_persona.items())
        ]
        blocks += [
            "<details><summary>Per person (held-out faces)</summary>",
            table(["Person", "Precision", "Recall", "F1", "Labels"], rows),
            "</details>",
        ]
    if versions:
        every = history_table(versions, model.serving_state)
        blocks += ["<details open><summary>Every version</summary>", every, "</details>"]
    return "\n\n".join(blocks)


def history_table(versions: Sequence[ModelVersion], state: Serving | None = None) -> str:
    """Every classifier version, newest first: what it learned from, how good, the gate, serving
    (``state``, the store's ``Serving``; without it the promoted version is the serving one)."""
    rows = []
    for v in sorted(versions, key=lambda v: -v.version):
        m = v.metrics
        rows.append(
            [
                str(v.version),
                when(v.created_at),
                str(m.get("labeled_faces", "–")),
                pct(m.get("accuracy")),
                num(m.get("macro_f1")),
                str(m.get("personas", "–")),
                gate_short(v),
                serving_words(v, state) if state else ("**serving**" if v.promoted else ""),
            ]
        )
    header = ["Version", "Trained", "Labeled faces", "Accuracy", "Macro F1", "People", "Gate", "Serving"]
    return table(header, rows)


def _serving_blocks(promoted, versions=()) -> list[str]:
    if promoted is None:
        return [
            "### No classifier is serving yet",
            "Label faces of at least one person (in **Unknown faces** or **People**); "
            "the pipeline trains one as soon as there are enough labels.",
        ]
    m = promoted.metrics
    blocks = [
        f"### Serving classifier: version {promoted.version}",
        f"Trained {when(promoted.created_at)} on **{m.get('labeled_faces', '?')} labeled faces** "
        f"of **{m.get('personas', '?')} people**.",
        figures_table(m, "Unknowns rejected", pct(m.get("impostor_rejected"))),
    ]
    if note := serving_note(promoted):
        blocks.append(f"**{md(note)}**")
    earlier = [v for v in versions if v.version < promoted.version and v.metrics.get("accuracy") is not None]
    if earlier and (change := held_out_change(max(earlier, key=lambda v: v.version), promoted)):
        blocks.append(change)
    return blocks


def held_out_change(before: ModelVersion, after: ModelVersion) -> str:
    """Why held-out accuracy moved between two versions, when it did: most often the held-out set
    itself changed (new labels are held out in turn), so the two figures were measured on different
    faces; only on the same faces did the model itself get better or worse."""
    a0, a1 = before.metrics.get("accuracy"), after.metrics.get("accuracy")
    if a0 is None or a1 is None or round(a0, 3) == round(a1, 3):
        return ""
    said = f"Held-out accuracy went from {pct(a0)} (version {before.version}) to {pct(a1)} (version {after.version})"
    d0, d1 = before.metrics.get("held_out_digest"), after.metrics.get("held_out_digest")
    if d0 and d0 == d1:
        return f"{said} on the same held-out faces: the model itself changed."
    p0, p1 = before.metrics.get("per_persona") or {}, after.metrics.get("per_persona") or {}
    n0, n1 = int(before.metrics.get("held_out_faces") or 0), int(after.metrics.get("held_out_faces") or 0)
    new_people = sorted(set(p1) - set(p0))
    changed = {
        name: p1[name].get("support", 0) - p0[name].get("support", 0)
        for name in sorted(set(p1) & set(p0))
        if p1[name].get("support") != p0[name].get("support")
    }
    parts = [f"{n1 - n0:+d} faces ({n0} → {n1})"]
    if new_people:
        parts.append("new people: " + ", ".join(md(name) for name in new_people))
    if changed:
        parts.append("; ".join(f"{md(name)} {delta:+d}" for name, delta in changed.items()))
    if gone := sorted(set(p0) - set(p1)):
        parts.append("no longer held out: " + ", ".join(md(name) for name in gone))
    return f"{said}, measured on a different held-out set: {', '.join(parts)}."


def _prediction_and_training_blocks(model: actions.ModelStatus) -> list[str]:
    blocks = []
    update, promoted = model.prediction_update, model.serving
    if update:
        behind = model.labels_since_predictions
        pinned_here = model.serving_state and model.serving_state.pin and promoted.version == update["model_version"]
        if behind == 0:
            lag = "they reflect every label."
        elif pinned_here:
            lag = (
                f"{behind} later label(s) are not in the pinned version (a new version trained on them lifts the pin)."
            )
        else:
            lag = f"{behind} newer label(s) are not reflected yet."
        blocks.append(
            f"**Predictions** last updated {when(update['updated_at'])} by version {update['model_version']} "
            f"for {update['faces']} faces; {lag}"
        )
    else:
        blocks.append("**Predictions:** none yet.")
    if model.training_problem:
        serving = f"version {promoted.version} keeps serving" if promoted else "no classifier serves yet"
        blocks.append(f"**Last training did not give a new classifier** ({serving}): {md(model.training_problem)}")
    latest = model.latest
    pinned = model.serving_state is not None and model.serving_state.pinned
    if latest and promoted and latest.version != promoted.version and not is_failed_attempt(latest) and not pinned:
        verdict = {None: "is being checked", False: "did not pass the quality gate"}.get(latest.passed_gate, "passed")
        blocks.append(
            f"Newest version {latest.version} ({when(latest.created_at)}) {verdict}: held-out accuracy "
            f"{pct(latest.metrics.get('accuracy'))} (minimum {pct(latest.metrics.get('gate_min_accuracy'))}); "
            f"version {promoted.version} keeps serving."
        )
        if change := held_out_change(promoted, latest):
            blocks.append(change)
    return blocks
