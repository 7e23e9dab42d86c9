"""What the tabs share: the header with its Undo button, the page's state, and how a handler
answers (a ``{component: value}`` dict; a refusal is a warning, and the page stays as it was)."""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gradio as gr

from gradio_app.classifier import PageStatus, page_status
from gradio_app.context import AppContext
from gradio_app.errors import ActionError
from gradio_app.header import header_html
from gradio_app.snapshot import Snapshot

log = logging.getLogger(__name__)


def actor(request: gr.Request | None) -> str | None:
    """Who clicked (the login name), recorded with their label events; None when the app has no login."""
    return getattr(request, "username", None) or None


def session(request: gr.Request | None) -> str:
    """The page load a click came from: whose Undo steps it adds to."""
    return getattr(request, "session_hash", None) or ""


def friendly(handler: Callable | None = None, *, unchanged: Callable[..., dict] | None = None):
    """Refusals (an :class:`ActionError`) become a warning and nothing on the page is replaced.

    ``unchanged(*args)`` may give what to re-render so the page looks as before the click (the
    faces a click marked in the browser lose their mark); by default nothing is sent.
    """

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except ActionError as exc:
                gr.Warning(str(exc)[:1].upper() + str(exc)[1:], title="Not done")
                return unchanged(*args) if unchanged else gr.skip()  # every output as it was

        return wrapper

    return wrap(handler) if handler else wrap


def persona_choices(snap: Snapshot) -> list[tuple[str, int]]:
    """Everyone shown, as (name, id) dropdown entries, by name."""
    return [(p.name, p.persona_id) for p in snap.active_personas()]


def target(value: object) -> dict:
    """A dropdown value: an existing persona id, or a name typed by the person."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return {"persona_id": int(value)}
    if isinstance(value, str) and value.strip():
        return {"name": value}
    raise ActionError("choose a person, or type a new name, first")


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


@dataclass
class Page:
    """The parts outside the tabs, made once in ``build_app`` and handed to every tab."""

    ctx: AppContext
    header: gr.HTML
    undo_btn: gr.Button
    open_tab: gr.State  # the tab the person is on: "review", "people", ...
    shown_update: gr.State  # prediction_update_key of what the page shows
    browser: gr.BrowserState | None = None  # a random id kept in the browser: its Undo outlives a reload

    def bind_browser(self, request: gr.Request | None, token: str | None) -> str:
        """Bind this session's Undo to the browser's id (made here on its first visit); returns the id."""
        if not (isinstance(token, str) and re.fullmatch(r"[0-9a-f]{32}", token)):
            token = secrets.token_hex(16)
        self.ctx.undo_log.bind(session(request), f"browser:{actor(request) or ''}:{token}")
        return token

    @property
    def header_outputs(self) -> list:
        return [self.header, self.undo_btn]

    def header_values(self, request: gr.Request | None = None, status: PageStatus | None = None) -> dict:
        """The header and the Undo button, as of now: the one way every handler refreshes them."""
        step = self.ctx.undo_log.last(session(request))
        label = f"↶ Undo: {step.description}" if step else "↶ Undo"
        return {
            self.header: header_html(self.ctx, status or page_status(self.ctx)),
            self.undo_btn: gr.update(value=label, interactive=step is not None),
        }

    def labeling(self, trigger: Callable, handler: Callable, inputs, outputs: list, **kwargs) -> None:
        """Wire a handler that changes labels: its answer carries the header and Undo button too,
        so they change in the same update as the faces (never a moment behind)."""

        @functools.wraps(handler)
        def with_header(*args, **kw):
            result = handler(*args, **kw)
            request = next((a for a in [*args, *kw.values()] if isinstance(a, gr.Request)), None)
            header = self.header_values(request)
            return header if result == gr.skip() else result | header

        trigger(with_header, inputs, [*outputs, *self.header_outputs], **kwargs)

    def record(self, request: gr.Request | None, description: str, seqs: Sequence[int], log: str = "labels") -> None:
        """Put a click's events on this session's Undo list, under ``description`` (the Undo button's words)."""
        self.ctx.undo_log.record(session(request), description, list(seqs), log)


class Tab:
    """One tab of the page: ``build`` lays it out inside its ``gr.Tab`` and wires its handlers.

    ``outputs`` are what its views render; ``refresh(values)`` re-renders it from the values of
    ``refresh_inputs`` (after an Undo); with ``keep`` it renders only ``follow_outputs`` and keeps
    the selection (a newer prediction update; empty for tabs a prediction does not change).
    """

    name: str  # the tab's id, and what ``Page.open_tab`` holds while it is open
    title: str
    outputs: list
    refresh_inputs: list = []  # noqa: RUF012  (never mutated: each tab assigns its own)
    follow_outputs: list = []  # noqa: RUF012

    def __init__(self, page: Page):
        self.page, self.ctx = page, page.ctx
        with gr.Tab(self.title, id=self.name, elem_id=f"tab-{self.name}") as self.tab:
            self.build()

    def build(self) -> None:
        raise NotImplementedError

    def refresh(self, values: dict, keep: bool = False) -> dict:
        return {}
