"""Classifier: what is serving, how good it is, how far behind the labels it is, and every
version before it, any trained one of which a labeler can serve again ("Serve this version")."""

from __future__ import annotations

import gradio as gr

from gradio_app.classifier import can_serve, page_status, status_markdown, version_choices, version_detail
from gradio_app.errors import ActionError
from gradio_app.page import Tab, actor, friendly
from resources.state_store.rules import PinRefused

RELABEL_NOTE = "predictions follow as soon as Dagster has relabeled the faces (a few seconds)"


class ClassifierTab(Tab):
    name, title = "classifier", "Classifier"

    def build(self) -> None:
        self.status_md = gr.Markdown(elem_id="status-md", elem_classes=["fl-status"])
        with gr.Row():
            self.refresh_btn = gr.Button("Refresh", size="sm", scale=0, min_width=120, elem_id="status-refresh")
            self.automatic_btn = gr.Button(
                "Back to automatic", size="sm", scale=0, min_width=180, visible=False, elem_id="automatic-btn"
            )
        gr.Markdown("### History\nPick a version to see its figures and confusion matrix, or to serve it again.")
        with gr.Row():
            self.version_pick = gr.Dropdown(label="Version", choices=[], elem_id="version-pick", scale=3)
            self.serve_btn = gr.Button("Serve this version", interactive=False, scale=1, elem_id="serve-btn")
        self.version_md = gr.Markdown(elem_id="version-detail")
        self.outputs = [self.status_md, self.version_pick, self.version_md, self.serve_btn, self.automatic_btn]
        self.refresh_inputs = [self.version_pick]
        self.follow_outputs = [self.status_md]
        everything = [*self.outputs, *self.page.header_outputs]
        self.refresh_btn.click(self.open, [self.version_pick], everything)
        self.tab.select(self.open, [self.version_pick], everything).then(lambda: "classifier", None, self.page.open_tab)
        self.version_pick.input(self.show, [self.version_pick], [self.version_md, self.serve_btn])
        self.serve_btn.click(self.serve, [self.version_pick], everything)
        self.automatic_btn.click(self.automatic, [self.version_pick], everything)

    def refresh(self, values: dict, keep: bool = False) -> dict:
        if keep:
            return {self.status_md: status_markdown(self.ctx)}
        return self.view(values.get(self.version_pick))

    def view(self, picked: int | None, status=None) -> dict:
        """The status, the version list (keeping the pick) and the picked version's detail."""
        status = status or page_status(self.ctx)
        state = status.model.serving_state
        versions = self.ctx.state_store.model_versions()
        chosen = picked if any(v.version == picked for v in versions) else (versions[0].version if versions else None)
        return {
            self.status_md: status_markdown(self.ctx, status),
            self.version_pick: gr.update(choices=version_choices(versions, state), value=chosen),
            self.automatic_btn: gr.update(visible=bool(state and state.pinned)),
        } | self.show(chosen)

    def show(self, picked: int | None) -> dict:
        state = self.ctx.state_store.serving()
        version = next((v for v in self.ctx.state_store.model_versions() if v.version == picked), None)
        return {
            self.version_md: version_detail(version, state) if version else "_No classifier version yet._",
            self.serve_btn: gr.update(interactive=can_serve(version, state)),
        }

    def tick(self, request: gr.Request) -> dict:
        """The status and the header from one status read (the page's timer)."""
        status = page_status(self.ctx)
        return {self.status_md: status_markdown(self.ctx, status)} | self.page.header_values(request, status)

    def open(self, picked: int | None, request: gr.Request) -> dict:
        status = page_status(self.ctx)
        return self.view(picked, status) | self.page.header_values(request, status)

    @friendly
    def serve(self, picked: int | None, request: gr.Request) -> dict:
        """Pin the picked version: it serves until a new version passes the quality gate."""
        if picked is None:
            raise ActionError("pick a version first")
        try:
            seq = self.ctx.state_store.pin_model(int(picked), actor=actor(request))
        except PinRefused as exc:
            raise ActionError(str(exc)) from None
        if seq is not None:
            self.page.record(request, f"serve version {picked}", [seq], log="serving")
            gr.Info(f"Version {picked} serves now; {RELABEL_NOTE}.")
        return self.open(picked, request)

    @friendly
    def automatic(self, picked: int | None, request: gr.Request) -> dict:
        """Lift the pin: the version the quality gate promoted serves again."""
        seq = self.ctx.state_store.serve_automatically(actor=actor(request))
        if seq is not None:
            self.page.record(request, "back to automatic", [seq], log="serving")
            serving = self.ctx.state_store.serving_model()
            gr.Info(f"Automatic again: version {serving.version if serving else '–'} serves; {RELABEL_NOTE}.")
        return self.open(picked, request)
