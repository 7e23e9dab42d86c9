"""Find similar: who is in a photo dropped here, and the labeled faces nearest to each face."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from gradio_app.components import Tile, face_grid, grid_value
from gradio_app.errors import ActionError
from gradio_app.formatting import chance, md
from gradio_app.page import Tab, friendly
from gradio_app.similar import FoundFace, find_similar
from gradio_app.snapshot import FaceItem, Snapshot, snapshot


class SimilarTab(Tab):
    name, title = "similar", "Find similar"

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2):
                self.query = gr.Image(
                    label="Drop a photo", type="filepath", sources=["upload", "clipboard"], elem_id="query"
                )
                self.find_btn = gr.Button("Who is this?", variant="primary", elem_id="find-btn")
            with gr.Column(scale=3):
                self.found_image = gr.AnnotatedImage(label="Faces found", height=420, elem_id="found-image")
                self.found_text = gr.Markdown(elem_id="found-text")
        gr.Markdown("#### Nearest labeled faces\n_Badges: cosine similarity of the faces (not a chance)._")
        self.neighbours = face_grid("neighbours-grid", grid_value([], selectable=False))
        self.outputs = [self.found_image, self.found_text, self.neighbours]
        self.find_btn.click(self.find, self.query, self.outputs)
        self.tab.select(lambda: "similar", None, self.page.open_tab)

    @friendly
    def find(self, path) -> dict:
        if not path:
            raise ActionError("drop a photo first")
        ctx = self.ctx
        result = find_similar(
            ctx.state_store, ctx.artifact_store, ctx.face_engine, Path(path).read_bytes(), cache=ctx.classifier_cache
        )
        snap = snapshot(ctx.state_store)
        rgb = np.ascontiguousarray(result.image_bgr[:, :, ::-1])
        if not result.faces:
            return {
                self.found_image: (rgb, []),
                self.found_text: "No face found in this photo.",
                self.neighbours: grid_value([], selectable=False),
            }
        boxes, lines, tiles = [], [], []
        for number, face in enumerate(result.faces, start=1):
            label = face_label(snap, number, face)
            x, y, w, h = face.box
            boxes.append(((x, y, x + w, y + h), label))
            lines.append(f"- **Face {md(label)}**")
            tiles += self._neighbour_tiles(snap, face, f"{number} · " if len(result.faces) > 1 else "")
        if result.model_version is None:
            lines.append("\n_No classifier is serving yet, so only the nearest labeled faces are shown._")
        return {
            self.found_image: (rgb, boxes),
            self.found_text: "\n".join(lines),
            self.neighbours: grid_value(tiles, selectable=False, empty="No labeled faces yet."),
        }

    def _neighbour_tiles(self, snap: Snapshot, face: FoundFace, prefix: str) -> list[Tile]:
        near = [FaceItem(n.face_id, n.persona_id) for n in face.neighbours]
        return [
            Tile(
                tile.face_id,
                tile.src,
                caption=prefix + snap.name(neighbour.persona_id),
                badge=f"sim {neighbour.similarity:.2f}",
                tone="info",
                title=tile.title,
            )
            for tile, neighbour in zip(self.ctx.tiles(snap, near), face.neighbours, strict=False)
        ]


def face_label(snap: Snapshot, number: int, face: FoundFace) -> str:
    """The face's name with its chance of being right, as on every other tab."""
    if face.persona_id is not None:
        return f"{number}: {snap.name(face.persona_id)} ({chance(face.confidence)})"
    if face.candidate_persona_id is not None:
        return f"{number}: unknown (maybe {snap.name(face.candidate_persona_id)}, {chance(face.confidence)})"
    return f"{number}: unknown"
