"""Random label sessions on SQLite, on the Cosmos DB protocol server and on an in-memory model of
the rules (label_model.py), step by step: after every step all three show every face with the
same label and rejections and the same people, refuse the same requests, and both stores give
the same sequence numbers.

Each example is a fresh SQLite file and a fresh Cosmos database, so 200 examples cover 200
sequences on each backend (75–110 s on two cores shared with other work).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from resources.state_store.base import StateStore
from resources.state_store.cosmos.store import CosmosStateStore
from resources.state_store.records import LabelEvent, LabelKind
from resources.state_store.sqlite.store import SqliteStateStore
from tests.support.cosmos_server import LOCAL_KEY
from tests.support.label_model import Action, LabelModel

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")

FACES = ["f0", "f1"]
PEOPLE = ["Ada", "Bob", "Cy"]
NAMES = [*PEOPLE, "Dee"]
FACE_ACTIONS = ("assign", "confirm", "reject", "remove", "stranger", "not_face")

persona = st.integers(1, len(PEOPLE))
# Labels mostly on one face and two of the three people, so that actions meet each other's effects.
face = st.sampled_from([FACES[0], FACES[0], FACES[0], FACES[1]])
labeled = st.integers(1, 2)
step = st.one_of(
    st.tuples(st.sampled_from(["assign", "confirm", "reject"]), face, labeled),
    st.tuples(st.sampled_from(["assign", "reject"]), face, persona),
    st.tuples(st.just("remove"), face, st.none()),
    st.tuples(st.sampled_from(["stranger", "not_face"]), face, st.none()),
    st.tuples(st.just("merge"), persona, persona),
    st.tuples(st.just("rename"), persona, st.sampled_from(NAMES)),
    st.tuples(st.just("undo"), st.sampled_from([1, 1, 1, 2, 3]), st.none()),  # mostly the latest action
    st.tuples(st.just("undo"), st.just(1), st.none()),
)


def on_model(model: LabelModel, step: tuple, target: Action | None) -> Action | ValueError | None:
    kind, a, b = step
    try:
        if kind in FACE_ACTIONS:
            return model.label(kind, a, b)
        if kind == "merge":
            return model.merge(a, b)
        if kind == "rename":
            return model.rename(a, b)
        return model.undo(target)
    except ValueError as refused:
        return refused


def on_store(store: StateStore, step: tuple, target_seq: int | None) -> list[int] | ValueError:
    kind, a, b = step
    before = store.label_watermark()
    try:
        if kind in FACE_ACTIONS:
            return store.append_label_events([LabelEvent(a, LabelKind(kind), b)])
        if kind == "merge":
            store.merge_personas(a, b)
        elif kind == "rename":
            store.rename_persona(a, b)
        else:
            seqs = store.undo(target_seq)
            assert seqs == list(range(before + 1, store.label_watermark() + 1))
            return seqs
    except ValueError as refused:
        assert store.label_watermark() == before  # a refusal writes nothing
        return refused
    return list(range(before + 1, store.label_watermark() + 1))


def seen(store: StateStore) -> tuple[dict, list]:
    labels = {face_id: (s.persona_id, s.rejected, s.set_aside) for face_id, s in store.label_states().items()}
    return labels, [(p.persona_id, p.name) for p in store.personas()]


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=16))
@example(steps=[("merge", 1, 2), ("merge", 2, 1)])  # the circular merge of two stale tabs
@example(steps=[("reject", "f0", 1), ("stranger", "f0", None), ("assign", "f0", 2), ("undo", 1, None)])
@example(steps=[("stranger", "f0", None), ("reject", "f0", 1), ("undo", 1, None)])  # the verdict stays
@example(steps=[("reject", "f0", 1), ("assign", "f0", 1), ("undo", 1, None)])  # the rejection comes back
@example(steps=[("assign", "f0", 1), ("merge", 1, 2), ("undo", 1, None), ("undo", 1, None), ("merge", 2, 1)])
@example(steps=[("rename", 1, "Dee"), ("rename", 2, "Ada"), ("undo", 2, None), ("undo", 1, None)])
@example(steps=[("assign", "f0", 1), ("assign", "f0", 2), ("undo", 2, None), ("undo", 1, None), ("undo", 2, None)])
def test_both_backends_and_the_model_agree_on_every_label_after_every_step(cosmos_endpoint, steps):
    with tempfile.TemporaryDirectory() as folder:
        stores = {
            "sqlite": SqliteStateStore(path=str(Path(folder) / "state.db")),
            "cosmos": CosmosStateStore(
                endpoint=cosmos_endpoint, key=LOCAL_KEY, database=f"prop-{uuid.uuid4().hex[:12]}", verify_tls=False
            ),
        }
        model = LabelModel()
        for name in PEOPLE:
            expected = model.ensure_persona(name)
            assert all(store.ensure_persona(name).persona_id == expected for store in stores.values())
        undoable: list[tuple[Action, int]] = []  # what the model did, and the seq both stores logged it as
        try:
            for number, current in enumerate(steps):
                target = undoable[-1 - (current[1] - 1) % len(undoable)] if current[0] == "undo" and undoable else None
                if current[0] == "undo" and target is None:
                    continue
                done = on_model(model, current, target[0] if target else None)
                results = {name: on_store(s, current, target[1] if target else None) for name, s in stores.items()}
                context = f"step {number} {current} -> model {done!r}, stores {results!r}"
                for result in results.values():
                    assert isinstance(result, ValueError) == isinstance(done, ValueError), context
                    if not isinstance(done, ValueError):
                        assert bool(result) == (done is not None), context
                if not isinstance(done, ValueError):
                    assert results["sqlite"] == results["cosmos"], context
                    undoes_a_face = current[0] == "undo" and target[0].what == "face"
                    if done is not None and not undoes_a_face:
                        undoable.append((done, results["sqlite"][-1]))
                for result in map(seen, stores.values()):
                    assert result == (model.labels(), model.shown()), context
        finally:
            stores["sqlite"].close()
            stores["cosmos"].close()
