"""The Review tab's domain, no Gradio in here: which face to ask about next (the review queue)
and recording the answer; and its "Check these labels" mode, the people's own labels the model
disagrees with most, each kept or fixed.

The label ranking is made at training (``assets.core.learning.training.label_check``, each label
scored by a model that never saw it) and stored with the version's metrics; here it is read back
and narrowed to the labels still open: unchanged since, and not checked and kept already (a CHECK
event, see ``rules.derive_label_states``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from gradio_app.errors import ActionError
from gradio_app.labels import APP_SOURCE, assign_faces, confirm_faces, reject_faces
from gradio_app.snapshot import Snapshot
from resources.state_store.ports import FaceLabeling, LabelLog, ModelRegistry
from resources.state_store.records import LabelEvent, LabelKind, ModelVersion

DISAGREES_BELOW = 0.5  # a label the model finds less likely than not is worth a look; above, it agrees

# -- the review queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    face_id: str
    persona_id: int  # the persona to ask about: the prediction, or the candidate of an unknown
    confidence: float
    unknown: bool  # the unknown threshold said "nobody we know"; persona_id is only its best guess
    usefulness: float  # higher: a person's answer teaches the classifier more


def review_queue(snap: Snapshot, limit: int = 50, skip: Sequence[str] = ()) -> list[ReviewItem]:
    """Unlabeled faces ordered by how much one answer helps (uncertainty sampling).

    A known prediction is as useful as it is unsure (1 - confidence). An unknown with a candidate
    is doubted twice, by the gate and by its own confidence, so it scores 1 - confidence / 2: it
    comes before any prediction that is more than half sure. Unknowns without a candidate are
    left to the look-alike groups.
    """
    skipped = set(skip)
    items = []
    for face_id, p in snap.open_predictions().items():
        if face_id in skipped:
            continue
        if p.persona_id is not None:
            items.append(ReviewItem(face_id, p.persona_id, p.confidence, False, 1.0 - p.confidence))
        elif p.candidate_persona_id is not None:
            items.append(ReviewItem(face_id, p.candidate_persona_id, p.confidence, True, 1.0 - p.confidence / 2))
    items.sort(key=lambda item: (-item.usefulness, item.face_id))
    return items[:limit] if limit else items


def answer_review(
    store: FaceLabeling, item: ReviewItem, answer: str, other: str | int | None = None, actor: str | None = None
) -> tuple[str, list[int]]:
    """Record a reviewer's answer: "yes", "no", or "other" (with a persona id or a new name).

    Gives what the face is now (the name for "other") and the events it logged (what Undo takes back).
    """
    if answer == "yes":
        if item.unknown:  # nothing was predicted, so this is a new label rather than a confirmation
            return "yes", assign_faces(store, [item.face_id], persona_id=item.persona_id, actor=actor)[1]
        return "yes", confirm_faces(store, [item.face_id], item.persona_id, actor=actor)
    if answer == "no":
        return "no", reject_faces(store, [item.face_id], item.persona_id, actor=actor)
    if answer == "other":
        if isinstance(other, int):
            target, seqs = assign_faces(store, [item.face_id], persona_id=other, actor=actor)
        else:
            target, seqs = assign_faces(store, [item.face_id], name=other, actor=actor)
        return target.name, seqs
    raise ActionError(f"unknown answer {answer!r}")


# -- check these labels -----------------------------------------------------------------------


@dataclass(frozen=True)
class LabelToCheck:
    face_id: str
    persona_id: int  # the label people gave
    agreement: float  # how likely the model (trained without this label) finds it: low is doubtful
    model_says: int | None  # the person it finds likeliest instead (None: gone since)
    model_version: int


def ranked_version(store: ModelRegistry) -> ModelVersion | None:
    """The newest version that ranked its labels (a failed attempt has no ranking)."""
    return next((v for v in store.model_versions() if "label_check" in v.metrics), None)


def labels_to_check(store: ModelRegistry, snap: Snapshot) -> list[LabelToCheck]:
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


def keep_labels(store: LabelLog, checks: Sequence[LabelToCheck], actor: str | None = None) -> list[int]:
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
    store: FaceLabeling,
    check: LabelToCheck | None,
    persona_id: int | None = None,
    name: str | None = None,
    actor: str | None = None,
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
