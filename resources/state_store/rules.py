"""The state store's rules, once for every backend: backends only read and write.

What a label event means, what a merge may do, which persona a merged persona's labels count for,
when a prediction changed and how an event is undone are decided here, on plain records, so
SQLite and Cosmos DB cannot drift apart; the property test holds both to an in-memory model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from resources.state_store.records import (
    FaceLabelState,
    LabelEvent,
    LabelKind,
    ModelVersion,
    Persona,
    PersonaEvent,
    Prediction,
    Serving,
    ServingEvent,
    ServingKind,
)

CONFIDENCE_EPSILON = 1e-4  # smaller confidence changes are not worth a write
MAX_NAME_LENGTH = 120
EXCLUDING_KINDS = frozenset({LabelKind.STRANGER, LabelKind.NOT_FACE})  # the face leaves review and predictions
LABEL_KINDS = frozenset({LabelKind.ASSIGN, LabelKind.CONFIRM, LabelKind.REJECT, LabelKind.REMOVE}) | EXCLUDING_KINDS
FACE_KINDS = LABEL_KINDS | {LabelKind.CHECK}  # a CHECK changes no label: it says one was checked
PERSONA_KINDS = frozenset({LabelKind.MERGE, LabelKind.UNMERGE, LabelKind.RENAME})
LEGACY_MERGE_SOURCE = "merge"  # older stores marked a merge as ASSIGN with no face and this source
UNDO_SOURCE = "undo"


def teaches_the_model(event: LabelEvent) -> bool:
    """Whether an event can change what a classifier learns: a CHECK only marks a label as checked,
    so checks alone never start a retrain nor count as new labels."""
    return event.kind != LabelKind.CHECK


class MergeRefused(ValueError):
    """A merge that would hide people (into itself, twice, or in a loop)."""


class UndoRefused(ValueError):
    """An event that cannot be undone from the log."""


class PinRefused(ValueError):
    """A version that cannot be pinned (unknown, or a training attempt with no classifier)."""


# -- persona names ---------------------------------------------------------------------------
def validate_persona_name(name: str) -> str:
    """Persona names are free text, trimmed; empty or absurdly long names are refused."""
    if not isinstance(name, str):
        raise ValueError(f"persona name must be text, got {type(name).__name__}")
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValueError("persona name is empty")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"persona name is longer than {MAX_NAME_LENGTH} characters")
    return cleaned


def name_taken(name: str) -> ValueError:
    return ValueError(f"a persona named {name!r} already exists; merge instead")


# -- face label events -------------------------------------------------------------------------
def checked_face_event(event: LabelEvent) -> LabelEvent:
    """A face label event as the log takes it; bad input raises before anything is written."""
    kind = LabelKind(event.kind)  # raises ValueError for an unknown kind
    if kind not in FACE_KINDS:
        raise ValueError(f"{kind.value!r} is not a face label; use merge_personas/rename_persona/undo")
    if not isinstance(event.face_id, str) or not event.face_id:
        raise ValueError("a label event needs a face id")
    if kind in EXCLUDING_KINDS and event.persona_id is not None:
        raise ValueError(f"a {kind.value!r} label names no persona")
    return event


def derive_label_states(events: Iterable[LabelEvent]) -> dict[str, FaceLabelState]:
    """Replay events in sequence order into each face's current label, rejections and verdict.

    A stranger / not-a-face verdict replaces the label; a label or a REMOVE lifts the verdict.
    Rejections stay through both (they are about the persona, not the verdict). A CHECK of the
    face's current label marks it checked until the label changes (a CHECK naming no persona, or
    another persona than the label, clears the mark).
    """
    labels: dict[str, int | None] = {}
    rejected: dict[str, set[int]] = {}
    excluded: dict[str, LabelKind | None] = {}
    checked: dict[str, int | None] = {}
    for event in sorted(events, key=lambda e: e.seq or 0):
        face_rejects = rejected.setdefault(event.face_id, set())
        if event.kind == LabelKind.CHECK:
            checked[event.face_id] = event.persona_id
        elif event.kind in (LabelKind.ASSIGN, LabelKind.CONFIRM):
            labels[event.face_id] = event.persona_id
            excluded[event.face_id] = None
            face_rejects.discard(event.persona_id)
        elif event.kind == LabelKind.REJECT:
            face_rejects.add(event.persona_id)
            if labels.get(event.face_id) == event.persona_id:
                labels[event.face_id] = None
        elif event.kind == LabelKind.REMOVE:
            labels[event.face_id] = None
            excluded[event.face_id] = None
        elif event.kind in EXCLUDING_KINDS:
            labels[event.face_id] = None
            excluded[event.face_id] = LabelKind(event.kind)
        if checked.get(event.face_id) != labels.get(event.face_id):
            checked[event.face_id] = None  # a check holds only for the label it kept
    return {
        face_id: FaceLabelState(
            labels.get(face_id), frozenset(rejected.get(face_id, ())), excluded.get(face_id), checked.get(face_id)
        )
        for face_id in set(labels) | set(rejected)
    }


def stored_event(row: Mapping) -> LabelEvent | PersonaEvent:
    """One logged event as either backend stores it (an old store's merge marker included)."""
    kind = LabelKind(row["kind"])
    legacy_merge = not row["face_id"] and kind == LabelKind.ASSIGN and row["source"] == LEGACY_MERGE_SOURCE
    if kind in FACE_KINDS and not legacy_merge:
        return LabelEvent(
            row["face_id"], kind, row["persona_id"], row["source"], row["actor"], row["seq"], row["created_at"]
        )
    if legacy_merge:  # it named only the target: the persona that went away is not in the log
        return PersonaEvent(LabelKind.MERGE, None, row["persona_id"], None, None, row["actor"], row["seq"])
    return PersonaEvent(
        kind,
        row["persona_id"],
        row.get("into"),
        row.get("name"),
        row.get("previous_name"),
        row["actor"],
        row["seq"],
        row["created_at"],
    )


# -- merges ------------------------------------------------------------------------------------
def effective_personas(stored: Iterable[Persona]) -> dict[int, Persona]:
    """Personas by id with every merge chain intact; a loop (only an old store could hold one,
    from before merges were validated everywhere) is broken at its lowest id, so it shows as
    one person instead of vanishing."""
    personas = {p.persona_id: p for p in stored}
    for start in sorted(personas):
        path: list[int] = []
        current: int | None = start
        while current is not None and current in personas and current not in path:
            path.append(current)
            current = personas[current].merged_into
        if current is not None and current in path:
            loop = path[path.index(current) :]
            head = min(loop)
            personas[head] = dataclasses.replace(personas[head], merged_into=None)
    return personas


def resolve(persona_id: int | None, personas: Mapping[int, Persona]) -> int | None:
    """The persona whose labels a (possibly merged) persona's labels count for now."""
    seen: set[int] = set()
    while persona_id is not None and persona_id not in seen:
        seen.add(persona_id)
        persona = personas.get(persona_id)
        if persona is None or persona.merged_into is None:
            return persona_id
        persona_id = persona.merged_into
    return persona_id


def resolved_states(states: Mapping[str, FaceLabelState], personas: Mapping[int, Persona]) -> dict[str, FaceLabelState]:
    return {
        face_id: FaceLabelState(
            resolve(s.persona_id, personas),
            frozenset(resolve(p, personas) for p in s.rejected),
            s.excluded,
            resolve(s.checked, personas),
        )
        for face_id, s in states.items()
    }


def _existing(persona_id: int, personas: Mapping[int, Persona]) -> Persona:
    if persona_id not in personas:
        raise KeyError(f"no persona {persona_id}")
    return personas[persona_id]


def check_merge(source_id: int, target_id: int, personas: Mapping[int, Persona]) -> None:
    """Only a person still shown may be merged, and only into another one still shown.

    Both ends being unmerged is what makes a loop impossible: two tabs with a stale People list
    merging Ada into Bob and Bob into Ada get one merge and one clear refusal.
    """
    if source_id == target_id:
        raise MergeRefused("cannot merge a persona into itself")
    source, target = _existing(source_id, personas), _existing(target_id, personas)
    if source.merged_into is not None:
        raise MergeRefused(f"{source.name!r} is already merged into {_name(source.merged_into, personas)}")
    if target.merged_into is not None:
        shown = resolve(target_id, personas)
        if shown == source_id:
            raise MergeRefused(
                f"{target.name!r} is already merged into {source.name!r}; merging back would hide them both"
            )
        raise MergeRefused(f"{target.name!r} is already merged; merge into {_name(shown, personas)} instead")


def _name(persona_id: int | None, personas: Mapping[int, Persona]) -> str:
    persona = personas.get(persona_id) if persona_id is not None else None
    return repr(persona.name) if persona else f"persona {persona_id}"


@dataclass(frozen=True)
class PersonaChange:
    """What a persona action writes: the personas it read and depends on, as they are to be
    stored (unchanged ones too: a backend without transactions guards them against a concurrent
    change), and the one event that tells the log."""

    personas: tuple[Persona, ...]
    event: PersonaEvent


def merge(source_id: int, target_id: int, personas: Mapping[int, Persona], actor: str | None = None) -> PersonaChange:
    check_merge(source_id, target_id, personas)
    source = dataclasses.replace(personas[source_id], merged_into=target_id)
    return PersonaChange(
        (source, personas[target_id]), PersonaEvent(LabelKind.MERGE, source_id, target_id, actor=actor)
    )


def rename(
    persona_id: int, new_name: str, personas: Mapping[int, Persona], actor: str | None = None
) -> PersonaChange | None:
    """None when the name is already this persona's (nothing to log)."""
    new_name = validate_persona_name(new_name)
    persona = _existing(persona_id, personas)
    if persona.name == new_name:
        return None
    if any(p.name == new_name for p in personas.values()):
        raise name_taken(new_name)
    event = PersonaEvent(LabelKind.RENAME, persona_id, name=new_name, previous_name=persona.name, actor=actor)
    return PersonaChange((dataclasses.replace(persona, name=new_name),), event)


# -- undo ----------------------------------------------------------------------------------------
# Undo is by state: an event can be undone while what it changed is still as it left it; undone
# (or changed back) already, there is nothing to do; changed again since, the later change must be
# undone first. So undo never silently reverts someone else's later label.
def undo_face_event(history: Sequence[LabelEvent], seq: int, actor: str | None = None) -> list[LabelEvent]:
    """Events that take a face back to its label before event ``seq`` (``history``: the face's events)."""
    face_id = next(e.face_id for e in history if e.seq == seq)
    blank = FaceLabelState(None)
    before = derive_label_states([e for e in history if (e.seq or 0) < seq]).get(face_id, blank)
    after = derive_label_states([e for e in history if (e.seq or 0) <= seq]).get(face_id, blank)
    now = derive_label_states(history).get(face_id, blank)
    if now == before:
        return []
    if now != after:
        raise UndoRefused(f"face {face_id} was labeled again after event {seq}; undo the later label first")
    return [
        LabelEvent(face_id, kind, persona_id, source=UNDO_SOURCE, actor=actor)
        for kind, persona_id in transition(now, before)
    ]


def transition(now: FaceLabelState, wanted: FaceLabelState) -> list[tuple[LabelKind, int | None]]:
    """The fewest plain label events from one state to another (a label is never also rejected).

    A stranger / not-a-face verdict is lifted by any ASSIGN or REMOVE on the way, so it is given
    again last when the wanted state has it; a check mark holds while the label stays, so it is
    set (or cleared) once the label is right.
    """
    steps: list[tuple[LabelKind, int | None]] = []
    label = now.persona_id
    if now.excluded is not None and wanted.excluded != now.excluded:  # only a REMOVE or a label lifts it
        steps.append((LabelKind.REMOVE, None))
    for persona_id in sorted(now.rejected - wanted.rejected):  # only an assign lifts a rejection
        steps.append((LabelKind.ASSIGN, persona_id))
        label = persona_id
    for persona_id in sorted(wanted.rejected - now.rejected):
        steps.append((LabelKind.REJECT, persona_id))
        label = None if label == persona_id else label
    if wanted.persona_id is None and label is not None:
        steps.append((LabelKind.REMOVE, None))
    elif wanted.persona_id is not None and label != wanted.persona_id:
        steps.append((LabelKind.ASSIGN, wanted.persona_id))
    if wanted.checked != _checked_after(now, steps):
        steps.append((LabelKind.CHECK, wanted.checked))
    lifted = any(kind in (LabelKind.ASSIGN, LabelKind.REMOVE) for kind, _ in steps)
    verdict = None if lifted else now.excluded
    if wanted.excluded is not None and wanted.excluded != verdict:
        steps.append((wanted.excluded, None))
    return steps


def _checked_after(now: FaceLabelState, steps: Sequence[tuple[LabelKind, int | None]]) -> int | None:
    """The check mark left after ``steps`` (``derive_label_states``' rule: it holds while the label does)."""
    label, checked = now.persona_id, now.checked
    for kind, persona_id in steps:
        if kind in (LabelKind.ASSIGN, LabelKind.CONFIRM):
            label = persona_id
        elif kind == LabelKind.REMOVE or (kind == LabelKind.REJECT and label == persona_id):
            label = None
        checked = checked if checked == label else None
    return checked


def undo_persona_event(
    event: PersonaEvent, personas: Mapping[int, Persona], actor: str | None = None
) -> PersonaChange | None:
    """The inverse of a merge (an unmerge), an unmerge (the merge again) or a rename (the old name)."""
    if event.persona_id is None:
        raise UndoRefused(f"merge {event.seq} was logged by an older FaceLoop that did not record who was merged")
    persona = _existing(event.persona_id, personas)
    if event.kind == LabelKind.RENAME:
        before, after, now = event.previous_name, event.name, persona.name
    elif event.kind == LabelKind.MERGE:
        before, after, now = None, event.into, persona.merged_into
    else:
        before, after, now = event.into, None, persona.merged_into
    if now == before:
        return None
    if now != after:
        raise UndoRefused(f"{persona.name!r} was renamed or merged again after event {event.seq}; undo that first")
    if event.kind == LabelKind.RENAME:
        return rename(persona.persona_id, event.previous_name or "", personas, actor)
    if event.kind == LabelKind.MERGE:
        unmerged = dataclasses.replace(persona, merged_into=None)
        return PersonaChange((unmerged,), PersonaEvent(LabelKind.UNMERGE, persona.persona_id, event.into, actor=actor))
    return merge(persona.persona_id, event.into, personas, actor)


# -- predictions ---------------------------------------------------------------------------------
def prediction_changed(old: Prediction | None, new: Prediction) -> bool:
    """Worth a write: new, another persona or candidate, or a confidence moved more than epsilon.

    SQLite evaluates this same rule inside its diff query (see ``sqlite.predictions``), since a
    relabel compares a million rows at once.
    """
    return (
        old is None
        or old.persona_id != new.persona_id
        or old.candidate_persona_id != new.candidate_persona_id
        or abs(old.confidence - new.confidence) > CONFIDENCE_EPSILON
    )


# -- which version serves ------------------------------------------------------------------------
# The quality gate promotes (the ``promoted`` flag); a labeler may pin another trained version.
# The newest serving event decides: a pin holds until a version checked after it passes the gate
# (the promoted version is then newer than every version judged when it was pinned), or until the
# labeler goes back to automatic. So the serving version is derived, never stored in place.
def has_classifier(version: ModelVersion) -> bool:
    """A trained version (a failed training attempt is recorded with no artifact)."""
    return bool(version.artifact_key) and not version.metrics.get("training_error")


def serving(versions: Sequence[ModelVersion], events: Sequence[ServingEvent]) -> Serving:
    """The version that serves: the pinned one while its pin holds, else the promoted one."""
    promoted = next((v for v in versions if v.promoted), None)
    last = max(events, key=lambda e: e.seq or 0, default=None)
    if last is None or last.kind != ServingKind.PIN:
        return Serving(promoted, promoted)
    if promoted is not None and promoted.version > last.newest_checked:
        return Serving(promoted, promoted, lifted_pin=last)
    pinned = next((v for v in versions if v.version == last.version), None)
    return Serving(pinned, promoted, pin=last) if pinned is not None else Serving(promoted, promoted)


def pin(
    version: int, versions: Sequence[ModelVersion], events: Sequence[ServingEvent], actor: str | None = None
) -> ServingEvent | None:
    """The event that makes ``version`` serve; None when it serves by this very pin already."""
    chosen = next((v for v in versions if v.version == version), None)
    if chosen is None:
        raise PinRefused(f"there is no classifier version {version}")
    if not has_classifier(chosen):
        raise PinRefused(f"version {version} is a failed training attempt: there is no classifier to serve")
    now = serving(versions, events)
    if now.pin is not None and now.pin.version == version:
        return None
    newest_checked = max((v.version for v in versions if v.passed_gate is not None), default=0)
    return ServingEvent(ServingKind.PIN, version, newest_checked, actor=actor)


def automatic(
    versions: Sequence[ModelVersion], events: Sequence[ServingEvent], actor: str | None = None
) -> ServingEvent | None:
    """The event that gives serving back to the quality gate; None when no pin holds."""
    if serving(versions, events).pin is None:
        return None
    return ServingEvent(ServingKind.AUTOMATIC, actor=actor)


def undo_serving_event(
    versions: Sequence[ModelVersion], events: Sequence[ServingEvent], seq: int, actor: str | None = None
) -> ServingEvent | None:
    """The event that takes serving back to how it was before event ``seq`` (by state, as face undo).

    None when serving is as it was before already (the pin was lifted, or undone); refused when
    serving changed again since (another pin, or back to automatic, after it).
    """
    if not any(e.seq == seq for e in events):
        raise KeyError(f"no serving event {seq}")
    before = serving(versions, [e for e in events if (e.seq or 0) < seq])
    after = serving(versions, [e for e in events if (e.seq or 0) <= seq])
    now = serving(versions, events)

    def key(state: Serving) -> tuple:
        return (state.pin.seq if state.pin else None, state.model.version if state.model else None)

    if key(now)[1:] == key(before)[1:] and (now.pin is None) == (before.pin is None):
        return None
    if key(now) != key(after):
        raise UndoRefused(f"serving changed again after event {seq}; undo that first")
    if before.pin is None:
        return ServingEvent(ServingKind.AUTOMATIC, source=UNDO_SOURCE, actor=actor)
    return ServingEvent(ServingKind.PIN, before.pin.version, before.pin.newest_checked, source=UNDO_SOURCE, actor=actor)
