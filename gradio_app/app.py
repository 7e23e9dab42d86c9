"""The whole page: the header with its Undo button and the timers, around one view module per tab
(``tabs/``); ``build_app`` assembles it, ``launch_kwargs`` says how to serve it.

Handlers only translate between widgets and the logic modules (ids, names, pictures, messages)
and answer with ``{component: value}`` dicts; what a click *means* lives in the logic module of
its tab (``review``, ``people``, ...), where it is unit-tested without a browser.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from gradio_app.classifier import page_status, status_markdown
from gradio_app.context import AppContext
from gradio_app.header import PREDICTIONS_POLL_S, prediction_update_key
from gradio_app.page import Page, session
from gradio_app.page import actor as request_actor
from gradio_app.tabs.add_photos import AddPhotosTab
from gradio_app.tabs.classifier import ClassifierTab
from gradio_app.tabs.people import PeopleTab
from gradio_app.tabs.photos import PhotosTab
from gradio_app.tabs.review.tab import ReviewTab
from gradio_app.tabs.similar import SimilarTab
from gradio_app.tabs.unknown import UnknownTab
from gradio_app.theme import APP_CSS, FONTS, KEYBOARD_JS, MONO_FONTS


def build_app(ctx: AppContext) -> gr.Blocks:
    """The page on ``ctx``'s stores: made once per process, served to every browser."""
    with gr.Blocks(title="FaceLoop", analytics_enabled=False) as demo:
        with gr.Row(equal_height=False, elem_classes=["fl-top"]):
            header = gr.HTML(elem_id="fl-header")
            undo_btn = gr.Button("↶ Undo", interactive=False, size="sm", scale=0, min_width=260, elem_id="undo-btn")
        browser = gr.BrowserState("", storage_key="faceloop-browser")
        page = Page(ctx, header, undo_btn, open_tab=gr.State("review"), shown_update=gr.State(None), browser=browser)
        with gr.Tabs(elem_id="fl-tabs"):
            review, people, unknown = ReviewTab(page), PeopleTab(page), UnknownTab(page)
            tabs = [review, people, unknown, PhotosTab(page), AddPhotosTab(page), SimilarTab(page), ClassifierTab(page)]
        classifier = tabs[-1]
        _wire_page(page, tabs, review, people, unknown, classifier, demo)
    return demo


def _wire_page(page: Page, tabs: list, review, people, unknown, classifier, demo: gr.Blocks) -> None:
    ctx = page.ctx
    every_input = {page.open_tab, page.shown_update, page.browser} | {c for tab in tabs for c in tab.refresh_inputs}
    every_output = {page.shown_update, *page.header_outputs} | {c for tab in tabs for c in tab.outputs}
    by_name = {tab.name: tab for tab in tabs}
    follow_inputs = [page.open_tab, page.shown_update]
    follow_inputs += [c for tab in tabs if tab.follow_outputs for c in tab.refresh_inputs]
    follow_outputs = {page.shown_update, *page.header_outputs} | {c for tab in tabs for c in tab.follow_outputs}

    def load(values: dict, request: gr.Request) -> dict:
        browser = page.bind_browser(request, values[page.browser])  # before the header: it shows its Undo
        status = page_status(ctx)
        return (
            {page.shown_update: prediction_update_key(ctx.state_store), page.browser: browser}
            | page.header_values(request, status)
            | {classifier.status_md: status_markdown(ctx, status)}
            | review.refresh(values)
            | people.view(None)
            | unknown.view(0)
        )

    def undo(values: dict, request: gr.Request) -> dict:
        done = ctx.undo_log.undo(ctx.state_store, session(request), actor=request_actor(request))
        if done is None:
            gr.Warning("Nothing to undo in this session.")
        elif done.refused:
            gr.Warning(done.message, title="Not undone")
        else:
            gr.Info(done.message)
        return by_name[values[page.open_tab]].refresh(values) | page.header_values(request)

    def follow_predictions(values: dict, request: gr.Request) -> dict:
        """A newer prediction update re-renders the open view by itself (the review card stays
        put: it is the question the person is answering), keeping the faces they had selected."""
        key = prediction_update_key(ctx.state_store)
        if key == values[page.shown_update]:
            return gr.skip()
        tab = by_name[values[page.open_tab]]
        fresh = tab.refresh(values, keep=True) if tab.follow_outputs else {}
        return {page.shown_update: key} | page.header_values(request) | fresh

    demo.load(load, every_input, every_output | {page.browser})
    page.undo_btn.click(undo, every_input, every_output)
    gr.Timer(30).tick(classifier.tick, None, [classifier.status_md, *page.header_outputs], show_progress="hidden")
    gr.Timer(PREDICTIONS_POLL_S).tick(follow_predictions, set(follow_inputs), follow_outputs, show_progress="hidden")


def launch_kwargs(ctx: AppContext) -> dict:
    """What ``launch`` needs besides host and port: theme, offline fonts, files the page may load."""
    local = ctx.artifact_store.local_path("")
    return {
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", font=FONTS, font_mono=MONO_FONTS),
        "css": APP_CSS,
        "head": KEYBOARD_JS,
        "allowed_paths": [str(local)] if local is not None else [],
        "ssr_mode": False,
        "max_file_size": ctx.upload_limits.max_bytes,
        "footer_links": ["settings"],
        "show_error": True,
    }
