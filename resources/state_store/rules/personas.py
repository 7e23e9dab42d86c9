"""What a merge may do, and which persona a merged persona's labels count for."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from resources.state_store.records import (
    FaceLabelState,
    LabelKind,
    Persona,
    PersonaEvent,
)
from resources.state_store.rules.label_events import name_taken, validate_persona_name


class MergeRefused(ValueError):
    """A merge that would hide people (into itself, twice, or in a loop)."""


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
            s.set_aside,
            resolve(s.checked, personas),
        )
        for face_id, s in states.items()
    }


def existing_persona(persona_id: int, personas: Mapping[int, Persona]) -> Persona:
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
    source, target = existing_persona(source_id, personas), existing_persona(target_id, personas)
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
    persona = existing_persona(persona_id, personas)
    if persona.name == new_name:
        return None
    if any(p.name == new_name for p in personas.values()):
        raise name_taken(new_name)
    event = PersonaEvent(LabelKind.RENAME, persona_id, name=new_name, previous_name=persona.name, actor=actor)
    return PersonaChange((dataclasses.replace(persona, name=new_name),), event)
