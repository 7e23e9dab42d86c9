"""Add photos: from this computer or a web address, into the image source the pipeline ingests."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from gradio_app.adapters.url_fetch import SafeFetcher
from gradio_app.errors import ActionError
from gradio_app.page import Tab, friendly
from gradio_app.snapshot import snapshot
from gradio_app.uploads import WAITING, UploadResult, add_from_url, add_photos, photo_outcomes

FOLLOW_S = 2.0  # how often the page asks what became of photos still waiting


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
        self.added = gr.State([])  # this session's results, newest first, followed until their faces land
        # Ingest and predictions land a few seconds after an upload: asked again until no row waits.
        self.follow = gr.Timer(FOLLOW_S, active=False)
        self.outputs = [self.results, self.files, self.added, self.follow]
        self.refresh_inputs = [self.added]
        self.follow_outputs = [self.results, self.follow]
        self._wire()

    def _wire(self) -> None:
        ctx = self.ctx

        @friendly
        def upload(files, added: list):
            if not files:
                raise ActionError("choose one or more photos first")
            batch = []
            for item in files:
                path = Path(item if isinstance(item, str) else item.name)
                with path.open("rb") as handle:  # one byte over the limit is enough to refuse it
                    batch.append((path.name, handle.read(ctx.upload_limits.max_bytes + 1)))
            library = {image.image_id: image.key for image in ctx.state_store.images()}
            return self._added(add_photos(ctx.image_source, batch, ctx.upload_limits, library), added) | {
                self.files: None
            }

        @friendly
        def fetch(url: str, added: list):
            return self._added(add_from_url(ctx.image_source, url, self.fetcher, ctx.upload_limits), added)

        self.upload_btn.click(upload, [self.files, self.added], self.outputs)
        self.url_btn.click(fetch, [self.url_box, self.added], self.outputs)
        self.url_box.submit(fetch, [self.url_box, self.added], self.outputs)
        self.follow.tick(lambda added: self.refresh({self.added: added}), self.added, self.follow_outputs)
        self.tab.select(lambda added: self.refresh({self.added: added}), self.added, self.outputs).then(
            lambda: "add", None, self.page.open_tab
        )

    def _added(self, results: list[UploadResult], added: list) -> dict:
        added = [[r.name, r.key, ("✓ " if r.ok else "✗ ") + r.message] for r in results] + (added or [])
        return {self.added: added} | self.refresh({self.added: added})

    def refresh(self, values: dict, keep: bool = False) -> dict:
        """Each added photo's row, with what became of it: "2 faces → Ada, unknown" once ingested."""
        added = values[self.added] or []
        keys = [key for _, key, _ in added if key]
        outcomes = photo_outcomes(self.ctx.state_store, snapshot(self.ctx.state_store), keys)
        waiting = any(outcome.endswith(WAITING) for outcome in outcomes.values())
        return {
            self.results: [[name, message + (f" · {outcomes[key]}" if key else "")] for name, key, message in added],
            self.follow: gr.update(active=waiting),
        }
