"""Review's "Check these labels" mode: the people's own labels the model disagrees with most,
one at a time, each kept (a CHECK event: never asked again) or fixed (a new label). Both are
undone like any other action."""

from __future__ import annotations

from dataclasses import asdict

import gradio as gr

from gradio_app.errors import ActionError
from gradio_app.formatting import md, pct, with_notice
from gradio_app.page import Page, actor, friendly, persona_choices, target
from gradio_app.review import LabelToCheck, fix_label, keep_labels, labels_to_check
from gradio_app.snapshot import snapshot

NOTHING_TO_CHECK = (
    "## No label to check right now\nThe model agrees with every label people gave, or each one it "
    "doubted was checked. The next retrain ranks the labels again."
)


class CheckLabelsMode:
    """Built inside the Review tab, hidden until the person switches to it."""

    def __init__(self, page: Page):
        self.page, self.ctx = page, page.ctx
        with gr.Row(equal_height=False, visible=False) as self.row:
            with gr.Column(scale=2, min_width=300):
                self.face = gr.Image(label="Face", height=240, interactive=False, buttons=[], elem_id="check-face")
                self.photo = gr.Image(label="In the photo", height=300, interactive=False, buttons=["fullscreen"])
            with gr.Column(scale=3, min_width=360):
                self.question = gr.Markdown(elem_id="check-question")
                with gr.Row():
                    self.keep_btn = gr.Button("✓ Keep the label", variant="primary", elem_id="check-keep")
                    self.fix_btn = gr.Button("Fix it", variant="stop", elem_id="check-fix")
                with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
                    self.other = gr.Dropdown(
                        label="…or it is someone else", allow_custom_value=True, scale=3, elem_id="check-other"
                    )
                    self.other_btn = gr.Button("Fix to this person", scale=1, elem_id="check-other-fix")
                self.table = gr.Dataframe(
                    headers=["Labeled as", "Model says", "Agreement"],
                    interactive=False,
                    label="Labels the model disagrees with most",
                    elem_id="check-list",
                    max_height=300,
                )
        self.state = gr.State(None)  # the label on the card (a LabelToCheck as a dict)
        self.outputs = [self.state, self.face, self.photo, self.question, self.other, self.table]
        self.outputs += [self.keep_btn, self.fix_btn, self.other_btn]
        self._wire()

    def view(self, notice: str = "") -> dict:
        """The most doubtful open label on the card, the rest listed below it."""
        store = self.ctx.state_store
        snap = snapshot(store)
        checks = labels_to_check(store, snap)
        rows = [[snap.name(c.persona_id), snap.name(c.model_says), pct(c.agreement)] for c in checks]
        view = {
            self.other: gr.update(choices=persona_choices(snap), value=None),
            self.table: rows or [["–", "–", "–"]],
        }
        if not checks:
            buttons = {b: gr.update(interactive=False) for b in (self.keep_btn, self.fix_btn, self.other_btn)}
            empty = {self.state: None, self.face: None, self.photo: None}
            return view | buttons | empty | {self.question: with_notice(NOTHING_TO_CHECK, notice)}
        check = checks[0]
        name, says = snap.name(check.persona_id), snap.name(check.model_says)
        question = (
            f"## Is this really **{md(name)}**?\nPeople labeled this face {md(name)}; trained without this label, "
            f"version {check.model_version} finds it {pct(check.agreement)} likely"
            + (f" and says **{md(says)}**." if check.model_says is not None else ".")
            + f"\n\n{len(checks)} label(s) to check."
        )
        return view | {
            self.state: asdict(check),
            self.face: self.ctx.face_picture(check.face_id),
            self.photo: self.ctx.photo_with_box(check.face_id),
            self.question: with_notice(question, notice),
            self.keep_btn: gr.update(value=f"✓ Keep: it is {name}", interactive=True),
            self.fix_btn: gr.update(
                value=f"Fix: it is {says}" if check.model_says is not None else "Fix it",
                interactive=check.model_says is not None,
            ),
            self.other_btn: gr.update(interactive=True),
        }

    def _wire(self) -> None:
        store = self.ctx.state_store

        @friendly
        def keep(state, request: gr.Request):
            check = _check(state)
            seqs = keep_labels(store, [check], actor=actor(request))
            name = snapshot(store).name(check.persona_id)
            self.page.record(request, f"kept the label {name}", seqs)
            return self.view(f"Kept: {md(name)}.")

        def fix_with(chosen: dict, request: gr.Request, state) -> dict:
            name, seqs = fix_label(store, _check(state), actor=actor(request), **chosen)
            self.page.record(request, f"fixed a label to {name}", seqs)
            return self.view(f"Fixed: now {md(name)}.")

        @friendly
        def fix(state, request: gr.Request):
            return fix_with({}, request, state)

        @friendly
        def fix_other(state, other, request: gr.Request):
            return fix_with(target(other), request, state)

        self.page.labeling(self.keep_btn.click, keep, self.state, self.outputs)
        self.page.labeling(self.fix_btn.click, fix, self.state, self.outputs)
        self.page.labeling(self.other_btn.click, fix_other, [self.state, self.other], self.outputs)


def _check(state: dict | None) -> LabelToCheck:
    if not state:
        raise ActionError("there is no label on the card; reload the page")
    return LabelToCheck(**state)
