"""A pure in-memory model of the labeling rules, written from what they mean rather than as an
event log: each face holds its label and rejections, each persona its name and merge. The
property test holds both real backends to it."""

from __future__ import annotations

from dataclasses import dataclass, field

Face = tuple[int | None, frozenset[int], str | None]  # (label, rejected personas, stranger / not_face)
BLANK: Face = (None, frozenset(), None)


@dataclass
class Action:
    """What one action changed, so that undo can check it and put it back."""

    what: str  # "face" or "persona"
    key: str | int  # the face id or the persona id
    attribute: str  # "label" for faces; "name" or "merged_into" for personas
    before: object
    after: object


@dataclass
class LabelModel:
    personas: dict[int, list] = field(default_factory=dict)  # id -> [name, merged_into]
    faces: dict[str, Face] = field(default_factory=dict)

    def ensure_persona(self, name: str) -> int:
        for persona_id, (known, _) in self.personas.items():
            if known == name:
                return persona_id
        persona_id = len(self.personas) + 1
        self.personas[persona_id] = [name, None]
        return persona_id

    # -- face labels -----------------------------------------------------------------------------
    def label(self, kind: str, face_id: str, persona_id: int | None) -> Action:
        before = self.faces.get(face_id, BLANK)
        label, rejected, verdict = before
        if kind in ("assign", "confirm"):
            label, rejected, verdict = persona_id, rejected - {persona_id}, None
        elif kind == "reject":
            label, rejected = (None if label == persona_id else label), rejected | {persona_id}
        elif kind in ("stranger", "not_face"):  # a verdict replaces the label; rejections stay
            label, verdict = None, kind
        else:
            label, verdict = None, None
        self.faces[face_id] = (label, rejected, verdict)
        return Action("face", face_id, "label", before, (label, rejected, verdict))

    # -- personas --------------------------------------------------------------------------------
    def merge(self, source_id: int, target_id: int) -> Action:
        if source_id == target_id:
            raise ValueError("into itself")
        if self.personas[source_id][1] is not None or self.personas[target_id][1] is not None:
            raise ValueError("only people still shown can be merged, into people still shown")
        self.personas[source_id][1] = target_id
        return Action("persona", source_id, "merged_into", None, target_id)

    def rename(self, persona_id: int, name: str) -> Action | None:
        old = self.personas[persona_id][0]
        if old == name:
            return None
        if any(known == name for known, _ in self.personas.values()):
            raise ValueError("name taken")
        self.personas[persona_id][0] = name
        return Action("persona", persona_id, "name", old, name)

    def undo(self, action: Action) -> Action | None:
        """Put back what ``action`` changed if it is still as it left it; None if already back."""
        now = self._value(action)
        if now == action.before:
            return None
        if now != action.after:
            raise ValueError("changed again since")
        if action.what == "face":
            self.faces[action.key] = action.before
            return Action("face", action.key, "label", action.after, action.before)
        if action.attribute == "name":
            return self.rename(action.key, action.before)
        if action.before is not None:  # an unmerge undone is the merge again, with its checks
            return self.merge(action.key, action.before)
        self.personas[action.key][1] = None
        return Action("persona", action.key, "merged_into", action.after, None)

    def _value(self, action: Action) -> object:
        if action.what == "face":
            return self.faces.get(action.key, BLANK)
        name, merged_into = self.personas[action.key]
        return name if action.attribute == "name" else merged_into

    # -- what people see -------------------------------------------------------------------------
    def resolve(self, persona_id: int | None) -> int | None:
        while persona_id is not None and self.personas[persona_id][1] is not None:
            persona_id = self.personas[persona_id][1]
        return persona_id

    def labels(self) -> dict[str, Face]:
        return {
            face_id: (self.resolve(label), frozenset(self.resolve(p) for p in rejected), verdict)
            for face_id, (label, rejected, verdict) in self.faces.items()
        }

    def shown(self) -> list[tuple[int, str]]:
        return sorted(
            ((pid, name) for pid, (name, merged) in self.personas.items() if merged is None), key=lambda p: p[1]
        )
