"""The labeling app's layout: Gradio Blocks wired to the plain functions in ``actions``.

Handlers here only translate between widgets and actions (ids, names, pictures, messages);
what a click *means* lives in ``actions``/``uploads`` where it is unit-tested.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import datetime as dt
import functools
import io
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageOps

from assets.classifier.gate import is_failed_attempt, serving_note
from gradio_app import actions, dagster_status
from gradio_app.actions import ActionError, ReviewItem, Snapshot
from gradio_app.components import GRID_CSS, Tile, confidence_tone, face_grid, grid_value, selected_ids, thumbnail_src
from gradio_app.uploads import UploadLimits, add_from_url, add_photos
from gradio_app.url_fetch import FetchPolicy, SafeFetcher
from resources.artifact_store import ArtifactStore
from resources.face_engine import FaceEngine
from resources.image_source import ImageSource
from resources.image_source.base import SourceError
from resources.state_store import StateStore

MAX_TILES = 300  # per grid; more would make the page slow without helping anyone
# The open view asks the store this often whether a newer prediction update landed (one small
# read; nothing is re-rendered unless it did).
PREDICTIONS_POLL_S = float(os.environ.get("FACELOOP_UI_PREDICTIONS_POLL_S", "1"))
RECENT_LABEL_S = 120  # "N s after your label" only when the update came this soon after it
FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]

APP_CSS = (
    GRID_CSS
    + """
.fl-header h1 { margin: 0; font-size: 1.6rem; }
.fl-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); }
.fl-chip { display: inline-block; padding: 2px 10px; border-radius: 999px; background: var(--color-accent-soft);
  font-size: 13px; margin-right: 6px; }
#review-question h2 { margin-top: 0; }
.fl-actions { align-items: flex-end !important; }
.fl-actions > button { align-self: flex-end; min-height: 44px; }
#persona-table { --font-mono: var(--font); }
.fl-status p { margin: 6px 0; }
.fl-keys { color: var(--body-text-color-subdued); font-size: 13px; }
.fl-tile.fl-pending img { opacity: .45; }
.fl-tile.fl-pending::after { content: attr(data-state); position: absolute; left: 0; right: 0; bottom: 22px;
  padding: 2px 0; background: rgba(15, 23, 42, .78); color: white; font-size: 12px; font-weight: 600; }
.fl-keys kbd { border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 5px; font-size: 12px; }
"""
)

# Y / N / S answer the review card, unless the person is typing somewhere.
KEYBOARD_JS = """
<script>
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  const target = event.target;
  if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
  const id = {y: 'review-yes', n: 'review-no', s: 'review-skip'}[event.key.toLowerCase()];
  const button = id && document.getElementById(id);
  if (button && button.offsetParent !== null && !button.disabled) { event.preventDefault(); button.click(); }
});
</script>
"""


@dataclass
class AppContext:
    """The stores the app works on (the same resources the Dagster assets get) and its settings."""

    state_store: StateStore
    artifact_store: ArtifactStore
    image_source: ImageSource
    face_engine: FaceEngine
    fetch_policy: FetchPolicy = field(default_factory=FetchPolicy.from_env)
    upload_limits: UploadLimits = field(default_factory=UploadLimits.from_env)
    dagster_graphql_url: str = field(default_factory=dagster_status.graphql_url)
    classifier_cache: actions.ClassifierCache = field(default_factory=actions.ClassifierCache)
    _image_keys: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_resources(cls, resources: dict, **settings: Any) -> AppContext:
        """The app on the same resources the Dagster assets get (``resources_for_deployment()``)."""
        stores = ("state_store", "artifact_store", "image_source", "face_engine")
        return cls(**{name: resources[name] for name in stores}, **settings)

    @property
    def space(self) -> str:
        return self.face_engine.embedding_space

    def image_key(self, image_id: str) -> str | None:
        with self._lock:
            if image_id not in self._image_keys:
                self._image_keys.update({i.image_id: i.key for i in self.state_store.images()})
            return self._image_keys.get(image_id)

    def tiles(self, snap: Snapshot, items: list[actions.FaceItem], show_name: bool = False) -> list[Tile]:
        records = actions.face_records(self.state_store, [i.face_id for i in items])
        tiles = []
        for item in items:
            record = records.get(item.face_id)
            if record is None:
                continue
            badge = f"{round(item.confidence * 100)}%" if item.confidence is not None else ""
            caption = snap.name(item.persona_id) if show_name and item.persona_id is not None else ""
            if show_name and item.persona_id is None and item.candidate_persona_id is not None:
                caption = f"maybe {snap.name(item.candidate_persona_id)}?"
            tiles.append(
                Tile(
                    face_id=item.face_id,
                    src=thumbnail_src(self.artifact_store, record.thumbnail_key),
                    caption=caption,
                    badge=badge,
                    tone=confidence_tone(item.confidence),
                    title=self.image_key(record.image_id) or record.face_id,
                )
            )
        return tiles


def _actor(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) or None


def friendly(handler):
    """Refusals become a readable message in the page; nothing was written."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except ActionError as exc:
            raise gr.Error(str(exc), title="Not done") from None

    return wrapper


