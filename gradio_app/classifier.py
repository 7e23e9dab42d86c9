"""The Classifier tab's domain: what is serving and how current it is (also read by the header),
every version with its figures, gate verdict and confusion matrix, and the words for a
labeler's pin. No Gradio in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assets.core.learning.gate import gate_verdict, is_failed_attempt, pin_words, serving_note, training_problem
from assets.core.learning.metrics import confusion_matrix_of, short_names
from gradio_app.adapters import dagster_status
from gradio_app.formatting import md, num, pct, table, when
from resources.state_store.ports import ClassifierStatus
from resources.state_store.records import ModelVersion, Serving, ServingEvent
from resources.state_store.rules import teaches_the_model

if TYPE_CHECKING:
    from gradio_app.context import AppContext

RESUMES = "automatic promotion resumes when a new version passes the quality gate"

# -- what is serving, and how current it is ---------------------------------------------------


@dataclass(frozen=True)
class ModelStatus:
    promoted: ModelVersion | None  # the quality gate's choice (a pin may serve another)
    latest: ModelVersion | None  # newest version, promoted or not
    label_watermark: int
    labels_since_model: int  # label events the serving model has not seen
    prediction_update: dict | None
    labels_since_predictions: int  # label events the stored predictions do not reflect yet
    faces: int
    training_problem: str | None = None  # why the newest training or gate gave no serving classifier
    serving_state: Serving | None = None  # which version serves, and the pin if one holds

    @property
    def serving(self) -> ModelVersion | None:
        """The version predictions come from: a labeler's pin, else the promoted one."""
        return self.serving_state.model if self.serving_state else self.promoted


def model_status(store: ClassifierStatus) -> ModelStatus:
    """Which version serves and how far the model and the predictions are behind the labels."""
    state = store.serving()
    promoted, serving = state.promoted, state.model
    latest = store.latest_model()
    update = store.latest_prediction_update()
    model_mark = serving.label_watermark if serving else 0
    prediction_mark = update["label_watermark"] if update else 0
    events = [e for e in store.label_events(since=min(model_mark, prediction_mark)) if teaches_the_model(e)]
    return ModelStatus(
        promoted=promoted,
        latest=latest,
        label_watermark=store.label_watermark(),
        labels_since_model=sum(1 for e in events if (e.seq or 0) > model_mark),
        prediction_update=update,
        labels_since_predictions=sum(1 for e in events if (e.seq or 0) > prediction_mark),
        faces=len(store.faces()),
        training_problem=training_problem(latest),
        serving_state=state,
    )


@dataclass(frozen=True)
class PageStatus:
    """The model, prediction and retrain status of one moment: one read for header and tab alike."""

    model: ModelStatus
    retrain: dagster_status.RetrainStatus
    graphql_url: str


