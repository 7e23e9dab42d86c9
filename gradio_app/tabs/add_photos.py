"""Add photos: from this computer or a web address, into the image source the pipeline ingests."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from gradio_app.actions import ActionError
from gradio_app.page import Tab, friendly
from gradio_app.uploads import UploadResult, add_from_url, add_photos
from gradio_app.url_fetch import SafeFetcher


class AddPhotosTab(Tab):
    name, title = "add", "Add photos"

    def build(self) -> None:
        self.fetcher = SafeFetcher(self.ctx.fetch_policy)
        limits = self.ctx.upload_limits
        gr.Markdown(
            f"Photos you add here are picked up by the pipeline and show up in **Review** once their "
            f"faces are found. Up to {limits.max_bytes // (1024 * 1024)} MB per photo; "
            "JPEG, PNG, WebP, GIF, BMP or TIFF."
        )
        with gr.Row(equal_height=False):
            with gr.Column():
                self.files = gr.File(label="Photos from your computer", file_count="multiple", elem_id="upload-files")
                self.upload_btn = gr.Button("Add these photos", variant="primary", elem_id="upload-btn")
            with gr.Column():
                self.url_box = gr.Textbox(
                    label="…or a photo or web page address",
                    placeholder="https://example.org/team.html",
                    elem_id="url-box",
                )
                self.url_btn = gr.Button("Fetch photos", variant="primary", elem_id="url-btn")
        self.results = gr.Dataframe(
            headers=["Photo", "Result"], interactive=False, label="What happened", elem_id="upload-results"
        )
        self.outputs = [self.results, self.files]
        self._wire()

    def _wire(self) -> None:
        ctx = self.ctx

        @friendly
        def upload(files):
            if not files:
                raise ActionError("choose one or more photos first")
            batch = []
            for item in files:
                path = Path(item if isinstance(item, str) else item.name)
                with path.open("rb") as handle:  # one byte over the limit is enough to refuse it
                    batch.append((path.name, handle.read(ctx.upload_limits.max_bytes + 1)))
            library = {image.image_id: image.key for image in ctx.state_store.images()}
            results = add_photos(ctx.image_source, batch, ctx.upload_limits, library)
            return {self.results: rows(results), self.files: None}

        @friendly
        def fetch(url: str):
            return {self.results: rows(add_from_url(ctx.image_source, url, self.fetcher, ctx.upload_limits))}

        self.upload_btn.click(upload, self.files, self.outputs)
        self.url_btn.click(fetch, self.url_box, self.outputs)
        self.url_box.submit(fetch, self.url_box, self.outputs)
        self.tab.select(lambda: "add", None, self.page.open_tab)


def rows(results: list[UploadResult]) -> list[list[str]]:
    return [[r.name, ("✓ " if r.ok else "✗ ") + r.message] for r in results]
