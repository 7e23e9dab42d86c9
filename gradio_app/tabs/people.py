"""People: everyone FaceLoop knows, their predicted and labeled faces, and the admin of names."""

from __future__ import annotations

import gradio as gr

from gradio_app import labels
from gradio_app.components import face_grid, grid_value, selected_ids
from gradio_app.context import MAX_TILES
from gradio_app.errors import ActionError
from gradio_app.formatting import faces, md, with_notice
from gradio_app.page import Tab, actor, friendly, keep_selection, mark_selected_js, persona_choices, target
from gradio_app.people import (
    create_persona,
    delete_persona,
    merge_personas,
    persona_summaries,
    predicted_faces,
    rename_persona,
)
from gradio_app.snapshot import labeled_faces, snapshot


class PeopleTab(Tab):
    name, title = "people", "People"

    def build(self) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=380):
                self._build_list()
            with gr.Column(scale=3, min_width=480):
                self._build_faces()
        self.outputs = [self.table, self.pick, self.title, self.predicted, self.labeled]
        self.outputs += [self.merge_dd, self.move_dd, self.move_labeled_dd]
        self.refresh_inputs = [self.pick, self.predicted, self.labeled]
        self.follow_outputs = [self.table, self.title, self.predicted, self.labeled]  # what a prediction changes
        self._wire_faces()
        self._wire_admin()

    def _build_list(self) -> None:
        self.search = gr.Textbox(placeholder="Search people", show_label=False, elem_id="persona-search")
        self.table = gr.Dataframe(
            headers=["Person", "Labeled", "Predicted"],
            datatype=["str", "number", "number"],
            interactive=False,
            label="People (click one)",
            elem_id="persona-table",
            column_widths=["52%", "24%", "24%"],
            wrap=True,
            max_height=520,
        )
        with gr.Accordion("Add, rename, merge or delete people", open=False, elem_id="persona-admin"):
            self.new_name = gr.Textbox(label="New person", placeholder="Name", elem_id="new-persona")
            self.create_btn = gr.Button("Add person", elem_id="create-persona")
            self.rename_box = gr.Textbox(label="Rename the chosen person to", elem_id="rename-persona")
            self.rename_btn = gr.Button("Rename", elem_id="rename-btn")
            self.merge_dd = gr.Dropdown(label="Merge the chosen person into", elem_id="merge-into")
            self.merge_btn = gr.Button("Merge", variant="stop", elem_id="merge-btn")
            self.delete_btn = gr.Button("Delete the chosen person", variant="stop", elem_id="delete-btn")

    def _build_faces(self) -> None:
        self.pick = gr.Dropdown(label="Person", elem_id="persona-pick")
        self.title = gr.Markdown(elem_id="persona-title")
        gr.Markdown("#### Predicted — least sure first\nClick faces to select them, then say what they are.")
        self.predicted = face_grid("predicted-grid")
        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
            self.confirm_btn = gr.Button(
                "✓ Confirm selected", variant="primary", elem_id="confirm-btn", scale=2, min_width=220
            )
            self.reject_btn = gr.Button(
                "✗ Not this person", variant="stop", elem_id="reject-btn", scale=2, min_width=180
            )
            self.move_dd = gr.Dropdown(
                label="…or move selected to", allow_custom_value=True, elem_id="move-predicted", scale=3
            )
            self.move_btn = gr.Button("Move", elem_id="move-btn")
        gr.Markdown("#### Labeled by people")
        self.labeled = face_grid("labeled-grid")
        with gr.Row(equal_height=False, elem_classes=["fl-actions"]):
            self.remove_btn = gr.Button("Remove label of selected", elem_id="remove-btn", scale=2, min_width=220)
            self.move_labeled_dd = gr.Dropdown(
                label="…or move selected to", allow_custom_value=True, elem_id="move-labeled", scale=3
            )
            self.move_labeled_btn = gr.Button("Move", elem_id="move-labeled-btn")

    # -- views ---------------------------------------------------------------------------------
    def refresh(self, values: dict, keep: bool = False) -> dict:
        view = self.view(values[self.pick])
        if keep:  # a prediction update: the faces a person had selected stay selected
            view = {c: view[c] for c in self.follow_outputs}
            view[self.predicted] = keep_selection(view[self.predicted], values[self.predicted])
            view[self.labeled] = keep_selection(view[self.labeled], values[self.labeled])
        return view

    def view(self, persona_id, notice: str = "", search: str = "") -> dict:
        snap = snapshot(self.ctx.state_store)
        summaries = persona_summaries(snap)
        shown = [s for s in summaries if search.strip().lower() in s.name.lower()] if search else summaries
        choices = persona_choices(snap)
        ids = {s.persona_id for s in summaries}
        if persona_id is not None and snap.resolve(int(persona_id)) in ids:
            persona_id = snap.resolve(int(persona_id))
        else:
            persona_id = (shown or summaries)[0].persona_id if summaries else None
        view = {self.table: [[s.name, s.labeled, s.predicted] for s in shown]}
        if persona_id is None:
            empty = grid_value([], empty="No people yet: add one, or name a group in Unknown faces.")
            return view | {
                self.pick: gr.update(choices=choices, value=None),
                self.title: with_notice("### No people yet", notice),
                self.predicted: empty,
                self.labeled: empty,
                self.merge_dd: gr.update(choices=[]),
                self.move_dd: gr.update(choices=choices),
                self.move_labeled_dd: gr.update(choices=choices),
            }
        name = snap.name(persona_id)
        predicted, labeled = predicted_faces(snap, persona_id), labeled_faces(snap, persona_id)
        others = gr.update(choices=[c for c in choices if c[1] != persona_id], value=None)
        title = f"### {md(name)}\n{len(labeled)} labeled by people · {len(predicted)} predicted"
        return view | {
            self.pick: gr.update(choices=choices, value=persona_id),
            self.title: with_notice(title, notice),
            self.predicted: grid_value(
                self.ctx.tiles(snap, predicted[:MAX_TILES]),
                empty=f"No face is predicted as {name} right now.",
                note=f"showing the {MAX_TILES} least sure of {len(predicted)}" if len(predicted) > MAX_TILES else "",
            ),
            self.labeled: grid_value(
                self.ctx.tiles(snap, labeled[:MAX_TILES]),
                empty=f"Nobody labeled a face as {name} yet.",
                note=f"showing {MAX_TILES} of {len(labeled)}" if len(labeled) > MAX_TILES else "",
            ),
            self.merge_dd: others,
            self.move_dd: others,
            self.move_labeled_dd: others,
        }

    def _unchanged(self, persona_id, *_args) -> dict:
        """After a refusal: the same person, the browser's "pending" marks cleared."""
        return self.view(persona_id) if isinstance(persona_id, int | float) else {}

    # -- handlers ------------------------------------------------------------------------------
    def _wire_faces(self) -> None:
        store, outputs = self.ctx.state_store, self.outputs

        def pick_from_table(search: str, event: gr.SelectData):
            snap = snapshot(store)
            shown = [s for s in persona_summaries(snap) if search.strip().lower() in s.name.lower()]
            row = event.index[0] if isinstance(event.index, list | tuple) else event.index
            return self.view(shown[row].persona_id if 0 <= row < len(shown) else None, search=search)

        self.table.select(pick_from_table, self.search, outputs)
        self.pick.input(lambda pid, search: self.view(pid, search=search), [self.pick, self.search], outputs)
        self.search.input(lambda search: self.view(None, search=search), self.search, outputs)

        # Each click marks its faces in the browser at once (js runs before the round trip).
        for button, act, inputs, grid_id, state in [
            (self.confirm_btn, self._confirm, [self.predicted], "predicted-grid", "✓ confirmed"),
            (self.reject_btn, self._reject, [self.predicted], "predicted-grid", "✗ not this person"),
            (self.move_btn, self._move, [self.predicted, self.move_dd], "predicted-grid", "moving…"),
            (self.remove_btn, self._remove, [self.labeled], "labeled-grid", "label removed"),
            (self.move_labeled_btn, self._move, [self.labeled, self.move_labeled_dd], "labeled-grid", "moving…"),
        ]:
            handler = self._labeling(act, to_someone=len(inputs) == 2)
            self.page.labeling(
                button.click, handler, [self.pick, *inputs], outputs, js=mark_selected_js(grid_id, state)
            )
        self.tab.select(self.view, self.pick, outputs).then(lambda: "people", None, self.page.open_tab)

    def _labeling(self, act, to_someone: bool = False):
        """A button's handler: ``act`` labels the selected faces, its step goes on the undo list."""

        def labeled(persona_id, grid, rest: tuple, request: gr.Request) -> dict:
            persona_id = need_persona(persona_id)
            face_ids = selected_ids(grid)
            notice, undo_as, seqs = act(face_ids, persona_id, *rest, actor=actor(request))
            self.page.record(request, undo_as, seqs)
            return self.view(persona_id, notice)

        @friendly(unchanged=self._unchanged)
        def handler(persona_id, grid, request: gr.Request):
            return labeled(persona_id, grid, (), request)

        @friendly(unchanged=self._unchanged)
        def handler_to(persona_id, grid, to, request: gr.Request):
            return labeled(persona_id, grid, (to,), request)

        return handler_to if to_someone else handler

    def _name(self, persona_id: int) -> str:
        return snapshot(self.ctx.state_store).name(persona_id)

    def _confirm(self, face_ids, persona_id, actor=None):
        seqs = labels.confirm_faces(self.ctx.state_store, face_ids, persona_id, actor=actor)
        n = len(face_ids)
        return f"✓ Confirmed {faces(n)}.", f"confirmed {faces(n)} as {self._name(persona_id)}", seqs

    def _reject(self, face_ids, persona_id, actor=None):
        seqs = labels.reject_faces(self.ctx.state_store, face_ids, persona_id, actor=actor)
        n = len(face_ids)
        return f"✗ Marked {faces(n)} as not this person.", f"{faces(n)} not {self._name(persona_id)}", seqs

    def _remove(self, face_ids, persona_id, actor=None):
        seqs = labels.remove_labels(self.ctx.state_store, face_ids, actor=actor)
        n = len(face_ids)
        return f"Removed the label of {faces(n)}.", f"removed the label of {faces(n)}", seqs

    def _move(self, face_ids, persona_id, to, actor=None):
        persona, seqs = labels.assign_faces(self.ctx.state_store, face_ids, actor=actor, **target(to))
        n = len(face_ids)
        return f"Moved {faces(n)} to {md(persona.name)}.", f"moved {faces(n)} to {persona.name}", seqs

    def _wire_admin(self) -> None:
        store, outputs = self.ctx.state_store, self.outputs

        @friendly
        def do_create(name: str):
            persona, new = create_persona(store, name)
            notice = f"Added {md(persona.name)}." if new else f"{md(persona.name)} already exists."
            return self.view(persona.persona_id, notice) | {self.new_name: ""}

        @friendly
        def do_rename(persona_id, name: str, request: gr.Request):
            before = snapshot(store).name(persona_id) if persona_id is not None else ""
            persona, seqs = rename_persona(store, persona_id, name, actor=actor(request))
            self.page.record(request, f"renamed {before} to {persona.name}", seqs)
            return self.view(persona.persona_id, f"Renamed to {md(persona.name)}.") | {self.rename_box: ""}

        @friendly
        def do_merge(persona_id, target_id, request: gr.Request):
            source = snapshot(store).name(persona_id) if persona_id is not None else ""
            persona, seqs = merge_personas(store, persona_id, target_id, actor=actor(request))
            self.page.record(request, f"merged {source} into {persona.name}", seqs)
            return self.view(persona.persona_id, f"Merged: every label now counts for {md(persona.name)}.")

        @friendly
        def do_delete(persona_id, request: gr.Request):
            persona_id = need_persona(persona_id)
            name = snapshot(store).name(persona_id)
            seqs = delete_persona(store, persona_id, actor=actor(request))
            self.page.record(request, f"deleted {name}", seqs)
            return self.view(None, f"Deleted {md(name)}: {faces(len(seqs))} unlabeled. Undo brings them back.")

        self.create_btn.click(do_create, self.new_name, [*outputs, self.new_name])
        self.new_name.submit(do_create, self.new_name, [*outputs, self.new_name])
        self.page.labeling(self.rename_btn.click, do_rename, [self.pick, self.rename_box], [*outputs, self.rename_box])
        self.page.labeling(self.merge_btn.click, do_merge, [self.pick, self.merge_dd], outputs)
        self.page.labeling(self.delete_btn.click, do_delete, self.pick, outputs)


def need_persona(persona_id: int | float | None) -> int:
    """The chosen person's id, or a refusal when nobody is chosen (the dropdown sends floats too)."""
    if persona_id is None:
        raise ActionError("choose a person first")
    return int(persona_id)
