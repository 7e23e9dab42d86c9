"""Review: one face at a time, "Is this Ada?", answered with Y / N / S or another name."""

from __future__ import annotations

from dataclasses import asdict

import gradio as gr

from gradio_app import labels
from gradio_app.components import face_grid, grid_value
from gradio_app.errors import ActionError
from gradio_app.formatting import chance, chance_words, md
from gradio_app.page import Tab, actor, friendly, persona_choices, session, target
from gradio_app.review import ReviewItem, answer_review, review_queue
from gradio_app.snapshot import labeled_faces, snapshot
from gradio_app.tabs.review.check_labels import CheckLabelsMode
from resources.state_store.records import LabelKind

SET_ASIDE = {LabelKind.STRANGER.value: "a stranger", LabelKind.NOT_FACE.value: "not a face"}

ASK = "Answer predictions"
MODES = {ASK: "ask", "Check these labels": "check"}  # the Review tab's two cards

NOTHING_TO_REVIEW = (
    "## Nothing to review right now 🎉\nEvery predicted face is labeled, or skipped. "
    "New predictions arrive after the next retrain; unnamed faces wait in **Unknown faces**."
)


class ReviewTab(Tab):
    name, title = "review", "Review"

    def build(self) -> None:
        self.state = gr.State({"item": None, "skipped": [], "done": 0, "history": []})
        # Skips outlive a reload: kept in the browser's local storage.
        self.skips = gr.BrowserState([], storage_key="faceloop-review-skips")
        self.mode = gr.Radio(list(MODES), value=ASK, show_label=False, elem_id="review-mode")
        with gr.Row(equal_height=False) as self.ask_row:
            with gr.Column(scale=2, min_width=300):
                self.face = gr.Image(label="Face", height=240, interactive=False, buttons=[], elem_id="review-face")
                self.photo = gr.Image(label="In the photo", height=300, interactive=False, buttons=["fullscreen"])
            with gr.Column(scale=3, min_width=360):
                self._build_card()
        self.outputs = [self.state, self.face, self.photo, self.question, self.examples, self.other]
        self.buttons = [self.yes_btn, self.no_btn, self.skip_btn, self.stranger_btn, self.not_face_btn]
        self.outputs += [self.progress, *self.buttons]
        self.outputs += [self.skips, self.back_btn]
        self.check = CheckLabelsMode(self.page)
        self.outputs += [*self.check.outputs, self.ask_row, self.check.row]
        self.refresh_inputs = [self.state, self.skips, self.mode]
        # No follow_outputs: the card stays put when predictions change (it is the question being answered).
        self._wire()

    def _build_card(self) -> None:
        self.question = gr.Markdown(elem_id="review-question")
        with gr.Row():
            self.yes_btn = gr.Button("✓ Yes", variant="primary", elem_id="review-yes")
            self.no_btn = gr.Button("✗ No", variant="stop", elem_id="review-no")
            self.skip_btn = gr.Button("Skip", variant="secondary", elem_id="review-skip")
            self.back_btn = gr.Button("← Back", variant="secondary", elem_id="review-back", interactive=False)
        with gr.Row():
            self.stranger_btn = gr.Button("Stranger, don't ask again", size="sm", elem_id="review-stranger")
            self.not_face_btn = gr.Button("Not a face", size="sm", elem_id="review-not-face")
        gr.HTML(
            '<p class="fl-keys">Keyboard: <kbd>Y</kbd> yes · <kbd>N</kbd> no · <kbd>S</kbd> skip · <kbd>B</kbd> back · '
            "<kbd>Ctrl</kbd>+<kbd>Z</kbd> undo · a stranger or no face is never asked about again</p>"
        )
        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
            self.other = gr.Dropdown(
                label="It is someone else",
                info="Pick a person, or type a new name",
                allow_custom_value=True,
                scale=3,
                elem_id="review-other",
            )
            self.other_btn = gr.Button("Save", scale=1, elem_id="review-other-save")
        gr.Markdown("**Faces already labeled as this person**")
        self.examples = face_grid("review-examples")
        self.progress = gr.Markdown(elem_id="review-progress")

    # -- views ---------------------------------------------------------------------------------
    def refresh(self, values: dict) -> dict:
        state = values[self.state]
        skipped = sorted(set(state["skipped"]) | set(values.get(self.skips) or []))
        return self.show({**state, "skipped": skipped}) | self.mode_view(values.get(self.mode))

    def mode_view(self, mode: str | None) -> dict:
        """Which card the tab shows: the predictions to answer, or the labels to check."""
        checking = MODES.get(mode) == "check"
        shown = {self.ask_row: gr.update(visible=not checking), self.check.row: gr.update(visible=checking)}
        return shown | (self.check.view() if checking else {})

    def show(self, state: dict, first: str | None = None) -> dict:
        """The first face of the queue (skips left out; ``first`` before all) as the question on the card."""
        snap = snapshot(self.ctx.state_store)
        queue = review_queue(snap, limit=0, skip=state["skipped"])
        queue.sort(key=lambda item: item.face_id != first)  # stable: the rest keep their order
        progress = f"**{len(queue)}** face(s) to review · {state['done']} answered in this session"
        view = {
            self.other: gr.update(choices=persona_choices(snap), value=None),
            self.progress: progress,
            self.skips: state["skipped"],
            self.back_btn: gr.update(interactive=bool(state.get("history"))),
        }
        if not queue:
            return (
                view
                | {
                    self.state: {**state, "item": None},
                    self.face: None,
                    self.photo: None,
                    self.question: NOTHING_TO_REVIEW,
                    self.examples: grid_value([], selectable=False),
                }
                | {button: gr.update(interactive=False) for button in self.buttons}
            )
        item = queue[0]
        name = snap.name(item.persona_id)
        examples = self.ctx.tiles(snap, labeled_faces(snap, item.persona_id)[:6])
        return (
            view
            | {button: gr.update(interactive=True) for button in self.buttons}
            | {
                self.state: {**state, "item": asdict(item)},
                self.face: self.ctx.face_picture(item.face_id),
                self.photo: self.ctx.photo_with_box(item.face_id),
                self.question: question(item, name),
                self.examples: grid_value(examples, selectable=False, empty="Nobody labeled this person yet."),
                self.yes_btn: gr.update(value=f"✓ Yes, {name}", interactive=True),
            }
        )

    # -- handlers ------------------------------------------------------------------------------
    def answer(self, state: dict, kind: str, other=None, request: gr.Request | None = None) -> dict:
        if not state.get("item"):
            raise ActionError("there is no face to answer; reload the page")
        item = ReviewItem(**state["item"])
        history = [*state.get("history", []), {"face_id": item.face_id, "seqs": []}][-50:]
        if kind == "skip":
            return self.show({**state, "skipped": [*state["skipped"], item.face_id], "history": history})
        if kind == "other":
            chosen = target(other)
            other = chosen.get("persona_id", chosen.get("name"))
        snap, store = snapshot(self.ctx.state_store), self.ctx.state_store
        if kind in SET_ASIDE:
            outcome, seqs = SET_ASIDE[kind], labels.set_aside(store, [item.face_id], LabelKind(kind), actor(request))
        else:
            outcome, seqs = answer_review(store, item, kind, other, actor=actor(request))
        said = {"yes": f"yes, {snap.name(item.persona_id)}", "no": f"not {snap.name(item.persona_id)}"}
        self.page.record(request, f"“{said.get(outcome, outcome)}”", seqs)
        if kind == "other":
            gr.Info(f"Saved as {outcome}")
        history[-1]["seqs"] = seqs
        return self.show({**state, "done": state["done"] + 1, "history": history})

    def back(self, state: dict, request: gr.Request | None = None) -> dict:
        """The face before this one again: a skip is taken back, an answer undone (by its own events)."""
        if not state.get("history"):
            raise ActionError("this is the first face of the session")
        *history, last = state["history"]
        skipped = [f for f in state["skipped"] if f != last["face_id"]]
        done = state["done"]
        if last["seqs"]:
            undone = self.ctx.undo_log.undo(self.ctx.state_store, session(request), actor(request), last["seqs"])
            if undone is not None and undone.refused:
                gr.Warning(undone.message, title="Not undone")
            done = max(0, done - 1)
        return self.show({**state, "skipped": skipped, "history": history, "done": done}, first=last["face_id"])

    def _wire(self) -> None:
        outputs = self.outputs

        @friendly
        def on_yes(state: dict, request: gr.Request):
            return self.answer(state, "yes", request=request)

        @friendly
        def on_no(state: dict, request: gr.Request):
            return self.answer(state, "no", request=request)

        @friendly
        def on_skip(state: dict, request: gr.Request):
            return self.answer(state, "skip", request=request)

        @friendly
        def on_stranger(state: dict, request: gr.Request):
            return self.answer(state, LabelKind.STRANGER.value, request=request)

        @friendly
        def on_not_face(state: dict, request: gr.Request):
            return self.answer(state, LabelKind.NOT_FACE.value, request=request)

        @friendly
        def on_other(state: dict, other, request: gr.Request):
            return self.answer(state, "other", other, request)

        self.page.labeling(self.yes_btn.click, on_yes, self.state, outputs)
        self.page.labeling(self.no_btn.click, on_no, self.state, outputs)
        self.skip_btn.click(on_skip, self.state, outputs)
        self.page.labeling(self.back_btn.click, friendly(self.back), self.state, outputs)
        self.page.labeling(self.stranger_btn.click, on_stranger, self.state, outputs)
        self.page.labeling(self.not_face_btn.click, on_not_face, self.state, outputs)
        self.page.labeling(self.other_btn.click, on_other, [self.state, self.other], outputs)
        self.tab.select(
            lambda state, skips, mode: self.refresh({self.state: state, self.skips: skips, self.mode: mode}),
            [self.state, self.skips, self.mode],
            outputs,
        ).then(lambda: "review", None, self.page.open_tab)
        self.mode.change(self.mode_view, self.mode, [self.ask_row, self.check.row, *self.check.outputs])


def question(item: ReviewItem, name: str) -> str:
    """The question with the face's one number: the chance the name is right."""
    sure = chance(item.confidence)
    if item.unknown:
        return (
            f"## Is this **{md(name)}**?\nThis is {chance_words(item.confidence, True)}: of the people named, "
            f"it looks most like {md(name)}, with a **{sure}** chance that it is them."
        )
    return f"## Is this **{md(name)}**?\n{chance_words(item.confidence, False)}: **{sure}** chance it is {md(name)}."
