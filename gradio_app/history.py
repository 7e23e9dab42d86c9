"""The Classifier tab's history: every version with its labels, figures, gate verdict, serving
state and confusion matrix, and the words for a labeler's pin (no Gradio in here)."""

from __future__ import annotations

from collections.abc import Sequence

from assets.core.learning.gate import gate_verdict, is_failed_attempt
from assets.core.learning.metrics import confusion_matrix_of, short_names
from gradio_app.formatting import md, num, pct, table, when
from resources.state_store.records import ModelVersion, Serving, ServingEvent

RESUMES = "automatic promotion resumes when a new version passes the quality gate"


def pinned_by(pin: ServingEvent) -> str:
    """'v1 pinned by ada 2026-01-02 10:00 (3 minutes ago)' (no name when the app has no login)."""
    who = f" by {md(pin.actor)}" if pin.actor else ""
    return f"v{pin.version} pinned{who} {when(pin.created_at)}"


def pin_line(state: Serving | None) -> str | None:
    """What a person should know about a pin: the one that holds, or the one a new version lifted."""
    if state is None:
        return None
    if state.pin is not None:
        return f"{pinned_by(state.pin)}; {RESUMES}."
    if state.lifted_pin is not None and state.model is not None:
        return f"The pin ({pinned_by(state.lifted_pin)}) was lifted: v{state.model.version} passed the quality gate."
    return None


def serving_words(version: ModelVersion, state: Serving | None) -> str:
    """The version's part in serving: serving (pinned or promoted), promoted but pinned over, or none."""
    serving = state.model if state else None
    if serving is not None and serving.version == version.version:
        return "**serving** (pinned)" if state.pinned else "**serving**"
    if version.promoted:
        return "promoted (a pinned version serves)"
    return ""


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


def figures_table(metrics: dict, last_header: str, last_cell: str) -> str:
    """A version's held-out figures as one table row, the last column chosen by the view."""
    cells = [pct(metrics.get("accuracy")), num(metrics.get("macro_f1")), num(metrics.get("macro_auc"))]
    return table(
        ["Accuracy", "Macro F1", "Macro AUC", "Faces held out", last_header],
        [[*cells, str(metrics.get("held_out_faces", "–")), last_cell]],
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
