"""Unknown faces: faces nobody named, in look-alike groups, named a group at a time."""

from __future__ import annotations

from dataclasses import replace

import gradio as gr

from gradio_app import labels
from gradio_app.components import face_grid, grid_value, selected_ids
from gradio_app.context import MAX_TILES
from gradio_app.formatting import chance, faces, md, with_notice
from gradio_app.page import Tab, actor, friendly, keep_selection, mark_selected_js, persona_choices, target
from gradio_app.snapshot import SET_ASIDE_CAPTIONS, FaceItem, Snapshot, snapshot
from gradio_app.unknown import FaceCluster, unknown_clusters
from resources.state_store.records import LabelKind


class UnknownTab(Tab):
    name, title = "unknown", "Unknown faces"

    def build(self) -> None:
        self.clusters = gr.State([])
        gr.Markdown(
            "Faces nobody has named, in groups that look alike. Pick a group, leave out faces that do not "
            "belong (click them), and name the rest at once."
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=260):
                self.covers = gr.Gallery(
                    label="Groups (largest first)",
                    columns=3,
                    height=520,
                    allow_preview=False,
                    object_fit="cover",
                    fit_columns=False,
                    elem_id="cluster-covers",
                )
            with gr.Column(scale=3, min_width=480):
                self.title = gr.Markdown(elem_id="cluster-title")
                self.grid = face_grid("cluster-grid")
                with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
                    self.name_dd = gr.Dropdown(
                        label="Who is this?",
                        info="Type a new name, or pick a person",
                        allow_custom_value=True,
                        elem_id="cluster-name",
                        scale=3,
                    )
                    self.name_btn = gr.Button("Name selected faces", variant="primary", elem_id="cluster-btn")
                with gr.Row():
                    self.stranger_btn = gr.Button("Strangers, don't ask again", size="sm", elem_id="cluster-stranger")
                    self.not_face_btn = gr.Button("Not faces", size="sm", elem_id="cluster-not-face")
                with gr.Accordion("Strangers and not-faces", open=False, elem_id="set-aside"):
                    self.aside_title = gr.Markdown(elem_id="set-aside-title")
                    self.aside_grid = face_grid("set-aside-grid")
                    self.restore_btn = gr.Button("Restore selected (ask about them again)", elem_id="restore-btn")
        self.index = gr.State(0)
        self.outputs = [self.clusters, self.covers, self.index, self.title, self.grid, self.name_dd]
        self.outputs += [self.aside_title, self.aside_grid]
        self.refresh_inputs = [self.index, self.grid]
        self.follow_outputs = [self.clusters, self.covers, self.index, self.title, self.grid]
        self._wire()

    def refresh(self, values: dict, keep: bool = False) -> dict:
        view = self.view(values[self.index])
        if keep:  # a prediction update keeps the person's selection (the group may have changed)
            view = {c: view[c] for c in self.follow_outputs}
            if values[self.grid]:
                view[self.grid] = keep_selection(view[self.grid], values[self.grid])
        return view

    def view(self, index: int = 0, notice: str = "") -> dict:
        snap = snapshot(self.ctx.state_store)
        clusters = unknown_clusters(self.ctx.state_store, snap, self.ctx.space)
        view = {self.name_dd: gr.update(choices=persona_choices(snap), value=None)} | self._set_aside(snap)
        if not clusters:
            return view | {
                self.clusters: [],
                self.covers: [],
                self.index: 0,
                self.title: with_notice("### No unknown faces\nEvery face is labeled or recognised.", notice),
                self.grid: grid_value([], empty="Nothing to name."),
            }
        index = min(max(int(index or 0), 0), len(clusters) - 1)
        covers = [
            (cover, faces(len(c.face_ids)))
            for c in clusters
            if (cover := self.ctx.thumbnail(c.face_ids[0])) is not None
        ]
        cluster = clusters[index]
        items = [FaceItem(f, None, None, _candidate(snap, f)) for f in cluster.face_ids]
        tiles = self.ctx.tiles(snap, items[:MAX_TILES], show_name=False)
        guess = (
            f" It looks most like **{md(snap.name(cluster.candidate_persona_id))}** "
            f"(at most {chance(_best_chance(snap, cluster))} chance per face that it is them)."
            if cluster.candidate_persona_id
            else ""
        )
        title = (
            f"### Group {index + 1} of {len(clusters)} · {len(cluster.face_ids)} face(s)\n"
            f"All faces start selected: click the ones that are someone else.{guess}"
        )
        return view | {
            self.clusters: [c.face_ids for c in clusters],
            self.covers: covers,
            self.index: index,
            self.title: with_notice(title, notice),
            self.grid: grid_value(tiles, selected=[t.face_id for t in tiles]),
        }

    def _set_aside(self, snap: Snapshot) -> dict:
        set_aside = snap.set_aside_faces()
        strangers = sum(1 for kind in set_aside.values() if kind == LabelKind.STRANGER)
        items = [FaceItem(f, None) for f in set_aside]
        tiles = [
            replace(tile, caption=SET_ASIDE_CAPTIONS[set_aside[tile.face_id]])
            for tile in self.ctx.tiles(snap, items[:MAX_TILES])
        ]
        return {
            self.aside_title: f"Strangers: {faces(strangers)} · not faces: {faces(len(set_aside) - strangers)}. "
            "They are never asked about or predicted; restore one to ask again.",
            self.aside_grid: grid_value(tiles, empty="Nobody was set aside."),
        }

    def _wire(self) -> None:
        def pick_cluster(event: gr.SelectData):
            return self.view(event.index)

        @friendly(unchanged=lambda index, *_: self.view(index))
        def name_group(index, grid, name, request: gr.Request):
            face_ids = selected_ids(grid)
            chosen = target(name)
            persona, seqs = labels.assign_faces(self.ctx.state_store, face_ids, actor=actor(request), **chosen)
            self.page.record(request, f"named {faces(len(face_ids))} {persona.name}", seqs)
            return self.view(index, f"✓ Named {len(face_ids)} face(s) {md(persona.name)}.")

        def set_aside(kind: LabelKind, said: str):
            @friendly(unchanged=lambda index, *_: self.view(index))
            def handler(index, grid, request: gr.Request):
                face_ids = selected_ids(grid)
                seqs = labels.set_aside(self.ctx.state_store, face_ids, kind, actor=actor(request))
                self.page.record(request, f"{faces(len(face_ids))} {said}", seqs)
                return self.view(index, f"Set aside {faces(len(face_ids))}: {said}.")

            return handler

        @friendly(unchanged=lambda index, *_: self.view(index))
        def restore(index, grid, request: gr.Request):
            face_ids = selected_ids(grid)
            seqs = labels.restore_faces(self.ctx.state_store, face_ids, actor=actor(request))
            self.page.record(request, f"restored {faces(len(face_ids))}", seqs)
            return self.view(index, f"Restored {faces(len(face_ids))}: they will be asked about again.")

        for button, kind, said in [
            (self.stranger_btn, LabelKind.STRANGER, "strangers"),
            (self.not_face_btn, LabelKind.NOT_FACE, "not faces"),
        ]:
            js = mark_selected_js("cluster-grid", said)
            self.page.labeling(button.click, set_aside(kind, said), [self.index, self.grid], self.outputs, js=js)
        js = mark_selected_js("set-aside-grid", "restoring…")
        self.page.labeling(self.restore_btn.click, restore, [self.index, self.aside_grid], self.outputs, js=js)
        self.covers.select(pick_cluster, None, self.outputs)
        self.page.labeling(
            self.name_btn.click,
            name_group,
            [self.index, self.grid, self.name_dd],
            self.outputs,
            js=mark_selected_js("cluster-grid", "naming…"),
        )
        self.tab.select(self.view, self.index, self.outputs).then(lambda: "unknown", None, self.page.open_tab)


def _candidate(snap: Snapshot, face_id: str) -> int | None:
    prediction = snap.open_prediction(face_id)
    return prediction.candidate_persona_id if prediction else None


def _best_chance(snap: Snapshot, cluster: FaceCluster) -> float | None:
    """The highest chance among the group's faces that the group's likeliest person is right."""
    chances = [
        p.confidence
        for f in cluster.face_ids
        if (p := snap.open_prediction(f)) is not None and p.candidate_persona_id == cluster.candidate_persona_id
    ]
    return max(chances, default=None)