def persona_choices(snap: Snapshot) -> list[tuple[str, int]]:
    return [(p.name, p.persona_id) for p in snap.active_personas()]


def _target(value) -> dict:
    """A dropdown value: an existing persona id, or a name typed by the person."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return {"persona_id": int(value)}
    if isinstance(value, str) and value.strip():
        return {"name": value}
    raise ActionError("choose a person, or type a new name, first")


def _face_picture(ctx: AppContext, face_id: str) -> Image.Image | None:
    records = actions.face_records(ctx.state_store, [face_id])
    record = records.get(face_id)
    if record is None:
        return None
    try:
        face = Image.open(io.BytesIO(ctx.artifact_store.get(record.thumbnail_key))).convert("RGB")
    except (KeyError, OSError):
        return None
    scale = 224 / max(face.size)  # thumbnails are small; show the face big enough to judge
    return face.resize((round(face.width * scale), round(face.height * scale)), Image.Resampling.LANCZOS)


def _photo_with_box(ctx: AppContext, face_id: str, max_side: int = 720) -> Image.Image | None:
    """The whole photo, the face framed: people recognise faces far better in context."""
    record = actions.face_records(ctx.state_store, [face_id]).get(face_id)
    key = ctx.image_key(record.image_id) if record else None
    if key is None:
        return None
    try:
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(ctx.image_source.read_bytes(key)))).convert("RGB")
    except (SourceError, OSError):
        return None
    x, y, w, h = record.box
    draw = ImageDraw.Draw(image)
    width = max(3, round(max(image.size) / 200))
    draw.rectangle([x - width, y - width, x + w + width, y + h + width], outline=(250, 204, 21), width=width)
    image.thumbnail((max_side, max_side))
    return image


def _examples_html(ctx: AppContext, snap: Snapshot, persona_id: int, limit: int = 6) -> dict:
    items = actions.labeled_faces(snap, persona_id)[:limit]
    tiles = ctx.tiles(snap, items)
    return grid_value(tiles, selectable=False, empty="Nobody labeled this person yet.")


# -- status -----------------------------------------------------------------------------------


def _when(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    stamp = dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
    return f"{stamp} ({actions.ago(timestamp)})"


def _pct(value) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, int | float) else "–"


def _num(value) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "–"


def md(text: str) -> str:
    """User text (persona names) shown literally in Markdown: no links, emphasis or broken tables."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", str(text))


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def status_markdown(ctx: AppContext) -> str:
    """The Classifier tab: what is serving, how good it is, and how far behind the labels it is."""
    status = actions.model_status(ctx.state_store)
    retrain = dagster_status.retrain_status(ctx.dagster_graphql_url)
    ui = dagster_status.ui_url(ctx.dagster_graphql_url)
    blocks = []
    promoted = status.promoted
    if promoted is None:
        blocks += [
            "### No classifier is serving yet",
            "Label faces of at least one person (in **Unknown faces** or **People**); "
            "the pipeline trains one as soon as there are enough labels.",
        ]
    else:
        m = promoted.metrics
        blocks += [
            f"### Serving classifier: version {promoted.version}",
            f"Trained {_when(promoted.created_at)} on **{m.get('labeled_faces', '?')} labeled faces** "
            f"of **{m.get('personas', '?')} people**.",
            _table(
                ["Accuracy", "Macro F1", "Macro AUC", "Faces held out", "Unknowns rejected"],
                [
                    [
                        _pct(m.get("accuracy")),
                        _num(m.get("macro_f1")),
                        _num(m.get("macro_auc")),
                        str(m.get("held_out_faces", "–")),
                        _pct(m.get("impostor_rejected")),
                    ]
                ],
            ),
        ]
        if note := serving_note(promoted):
            blocks.append(f"**{md(note)}**")
    blocks.append(f"**{status.labels_since_model} new label(s)** since this classifier was trained.")
    retrain_line = f"**Retrain:** {retrain.summary()}"
    if not retrain.reachable:
        retrain_line += f" at `{ctx.dagster_graphql_url}`"
    blocks.append(retrain_line + f" · [Open the Dagster UI]({ui}/runs)")
    update = status.prediction_update
    if update:
        behind = status.labels_since_predictions
        blocks.append(
            f"**Predictions** last updated {_when(update['updated_at'])} by version {update['model_version']} "
            f"for {update['faces']} faces; "
            + ("they reflect every label." if behind == 0 else f"{behind} newer label(s) are not reflected yet.")
        )
    else:
        blocks.append("**Predictions:** none yet.")
    if status.training_problem:
        serving = f"version {promoted.version} keeps serving" if promoted else "no classifier serves yet"
        blocks.append(f"**Last training did not give a new classifier** ({serving}): {md(status.training_problem)}")
    latest = status.latest
    if latest and promoted and latest.version != promoted.version and not is_failed_attempt(latest):
        verdict = {None: "is being checked", False: "did not pass the quality gate"}.get(latest.passed_gate, "passed")
        blocks.append(
            f"Newest version {latest.version} ({_when(latest.created_at)}) {verdict}: held-out accuracy "
            f"{_pct(latest.metrics.get('accuracy'))} (minimum {_pct(latest.metrics.get('gate_min_accuracy'))}); "
            f"version {promoted.version} keeps serving."
        )
    per_persona = promoted.metrics.get("per_persona") if promoted else None
    if per_persona:
        rows = [
            [md(name), _num(r.get("precision")), _num(r.get("recall")), _num(r.get("f1")), str(r.get("support", "–"))]
            for name, r in sorted(per_persona.items())
        ]
        blocks += [
            "<details><summary>Per person (held-out faces)</summary>",
            _table(["Person", "Precision", "Recall", "F1", "Labels"], rows),
            "</details>",
        ]
    return "\n\n".join(blocks)


