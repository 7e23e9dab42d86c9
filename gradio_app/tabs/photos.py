"""Photos: the library a page at a time, filtered by person, unknown faces, no face or unreadable;
the chosen photo with every face framed and named."""

from __future__ import annotations

import gradio as gr
from PIL import Image, ImageDraw

from gradio_app.formatting import md
from gradio_app.page import Tab, persona_choices
from gradio_app.photos import SHOW, LibraryPhoto, library_photos, page_of
from gradio_app.snapshot import Snapshot, snapshot

PAGE_SIZE = 24  # photos a page: each is decoded (at a reduced scale) to show it
THUMB_SIDE = 240


class PhotosTab(Tab):
    name, title = "photos", "Photos"

    def build(self) -> None:
        gr.Markdown(
            "Every photo of the library. Pick one to see its faces framed and named (a name with **?** "
            "is a prediction). Strangers and not-faces are listed, and restored, under **Unknown faces → "
            "Strangers and not-faces**."
        )
        with gr.Row(equal_height=False):
            self.show = gr.Radio(
                [(label, key) for key, label in SHOW.items()], value="all", label="Show", elem_id="photos-show", scale=3
            )
            self.person = gr.Dropdown(label="Person", elem_id="photos-person", scale=2)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                with gr.Row(equal_height=True):
                    self.prev_btn = gr.Button("← Newer", size="sm", elem_id="photos-prev", scale=0, min_width=110)
                    self.count = gr.Markdown(elem_id="photos-count")
                    self.next_btn = gr.Button("Older →", size="sm", elem_id="photos-next", scale=0, min_width=110)
                self.grid = gr.Gallery(
                    columns=6,
                    height=560,
                    allow_preview=False,
                    object_fit="cover",
                    fit_columns=False,
                    show_label=False,
                    buttons=[],
                    interactive=False,
                    elem_id="photos-grid",
                )
            with gr.Column(scale=2, min_width=360):
                self.photo = gr.Image(
                    label="Photo", height=440, interactive=False, buttons=["fullscreen"], elem_id="photos-photo"
                )
                self.about = gr.Markdown(elem_id="photos-about")
        self.page_no = gr.State(0)
        self.outputs = [self.show, self.person, self.count, self.grid, self.photo, self.about]
        self.outputs += [self.page_no, self.prev_btn, self.next_btn]
        self.refresh_inputs = [self.show, self.person, self.page_no]
        self._wire()

    def refresh(self, values: dict, keep: bool = False) -> dict:
        return self.view(values[self.show], values[self.person], values[self.page_no])

    def view(self, show: str, persona_id, page: int = 0) -> dict:
        """One page of the photos ``show`` asks for, the first of them framed beside it."""
        snap, shown, page, total = self._page(show, persona_id, page)
        persona_id = persona_id if persona_id in snap.personas else None
        first = page * PAGE_SIZE
        count = f"**{first + 1}–{first + len(shown)}** of **{total}** photos" if shown else "No photo here."
        if show == "person" and persona_id is None:
            count = "Pick a person to see their photos."
        return {
            self.show: show,
            self.person: gr.update(choices=persona_choices(snap), value=persona_id),
            self.count: count,
            self.grid: [(self._thumbnail(p), p.caption) for p in shown],
            self.page_no: page,
            self.prev_btn: gr.update(interactive=page > 0),
            self.next_btn: gr.update(interactive=first + len(shown) < total),
        } | self._chosen(shown[0] if shown else None)

    def _page(self, show: str, persona_id, page: int) -> tuple[Snapshot, list[LibraryPhoto], int, int]:
        snap = snapshot(self.ctx.state_store)
        persona_id = persona_id if persona_id in snap.personas else None
        photos = library_photos(self.ctx.state_store, snap, show or "all", persona_id)
        shown, page = page_of(photos, page, PAGE_SIZE)
        return snap, shown, page, len(photos)

    def _chosen(self, photo: LibraryPhoto | None) -> dict:
        if photo is None:
            return {self.photo: None, self.about: ""}
        boxes = [(f.box, f.caption) for f in photo.faces]
        picture = self.ctx.photo_with_boxes(photo.image_id, boxes) if photo.image_id else None
        faces = len(photo.faces)
        about = f"**{md(photo.key)}**  \n" + (
            f"{faces} face{'s' if faces != 1 else ''}: {md(photo.caption)}" if faces else md(photo.caption)
        )
        return {self.photo: picture, self.about: about}

    def _thumbnail(self, photo: LibraryPhoto) -> Image.Image:
        return (photo.image_id and self.ctx.photo(photo.image_id, side=THUMB_SIDE)) or unreadable_tile()

    def _wire(self) -> None:
        def pick(show, persona_id, page, event: gr.SelectData):
            _, shown, _, _ = self._page(show, persona_id, page)
            return self._chosen(shown[event.index] if 0 <= event.index < len(shown) else None)

        def filtered(show, persona_id):
            return self.view(show, persona_id, 0)

        def by_person(persona_id):
            return self.view("person" if persona_id is not None else "all", persona_id, 0)

        inputs = [self.show, self.person, self.page_no]
        self.show.input(filtered, [self.show, self.person], self.outputs)
        self.person.input(by_person, self.person, self.outputs)
        self.prev_btn.click(lambda s, p, n: self.view(s, p, n - 1), inputs, self.outputs)
        self.next_btn.click(lambda s, p, n: self.view(s, p, n + 1), inputs, self.outputs)
        self.grid.select(pick, inputs, [self.photo, self.about])
        self.tab.select(self.view, inputs, self.outputs).then(lambda: "photos", None, self.page.open_tab)


def unreadable_tile() -> Image.Image:
    """What stands in a photo's place when it cannot be decoded."""
    tile = Image.new("RGB", (THUMB_SIDE, THUMB_SIDE), (226, 232, 240))
    draw = ImageDraw.Draw(tile)
    draw.line([(60, 60), (180, 180)], fill=(148, 163, 184), width=8)
    draw.line([(180, 60), (60, 180)], fill=(148, 163, 184), width=8)
    return tile
