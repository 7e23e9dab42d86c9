""" "Check these labels": the people's own labels the model disagrees with most, to keep or fix.

The ranking is made at training (``assets.core.learning.training.label_check``, each label scored
by a model that never saw it) and stored with the version's metrics; here it is read back and
narrowed to the labels still open: unchanged since, and not checked and kept already (a CHECK
event, see ``rules.derive_label_states``). No Gradio in here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from gradio_app.labeling import assign_faces
from gradio_app.reading import APP_SOURCE, ActionError, Snapshot
from resources.state_store.base import StateStore
from resources.state_store.records import LabelEvent, LabelKind, ModelVersion

DISAGREES_BELOW = 0.5  # a label the model finds less likely than not is worth a look; above, it agrees


@dataclass(frozen=True)
class LabelToCheck:
    face_id: str
    persona_id: int  # the label people gave
    agreement: float  # how likely the model (trained without this label) finds it: low is doubtful
    model_says: int | None  # the person it finds likeliest instead (None: gone since)
    model_version: int


def ranked_version(store: StateStore) -> ModelVersion | None:
    """The newest version that ranked its labels (a failed attempt has no ranking)."""
    return next((v for v in store.model_versions() if "label_check" in v.metrics), None)


def labels_to_check(store: StateStore, snap: Snapshot) -> list[LabelToCheck]:
    """The newest ranking's labels the model disagrees with (``DISAGREES_BELOW``) that still stand as
    ranked and nobody kept yet, most doubtful first."""
    version = ranked_version(store)
    if version is None:
        return []
    by_name = {p.name: p.persona_id for p in snap.personas.values()}
    shown = {p.persona_id for p in snap.active_personas()}
    found = []
    for row in version.metrics["label_check"]:
        if row["agreement"] >= DISAGREES_BELOW:
            continue
        state = snap.states.get(row["face_id"])
        if state is None or state.persona_id is None or state.checked == state.persona_id:
            continue
        ranked_as = snap.resolve(by_name.get(row["persona"]))
        if ranked_as is not None and ranked_as != state.persona_id:
            continue  # relabeled since the ranking: that was the fix
        says = snap.resolve(by_name.get(row["model_says"]))
        says = says if says in shown and says != state.persona_id else None
        found.append(LabelToCheck(row["face_id"], state.persona_id, float(row["agreement"]), says, version.version))
    return found


def keep_labels(store: StateStore, checks: Sequence[LabelToCheck], actor: str | None = None) -> list[int]:
    """The labels are right: CHECK events, so they are not asked about again (Undo takes them back)."""
    if not checks:
        raise ActionError("there is no label to keep; reload the page")
    now = time.time()
    events = [
        LabelEvent(c.face_id, LabelKind.CHECK, c.persona_id, source=APP_SOURCE, actor=actor, created_at=now)
        for c in checks
    ]
    return store.append_label_events(events)


def fix_label(
    store: StateStore, check: LabelToCheck | None, persona_id: int | None = None, name: str | None = None, actor=None
) -> tuple[str, list[int]]:
    """The label was wrong: the face becomes ``persona_id`` / ``name``, else what the model says."""
    if check is None:
        raise ActionError("there is no label to fix; reload the page")
    if persona_id is None and name is None:
        if check.model_says is None:
            raise ActionError("the model names nobody else for this face; choose the right person")
        persona_id = check.model_says
    persona, seqs = assign_faces(store, [check.face_id], persona_id=persona_id, name=name, actor=actor)
    return persona.name, seqs