def header_html(ctx: AppContext) -> str:
    status = actions.model_status(ctx.state_store)
    retrain = dagster_status.retrain_status(ctx.dagster_graphql_url, timeout_s=1.5)
    chips = []
    if status.promoted:
        chips.append(
            f"Classifier v{status.promoted.version} · {_pct(status.promoted.metrics.get('accuracy'))} accurate"
        )
    else:
        chips.append("No classifier yet")
    chips.append(f"{status.labels_since_model} new label(s) since training")
    chips.append(retrain.summary())
    chip_html = "".join(f'<span class="fl-chip">{c}</span>' for c in chips) + predictions_chip(ctx, status)
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
    if status.labels_since_predictions:
        text = f"learning {status.labels_since_predictions} new label(s)…"
    else:
        mine = [e for e in ctx.state_store.label_events(since=max(0, watermark - 200)) if e.source == "app"]
        lag = update["updated_at"] - mine[-1].created_at if mine and mine[-1].created_at else None
        recent = lag is not None and lag < RECENT_LABEL_S
        when = _when(update["updated_at"])
        text = f"predictions updated {lag:.1f} s after your label" if recent else f"predictions {when}"
    return (
        f'<span class="fl-chip" id="fl-predictions" data-watermark="{watermark}" '
        f'data-model="{int(update["model_version"])}">{text}</span>'
    )


def prediction_update_key(store: StateStore) -> list | None:
    """What identifies the prediction update a page shows (JSON-friendly, for a gr.State)."""
    update = store.latest_prediction_update()
    return None if update is None else [update["model_version"], update["label_watermark"], update["updated_at"]]


def mark_selected_js(grid_id: str, state: str) -> str:
    """Browser-side, before the server answers: the selected tiles of ``grid_id`` show ``state`` at once."""
    return (
        "(...args) => { document.querySelectorAll('#" + grid_id + " .fl-tile.fl-sel').forEach((tile) => {"
        " tile.classList.add('fl-pending'); tile.dataset.state = " + json.dumps(state) + "; }); return args; }"
    )


def keep_selection(fresh: dict, previous: dict | None) -> dict:
    """A re-rendered grid keeps the faces a person had selected (those still in it)."""
    shown = {face["id"] for face in fresh["faces"]}
    chosen = [i for i in (previous or {}).get("selected", []) if i in shown]
    return {**fresh, "selected": chosen} if chosen else fresh


# -- the app ----------------------------------------------------------------------------------


