"""Classifier: what is serving, how good it is, how far behind the labels it is."""

from __future__ import annotations

import gradio as gr

from gradio_app.page import Tab
from gradio_app.status import page_status, status_markdown


class ClassifierTab(Tab):
    name, title = "status", "Classifier"

    def build(self) -> None:
        self.status_md = gr.Markdown(elem_id="status-md", elem_classes=["fl-status"])
        with gr.Row():
            self.refresh_btn = gr.Button("Refresh", size="sm", scale=0, min_width=120, elem_id="status-refresh")
        self.outputs = [self.status_md]
        self.follow_outputs = [self.status_md]
        everything = [*self.outputs, *self.page.header_outputs]
        self.refresh_btn.click(self.tick, None, everything)
        self.tab.select(self.tick, None, everything).then(lambda: "status", None, self.page.open_tab)

    def refresh(self, values: dict, keep: bool = False) -> dict:
        return {self.status_md: status_markdown(self.ctx)}

    def tick(self, request: gr.Request) -> dict:
        """The tab and the header from one status read."""
        status = page_status(self.ctx)
        return {self.status_md: status_markdown(self.ctx, status)} | self.page.header_values(request, status)