def page_status(ctx: AppContext) -> PageStatus:
    """The store and Dagster asked once, so the header and the Classifier tab never disagree."""
    return PageStatus(
        model_status(ctx.state_store),
        dagster_status.retrain_status(ctx.dagster_graphql_url, timeout_s=1.5),
        ctx.dagster_graphql_url,
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


def _prediction_and_training_blocks(model: ModelStatus) -> list[str]:
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


# -- every version, and the pin ----------------------------------------------------------------


def version_choices(versions: Sequence[ModelVersion], state: Serving | None) -> list[tuple[str, int]]:
    """Dropdown entries, newest first: 'v3 · 96.7% · passed · serving'."""
    choices = []
    for v in sorted(versions, key=lambda v: -v.version):
        parts = [f"v{v.version}", pct(v.metrics.get("accuracy")), gate_short(v)]
        if words := serving_words(v, state).replace("**", ""):
            parts.append(words)
        choices.append((" · ".join(parts), v.version))
    return choices


def can_serve(version: ModelVersion | None, state: Serving | None) -> bool:
    """A trained version that is not serving already (a failed attempt has nothing to serve)."""
    serving = state.model if state else None
    return (
        version is not None
        and not is_failed_attempt(version)
        and (serving is None or serving.version != version.version)
    )


def version_detail(version: ModelVersion, state: Serving | None) -> str:
    """One version: what it learned from, how good it is, the gate, serving, its confusion matrix."""
    m = version.metrics
    blocks = [
        f"### Version {version.version}"
        + (f" — {serving_words(version, state)}" if serving_words(version, state) else ""),
        f"Trained {when(version.created_at)} on **{m.get('labeled_faces', '–')} labeled faces** of "
        f"**{m.get('personas', '–')} people** (labels up to #{version.label_watermark}).",
        figures_table(m, "Quality gate", gate_words(version)),
    ]
    blocks.append("**Confusion matrix** (held-out faces)\n\n" + confusion_words(m))
    return "\n\n".join(blocks)


def figures_table(metrics: dict, last_header: str, last_cell: str) -> str:
    """A version's held-out figures as one table row, the last column chosen by the view."""
    cells = [pct(metrics.get("accuracy")), num(metrics.get("macro_f1")), num(metrics.get("macro_auc"))]
    return table(
        ["Accuracy", "Macro F1", "Macro AUC", "Faces held out", last_header],
        [[*cells, str(metrics.get("held_out_faces", "–")), last_cell]],
    )


def confusion_words(metrics: dict) -> str:
    """The matrix as a table: rows the person labeled, columns the person predicted (short names)."""
    confusion = metrics.get("confusion")
    if not confusion:
        if metrics.get("held_out_faces"):
            return "_Not kept for this version (trained before FaceLoop kept confusion matrices)._"
        return "_No held-out faces: nothing to compare._"
    names, matrix = confusion["personas"], confusion_matrix_of(confusion)
    codes = short_names(names)
    rows = [
        [
            f"**{codes[i]}** {md(name)}",
            *[f"**{n}**" if i == j and n else (str(n) if n else "·") for j, n in enumerate(row)],
        ]
        for i, (name, row) in enumerate(zip(names, matrix.tolist(), strict=True))
    ]
    return table(["labeled ↓ / predicted →", *codes], rows)


def gate_short(version: ModelVersion) -> str:
    """The quality gate's verdict in a word or two, for tables and lists."""
    if is_failed_attempt(version):
        return "failed to train"
    return {None: "not checked", True: "passed", False: "failed"}[version.passed_gate]


def gate_words(version: ModelVersion) -> str:
    """The quality gate's verdict with its reason, once."""
    if is_failed_attempt(version):
        return f"failed to train: {md(version.metrics.get('training_error', 'no classifier'))}"
    if version.passed_gate is None:
        return "not checked yet"
    _, reason = gate_verdict(version.metrics, checked_version_serves=not version.passed_gate)
    return f"{'passed' if version.passed_gate else 'failed'}: {md(reason)}"


def serving_words(version: ModelVersion, state: Serving | None) -> str:
    """The version's part in serving: serving (pinned or promoted), promoted but pinned over, or none."""
    serving = state.model if state else None
    if serving is not None and serving.version == version.version:
        return "**serving** (pinned)" if state.pinned else "**serving**"
    if version.promoted:
        return "promoted (a pinned version serves)"
    return ""


def pin_line(state: Serving | None) -> str | None:
    """What a person should know about a pin: the one that holds, or the one a new version lifted."""
    if state is None:
        return None
    if state.pin is not None:
        return f"{pinned_by(state.pin)}; {RESUMES}."
    if state.lifted_pin is not None and state.model is not None:
        return f"The pin ({pinned_by(state.lifted_pin)}) was lifted: v{state.model.version} passed the quality gate."
    return None


def pinned_by(pin: ServingEvent) -> str:
    """'v1 pinned by ada 2026-01-02 10:00 (3 minutes ago)': the gate's words for a pin (no name when
    the app has no login), Markdown-safe, and when."""
    return f"{md(pin_words(pin))} {when(pin.created_at)}"