def build_app(ctx: AppContext) -> gr.Blocks:
    fetcher = SafeFetcher(ctx.fetch_policy)

    with gr.Blocks(title="FaceLoop", analytics_enabled=False) as demo:
        header = gr.HTML(elem_id="fl-header")

        with gr.Tabs(elem_id="fl-tabs"):
            # ---------------------------------------------------------------- review
            with gr.Tab("Review", id="review", elem_id="tab-review") as review_tab:
                review_state = gr.State({"item": None, "skipped": [], "done": 0})
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=300):
                        review_face = gr.Image(
                            label="Face", height=240, interactive=False, buttons=[], elem_id="review-face"
                        )
                        review_photo = gr.Image(
                            label="In the photo", height=300, interactive=False, buttons=["fullscreen"]
                        )
                    with gr.Column(scale=3, min_width=360):
                        review_question = gr.Markdown(elem_id="review-question")
                        with gr.Row():
                            yes_btn = gr.Button("✓ Yes", variant="primary", elem_id="review-yes")
                            no_btn = gr.Button("✗ No", variant="stop", elem_id="review-no")
                            skip_btn = gr.Button("Skip", variant="secondary", elem_id="review-skip")
                        gr.HTML(
                            '<p class="fl-keys">Keyboard: <kbd>Y</kbd> yes · <kbd>N</kbd> no · <kbd>S</kbd> skip</p>'
                        )
                        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
                            other_dd = gr.Dropdown(
                                label="It is someone else",
                                info="Pick a person, or type a new name",
                                allow_custom_value=True,
                                scale=3,
                                elem_id="review-other",
                            )
                            other_btn = gr.Button("Save", scale=1, elem_id="review-other-save")
                        gr.Markdown("**Faces already labeled as this person**")
                        review_examples = face_grid("review-examples")
                        review_progress = gr.Markdown(elem_id="review-progress")

            # ---------------------------------------------------------------- people
            with gr.Tab("People", id="people", elem_id="tab-people") as people_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=380):
                        persona_table = gr.Dataframe(
                            headers=["Person", "Labeled", "Predicted"],
                            datatype=["str", "number", "number"],
                            interactive=False,
                            label="People (click one)",
                            elem_id="persona-table",
                            column_widths=["52%", "24%", "24%"],
                            wrap=True,
                            max_height=520,
                        )
                        with gr.Accordion("Add, rename or merge people", open=False, elem_id="persona-admin"):
                            new_name = gr.Textbox(label="New person", placeholder="Name", elem_id="new-persona")
                            create_btn = gr.Button("Add person", elem_id="create-persona")
                            rename_box = gr.Textbox(label="Rename the chosen person to", elem_id="rename-persona")
                            rename_btn = gr.Button("Rename", elem_id="rename-btn")
                            merge_dd = gr.Dropdown(label="Merge the chosen person into", elem_id="merge-into")
                            merge_btn = gr.Button("Merge", variant="stop", elem_id="merge-btn")
                    with gr.Column(scale=3, min_width=480):
                        persona_pick = gr.Dropdown(label="Person", elem_id="persona-pick")
                        persona_title = gr.Markdown(elem_id="persona-title")
                        gr.Markdown(
                            "#### Predicted — least sure first\nClick faces to select them, then say what they are."
                        )
                        predicted_grid = face_grid("predicted-grid")
                        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
                            confirm_btn = gr.Button(
                                "✓ Confirm selected", variant="primary", elem_id="confirm-btn", scale=2, min_width=220
                            )
                            reject_btn = gr.Button(
                                "✗ Not this person", variant="stop", elem_id="reject-btn", scale=2, min_width=180
                            )
                            move_dd = gr.Dropdown(
                                label="…or move selected to",
                                allow_custom_value=True,
                                elem_id="move-predicted",
                                scale=3,
                            )
                            move_btn = gr.Button("Move", elem_id="move-btn")
                        gr.Markdown("#### Labeled by people")
                        labeled_grid = face_grid("labeled-grid")
                        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
                            remove_btn = gr.Button(
                                "Remove label of selected", elem_id="remove-btn", scale=2, min_width=220
                            )
                            move_labeled_dd = gr.Dropdown(
                                label="…or move selected to",
                                allow_custom_value=True,
                                elem_id="move-labeled",
                                scale=3,
                            )
                            move_labeled_btn = gr.Button("Move", elem_id="move-labeled-btn")

            # ---------------------------------------------------------------- unknown faces
            with gr.Tab("Unknown faces", id="unknown", elem_id="tab-unknown") as unknown_tab:
                clusters_state = gr.State([])
                gr.Markdown(
                    "Faces nobody has named, in groups that look alike. Pick a group, leave out faces that do not "
                    "belong (click them), and name the rest at once."
                )
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1, min_width=260):
                        cluster_covers = gr.Gallery(
                            label="Groups (largest first)",
                            columns=3,
                            height=520,
                            allow_preview=False,
                            object_fit="cover",
                            fit_columns=False,
                            elem_id="cluster-covers",
                        )
                    with gr.Column(scale=3, min_width=480):
                        cluster_title = gr.Markdown(elem_id="cluster-title")
                        cluster_grid = face_grid("cluster-grid")
                        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
                            cluster_name = gr.Dropdown(
                                label="Who is this?",
                                info="Type a new name, or pick a person",
                                allow_custom_value=True,
                                elem_id="cluster-name",
                                scale=3,
                            )
                            cluster_btn = gr.Button("Name selected faces", variant="primary", elem_id="cluster-btn")
                cluster_index = gr.State(0)

            # ---------------------------------------------------------------- add photos
            with gr.Tab("Add photos", id="add", elem_id="tab-add"):
                gr.Markdown(
                    f"Photos you add here are picked up by the pipeline and show up in **Review** once their "
                    f"faces are found. Up to {ctx.upload_limits.max_bytes // (1024 * 1024)} MB per photo; "
                    "JPEG, PNG, WebP, GIF, BMP or TIFF."
                )
                with gr.Row(equal_height=False):
                    with gr.Column():
                        upload_files = gr.File(
                            label="Photos from your computer", file_count="multiple", elem_id="upload-files"
                        )
                        upload_btn = gr.Button("Add these photos", variant="primary", elem_id="upload-btn")
                    with gr.Column():
                        url_box = gr.Textbox(
                            label="…or a photo or web page address",
                            placeholder="https://example.org/team.html",
                            elem_id="url-box",
                        )
                        url_btn = gr.Button("Fetch photos", variant="primary", elem_id="url-btn")
                upload_results = gr.Dataframe(
                    headers=["Photo", "Result"], interactive=False, label="What happened", elem_id="upload-results"
                )

            # ---------------------------------------------------------------- find similar
            with gr.Tab("Find similar", id="similar", elem_id="tab-similar"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        query_image = gr.Image(
                            label="Drop a photo", type="filepath", sources=["upload", "clipboard"], elem_id="query"
                        )
                        find_btn = gr.Button("Who is this?", variant="primary", elem_id="find-btn")
                    with gr.Column(scale=3):
                        found_image = gr.AnnotatedImage(label="Faces found", height=420, elem_id="found-image")
                        found_text = gr.Markdown(elem_id="found-text")
                gr.Markdown("#### Nearest labeled faces")
                neighbours_grid = face_grid("neighbours-grid", grid_value([], selectable=False))

            # ---------------------------------------------------------------- classifier
            with gr.Tab("Classifier", id="status", elem_id="tab-status") as status_tab:
                status_md = gr.Markdown(elem_id="status-md", elem_classes=["fl-status"])
                with gr.Row():
                    refresh_btn = gr.Button("Refresh", size="sm", scale=0, min_width=120, elem_id="status-refresh")

        timer = gr.Timer(30)
        predictions_timer = gr.Timer(PREDICTIONS_POLL_S)
        shown_update = gr.State(None)  # prediction_update_key of what the page shows
        open_tab = gr.State("review")

        # ============================================================ handlers: review
        def show_review(state: dict):
            snap = actions.snapshot(ctx.state_store)
            queue = actions.review_queue(snap, limit=0, skip=state["skipped"])
            choices = persona_choices(snap)
            progress = f"**{len(queue)}** face(s) to review · {state['done']} answered in this session"
            if not queue:
                state = {**state, "item": None}
                message = (
                    "## Nothing to review right now 🎉\nEvery predicted face is labeled, or skipped. "
                    "New predictions arrive after the next retrain; unnamed faces wait in **Unknown faces**."
                )
                return (
                    state,
                    None,
                    None,
                    message,
                    grid_value([], selectable=False),
                    gr.update(choices=choices, value=None),
                    progress,
                    *(gr.update(interactive=False),) * 3,
                )
            item = queue[0]
            name = snap.name(item.persona_id)
            sure = round(item.confidence * 100)
            if item.unknown:
                question = (
                    f"## Is this **{md(name)}**?\nFaceLoop does not recognise this face; its best guess is "
                    f"{md(name)} ({sure}% among the people it knows)."
                )
            else:
                question = f"## Is this **{md(name)}**?\nFaceLoop thinks so, {sure}% sure."
            state = {**state, "item": asdict(item)}
            return (
                state,
                _face_picture(ctx, item.face_id),
                _photo_with_box(ctx, item.face_id),
                question,
                _examples_html(ctx, snap, item.persona_id),
                gr.update(choices=choices, value=None),
                progress,
                gr.update(value=f"✓ Yes, {name}", interactive=True),
                gr.update(interactive=True),
                gr.update(interactive=True),
            )

        review_outputs = [
            review_state,
            review_face,
            review_photo,
            review_question,
            review_examples,
            other_dd,
            review_progress,
            yes_btn,
            no_btn,
            skip_btn,
        ]

        @friendly
        def answer(state: dict, kind: str, other, request: gr.Request):
            if not state.get("item"):
                raise ActionError("there is no face to answer; reload the page")
            item = ReviewItem(**state["item"])
            if kind == "skip":
                state = {**state, "skipped": [*state["skipped"], item.face_id]}
            else:
                outcome = actions.answer_review(
                    ctx.state_store,
                    item,
                    kind,
                    **({"other": _other_value(other)} if kind == "other" else {}),
                    actor=_actor(request),
                )
                if kind == "other":
                    gr.Info(f"Saved as {outcome}")
                state = {**state, "done": state["done"] + 1}
            return show_review(state)

        def _other_value(value):
            target = _target(value)
            return target.get("persona_id", target.get("name"))

        def on_yes(state: dict, request: gr.Request):
            return answer(state, "yes", None, request)

        def on_no(state: dict, request: gr.Request):
            return answer(state, "no", None, request)

        def on_skip(state: dict, request: gr.Request):
            return answer(state, "skip", None, request)

        def on_other(state: dict, other, request: gr.Request):
            return answer(state, "other", other, request)

        yes_btn.click(on_yes, review_state, review_outputs).success(lambda: header_html(ctx), None, header)
        no_btn.click(on_no, review_state, review_outputs).success(lambda: header_html(ctx), None, header)
        skip_btn.click(on_skip, review_state, review_outputs)
        other_btn.click(on_other, [review_state, other_dd], review_outputs).success(
            lambda: header_html(ctx), None, header
        )

        # ============================================================ handlers: people
        def people_view(persona_id, notice: str = ""):
            snap = actions.snapshot(ctx.state_store)
            summaries = actions.persona_summaries(snap)
            table = [[s.name, s.labeled, s.predicted] for s in summaries]
            choices = persona_choices(snap)
            ids = {s.persona_id for s in summaries}
            if persona_id is not None and snap.resolve(int(persona_id)) in ids:
                persona_id = snap.resolve(int(persona_id))
            else:
                persona_id = summaries[0].persona_id if summaries else None
            if persona_id is None:
                empty = grid_value([], empty="No people yet: add one, or name a group in Unknown faces.")
                return (
                    table,
                    gr.update(choices=choices, value=None),
                    "### No people yet",
                    empty,
                    empty,
                    gr.update(choices=[]),
                    gr.update(choices=choices),
                    gr.update(choices=choices),
                )
            name = snap.name(persona_id)
            predicted = actions.predicted_faces(snap, persona_id)
            labeled = actions.labeled_faces(snap, persona_id)
            title = f"### {md(name)}\n{len(labeled)} labeled by people · {len(predicted)} predicted" + (
                f"\n\n**{notice}**" if notice else ""
            )
            note = f"showing the {MAX_TILES} least sure of {len(predicted)}" if len(predicted) > MAX_TILES else ""
            predicted_value = grid_value(
                ctx.tiles(snap, predicted[:MAX_TILES]),
                empty=f"No face is predicted as {name} right now.",
                note=note,
            )
            labeled_value = grid_value(
                ctx.tiles(snap, labeled[:MAX_TILES]),
                empty=f"Nobody labeled a face as {name} yet.",
                note=f"showing {MAX_TILES} of {len(labeled)}" if len(labeled) > MAX_TILES else "",
            )
            others = [c for c in choices if c[1] != persona_id]
            return (
                table,
                gr.update(choices=choices, value=persona_id),
                title,
                predicted_value,
                labeled_value,
                gr.update(choices=others, value=None),
                gr.update(choices=others, value=None),
                gr.update(choices=others, value=None),
            )

        people_outputs = [
            persona_table,
            persona_pick,
            persona_title,
            predicted_grid,
            labeled_grid,
            merge_dd,
            move_dd,
            move_labeled_dd,
        ]

        def pick_from_table(event: gr.SelectData):
            snap = actions.snapshot(ctx.state_store)
            summaries = actions.persona_summaries(snap)
            row = event.index[0] if isinstance(event.index, list | tuple) else event.index
            persona_id = summaries[row].persona_id if 0 <= row < len(summaries) else None
            return people_view(persona_id)

        persona_table.select(pick_from_table, None, people_outputs)
        persona_pick.input(lambda pid: people_view(pid), persona_pick, people_outputs)

        def _need_persona(persona_id) -> int:
            if persona_id is None:
                raise ActionError("choose a person first")
            return int(persona_id)

        @friendly
        def do_confirm(persona_id, grid, request: gr.Request):
            persona_id = _need_persona(persona_id)
            faces = selected_ids(grid)
            actions.confirm_faces(ctx.state_store, faces, persona_id, actor=_actor(request))
            return people_view(persona_id, f"✓ Confirmed {len(faces)} face(s).")

        @friendly
        def do_reject(persona_id, grid, request: gr.Request):
            persona_id = _need_persona(persona_id)
            faces = selected_ids(grid)
            actions.reject_faces(ctx.state_store, faces, persona_id, actor=_actor(request))
            return people_view(persona_id, f"✗ Marked {len(faces)} face(s) as not this person.")

        @friendly
        def do_move(persona_id, grid, target, request: gr.Request):
            persona_id = _need_persona(persona_id)
            faces = selected_ids(grid)
            persona, _ = actions.assign_faces(ctx.state_store, faces, actor=_actor(request), **_target(target))
            return people_view(persona_id, f"Moved {len(faces)} face(s) to {md(persona.name)}.")

        @friendly
        def do_remove(persona_id, grid, request: gr.Request):
            persona_id = _need_persona(persona_id)
            faces = selected_ids(grid)
            actions.remove_labels(ctx.state_store, faces, actor=_actor(request))
            return people_view(persona_id, f"Removed the label of {len(faces)} face(s).")

        # Each click marks its faces in the browser at once (js runs before the round trip).
        for button, handler, inputs, grid_id, state in [
            (confirm_btn, do_confirm, [persona_pick, predicted_grid], "predicted-grid", "✓ confirmed"),
            (reject_btn, do_reject, [persona_pick, predicted_grid], "predicted-grid", "✗ not this person"),
            (move_btn, do_move, [persona_pick, predicted_grid, move_dd], "predicted-grid", "moving…"),
            (remove_btn, do_remove, [persona_pick, labeled_grid], "labeled-grid", "label removed"),
            (move_labeled_btn, do_move, [persona_pick, labeled_grid, move_labeled_dd], "labeled-grid", "moving…"),
        ]:
            button.click(handler, inputs, people_outputs, js=mark_selected_js(grid_id, state)).success(
                lambda: header_html(ctx), None, header
            )

        @friendly
        def do_create(name: str):
            persona, new = actions.create_persona(ctx.state_store, name)
            notice = f"Added {md(persona.name)}." if new else f"{md(persona.name)} already exists."
            return *people_view(persona.persona_id, notice), ""

        @friendly
        def do_rename(persona_id, name: str):
            persona = actions.rename_persona(ctx.state_store, persona_id, name)
            return *people_view(persona.persona_id, f"Renamed to {md(persona.name)}."), ""

        @friendly
        def do_merge(persona_id, target_id):
            target = actions.merge_personas(ctx.state_store, persona_id, target_id)
            return people_view(target.persona_id, f"Merged: every label now counts for {md(target.name)}.")

        create_btn.click(do_create, new_name, [*people_outputs, new_name])
        new_name.submit(do_create, new_name, [*people_outputs, new_name])
        rename_btn.click(do_rename, [persona_pick, rename_box], [*people_outputs, rename_box])
        merge_btn.click(do_merge, [persona_pick, merge_dd], people_outputs)

        # ============================================================ handlers: unknown faces
        def unknown_view(index: int = 0, notice: str = ""):
            snap = actions.snapshot(ctx.state_store)
            clusters = actions.unknown_clusters(ctx.state_store, snap, ctx.space)
            choices = persona_choices(snap)
            if not clusters:
                return (
                    [],
                    [],
                    0,
                    "### No unknown faces\nEvery face is labeled or recognised." + (f"\n\n{notice}" if notice else ""),
                    grid_value([], empty="Nothing to name."),
                    gr.update(choices=choices, value=None),
                )
            index = min(max(int(index or 0), 0), len(clusters) - 1)
            records = actions.face_records(ctx.state_store, [c.face_ids[0] for c in clusters])
            covers = [
                (cover, f"{len(c.face_ids)} face{'s' if len(c.face_ids) != 1 else ''}")
                for c in clusters
                if (cover := _cover(records.get(c.face_ids[0]))) is not None
            ]
            cluster = clusters[index]
            items = [actions.FaceItem(f, None, None, _candidate(snap, f)) for f in cluster.face_ids]
            tiles = ctx.tiles(snap, items[:MAX_TILES], show_name=False)
            guess = (
                f" It looks most like **{md(snap.name(cluster.candidate_persona_id))}**."
                if cluster.candidate_persona_id
                else ""
            )
            title = (
                f"### Group {index + 1} of {len(clusters)} · {len(cluster.face_ids)} face(s)\n"
                f"All faces start selected: click the ones that are someone else.{guess}"
                + (f"\n\n**{notice}**" if notice else "")
            )
            value = grid_value(tiles, selected=[t.face_id for t in tiles])
            return (
                [c.face_ids for c in clusters],
                covers,
                index,
                title,
                value,
                gr.update(choices=choices, value=None),
            )

        def _cover(record):
            if record is None:
                return None
            try:
                return Image.open(io.BytesIO(ctx.artifact_store.get(record.thumbnail_key))).convert("RGB")
            except (KeyError, OSError):
                return None

        def _candidate(snap: Snapshot, face_id: str):
            prediction = snap.open_prediction(face_id)
            return prediction.candidate_persona_id if prediction else None

        unknown_outputs = [clusters_state, cluster_covers, cluster_index, cluster_title, cluster_grid, cluster_name]

        def pick_cluster(event: gr.SelectData):
            return unknown_view(event.index)

        cluster_covers.select(pick_cluster, None, unknown_outputs)

        @friendly
        def do_name_cluster(index, grid, name, request: gr.Request):
            faces = selected_ids(grid)
            target = _target(name)
            persona, _ = actions.assign_faces(ctx.state_store, faces, actor=_actor(request), **target)
            return unknown_view(index, f"✓ Named {len(faces)} face(s) {md(persona.name)}.")

        cluster_btn.click(
            do_name_cluster,
            [cluster_index, cluster_grid, cluster_name],
            unknown_outputs,
            js=mark_selected_js("cluster-grid", "naming…"),
        ).success(lambda: header_html(ctx), None, header)

        # ============================================================ handlers: uploads
        def result_rows(results) -> list[list[str]]:
            return [[r.name, ("✓ " if r.ok else "✗ ") + r.message] for r in results]

        @friendly
        def do_upload(files):
            if not files:
                raise ActionError("choose one or more photos first")
            batch = []
            for item in files:
                path = Path(item if isinstance(item, str) else item.name)
                with path.open("rb") as handle:  # one byte over the limit is enough to refuse it
                    batch.append((path.name, handle.read(ctx.upload_limits.max_bytes + 1)))
            return result_rows(add_photos(ctx.image_source, batch, ctx.upload_limits)), None

        @friendly
        def do_fetch(url: str):
            results = add_from_url(ctx.image_source, url, fetcher, ctx.upload_limits)
            return result_rows(results)

        upload_btn.click(do_upload, upload_files, [upload_results, upload_files])
        url_btn.click(do_fetch, url_box, upload_results)
        url_box.submit(do_fetch, url_box, upload_results)

        # ============================================================ handlers: find similar
        @friendly
        def do_find(path):
            if not path:
                raise ActionError("drop a photo first")
            data = Path(path).read_bytes()
            result = actions.find_similar(
                ctx.state_store, ctx.artifact_store, ctx.face_engine, data, cache=ctx.classifier_cache
            )
            snap = actions.snapshot(ctx.state_store)
            rgb = np.ascontiguousarray(result.image_bgr[:, :, ::-1])
            if not result.faces:
                return (rgb, []), "No face found in this photo.", grid_value([], selectable=False)
            boxes, lines, tiles = [], [], []
            for number, face in enumerate(result.faces, start=1):
                if face.persona_id is not None:
                    label = f"{number}: {snap.name(face.persona_id)} ({round(face.confidence * 100)}%)"
                elif face.candidate_persona_id is not None:
                    label = f"{number}: unknown (maybe {snap.name(face.candidate_persona_id)})"
                else:
                    label = f"{number}: unknown"
                x, y, w, h = face.box
                boxes.append(((x, y, x + w, y + h), label))
                lines.append(f"- **Face {md(label)}**")
                near = [actions.FaceItem(n.face_id, n.persona_id) for n in face.neighbours]
                for tile, neighbour in zip(ctx.tiles(snap, near), face.neighbours, strict=False):
                    tiles.append(
                        Tile(
                            tile.face_id,
                            tile.src,
                            caption=(
                                snap.name(neighbour.persona_id)
                                if len(result.faces) == 1
                                else f"{number} · {snap.name(neighbour.persona_id)}"
                            ),
                            badge=f"{neighbour.similarity:.2f}",
                            tone="info",
                            title=tile.title,
                        )
                    )
            if result.model_version is None:
                lines.append("\n_No classifier is serving yet, so only the nearest labeled faces are shown._")
            return (rgb, boxes), "\n".join(lines), grid_value(tiles, selectable=False, empty="No labeled faces yet.")

        find_btn.click(do_find, query_image, [found_image, found_text, neighbours_grid])

        # ============================================================ handlers: status & loading
        refresh_btn.click(lambda: (status_markdown(ctx), header_html(ctx)), None, [status_md, header])
        timer.tick(lambda: (status_markdown(ctx), header_html(ctx)), None, [status_md, header])

        def load_all(state: dict):
            return (
                prediction_update_key(ctx.state_store),
                header_html(ctx),
                status_markdown(ctx),
                *show_review(state),
                *people_view(None),
                *unknown_view(0),
            )

        demo.load(
            load_all,
            review_state,
            [shown_update, header, status_md, *review_outputs, *people_outputs, *unknown_outputs],
        )
        # Each tab shows what the others changed when it is opened again.
        review_tab.select(show_review, review_state, review_outputs).then(lambda: "review", None, open_tab)
        status_tab.select(lambda: (status_markdown(ctx), header_html(ctx)), None, [status_md, header]).then(
            lambda: "status", None, open_tab
        )
        people_tab.select(people_view, persona_pick, people_outputs).then(lambda: "people", None, open_tab)
        unknown_tab.select(unknown_view, cluster_index, unknown_outputs).then(lambda: "unknown", None, open_tab)

        # A newer prediction update re-renders the open view by itself (the review card stays put:
        # it is the question the person is answering), keeping the faces they had selected.
        refreshed = [shown_update, header, status_md, persona_table, persona_title, predicted_grid, labeled_grid]
        refreshed += [clusters_state, cluster_covers, cluster_index, cluster_title, cluster_grid]

        def refresh_when_predictions_change(shown, tab, persona_id, predicted, labeled, index, clusters_grid):
            key = prediction_update_key(ctx.state_store)
            if key == shown:
                return [gr.skip()] * len(refreshed)
            people = [gr.skip()] * 4
            if tab == "people":
                view = people_view(persona_id)
                people = [view[0], view[2], keep_selection(view[3], predicted), keep_selection(view[4], labeled)]
            unknown = [gr.skip()] * 5
            if tab == "unknown":
                view = unknown_view(index)
                unknown = [*view[:4], keep_selection(view[4], clusters_grid) if clusters_grid else view[4]]
            status = status_markdown(ctx) if tab == "status" else gr.skip()
            return [key, header_html(ctx), status, *people, *unknown]

        predictions_timer.tick(
            refresh_when_predictions_change,
            [shown_update, open_tab, persona_pick, predicted_grid, labeled_grid, cluster_index, cluster_grid],
            refreshed,
            show_progress="hidden",
        )
    return demo


def launch_kwargs(ctx: AppContext) -> dict:
    """What ``launch`` needs besides host and port: theme, offline fonts, files the page may load."""
    from gradio_app.components import LocalArtifactStore

    allowed = (
        [str(Path(ctx.artifact_store.root).resolve())] if isinstance(ctx.artifact_store, LocalArtifactStore) else []
    )
    return {
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", font=FONTS, font_mono=MONO_FONTS),
        "css": APP_CSS,
        "head": KEYBOARD_JS,
        "allowed_paths": allowed,
        "ssr_mode": False,
        "max_file_size": ctx.upload_limits.max_bytes,
        "footer_links": ["settings"],
        "show_error": True,
    }
