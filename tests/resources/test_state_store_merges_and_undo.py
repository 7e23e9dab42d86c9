"""Merges, renames and undo: the StateStore contract on SQLite and the Cosmos DB protocol server.

Every test here runs on both backends (``store``/``store_factory``); the old-database tests
write what an older FaceLoop wrote, which differs per backend, through ``write_old_merge``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resources.state_store.base import StateStore
from resources.state_store.cosmos.store import CosmosStateStore
from resources.state_store.records import LabelEvent, LabelKind, PersonaEvent
from resources.state_store.rules import MergeRefused, UndoRefused
from resources.state_store.sqlite.store import SqliteStateStore
from tests.support.threads import run_threads

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
ROOT = Path(__file__).resolve().parents[2]


def people(store: StateStore, *names: str) -> list[int]:
    return [store.ensure_persona(name).persona_id for name in names]


def shown(store: StateStore) -> list[str]:
    return [p.name for p in store.personas()]


# -- merges ---------------------------------------------------------------------------------------
def test_the_circular_merge_is_refused_and_nobody_vanishes(store):
    ada, bob = people(store, "Ada", "Bob")
    store.merge_personas(ada, bob)
    watermark = store.label_watermark()
    with pytest.raises(MergeRefused, match="'Ada' is already merged into 'Bob'; merging back would hide them both"):
        store.merge_personas(bob, ada)
    assert shown(store) == ["Bob"] and store.label_watermark() == watermark


def test_a_merge_needs_two_people_still_shown(store):
    ada, bob, cy = people(store, "Ada", "Bob", "Cy")
    store.merge_personas(ada, bob)
    with pytest.raises(MergeRefused, match="'Ada' is already merged into 'Bob'"):
        store.merge_personas(ada, cy)
    with pytest.raises(MergeRefused, match="merge into 'Bob' instead"):
        store.merge_personas(cy, ada)
    with pytest.raises(MergeRefused, match="into itself"):
        store.merge_personas(cy, cy)
    with pytest.raises(KeyError):
        store.merge_personas(cy, 999)
    assert shown(store) == ["Bob", "Cy"]


def test_a_merge_is_an_event_of_its_own_kind_in_the_log(store):
    ada, bob = people(store, "Ada", "Bob")
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada)])
    store.merge_personas(ada, bob, actor="kim")
    [merge] = store.persona_events()
    assert (merge.kind, merge.persona_id, merge.into, merge.actor, merge.seq) == (LabelKind.MERGE, ada, bob, "kim", 2)
    assert [e.face_id for e in store.label_events()] == ["f1"]
    assert store.label_watermark() == 2


def test_persona_events_cannot_be_appended_as_face_labels(store):
    for bad in [LabelEvent("", LabelKind.ASSIGN, 1), LabelEvent("f1", LabelKind.MERGE, 1)]:
        with pytest.raises(ValueError):
            store.append_label_events([LabelEvent("f0", LabelKind.ASSIGN, 1), bad])
    assert store.label_watermark() == 0


def test_racing_merges_of_two_personas_into_each_other_leave_no_loop(store_factory):
    store = store_factory()
    a, b = people(store, "A", "B")
    outcomes: list[str] = []

    def merge(n: int) -> None:
        source, target = (a, b) if n % 2 == 0 else (b, a)
        try:
            store_factory().merge_personas(source, target)
            outcomes.append("merged")
        except ValueError:
            outcomes.append("refused")

    run_threads(merge, 6)
    merged = {p.persona_id: p.merged_into for p in store.personas(include_merged=True)}
    assert outcomes.count("merged") == 1
    assert set(merged.values()) in ({None, a}, {None, b})
    assert len(store.personas()) == 1


MERGER = """
import json, sys, time
from resources.state_store.cosmos.store import CosmosStateStore
from resources.state_store.sqlite.store import SqliteStateStore
spec, pairs, start = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
store = SqliteStateStore(**spec) if "path" in spec else CosmosStateStore(**spec)
store.label_watermark()  # connected before the start line
while time.time() < start:
    time.sleep(0.001)
outcomes = []
for source, target in pairs:
    try:
        store.merge_personas(source, target)
        outcomes.append("merged")
    except ValueError:
        outcomes.append("refused")
print(json.dumps(outcomes))
"""


def client_spec(store: StateStore) -> dict:
    if isinstance(store, SqliteStateStore):
        return {"path": store.path}
    return {"endpoint": store.endpoint, "key": store.key, "database": store.database, "verify_tls": False}


def test_two_processes_merging_stale_pairs_into_each_other_leave_one_of_each_pair(store_factory):
    """Two app processes with stale People lists: one merges A_n into B_n, the other B_n into A_n."""
    store = store_factory()
    pairs = [people(store, f"A{n}", f"B{n}") for n in range(12)]
    spec = json.dumps(client_spec(store))
    start = time.time() + 4.0  # both have imported and connected by then
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MERGER, spec, json.dumps(order), str(start)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"},
            stdout=subprocess.PIPE,
            text=True,
        )
        for order in (pairs, [[b, a] for a, b in pairs])
    ]
    outcomes = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        outcomes.append(json.loads(out))
    assert all(sorted(pair) == ["merged", "refused"] for pair in zip(*outcomes, strict=True))
    assert len(store.personas()) == len(pairs)  # one of each pair, none lost
    for a, b in pairs:
        assert len({p.persona_id for p in store.personas()} & {a, b}) == 1


# -- renames --------------------------------------------------------------------------------------
def test_a_rename_is_logged_and_renaming_to_the_same_name_is_not(store):
    [bob] = people(store, "Bob")
    store.rename_persona(bob, "Robert")
    assert store.label_watermark() == 1
    assert store.persona_events() == [
        PersonaEvent(LabelKind.RENAME, bob, None, "Robert", "Bob", None, 1, store.persona_events()[0].created_at)
    ]
    store.rename_persona(bob, " Robert ")
    assert store.label_watermark() == 1


# -- undo -----------------------------------------------------------------------------------------
def test_an_undone_merge_brings_both_people_back_with_exactly_their_faces(store):
    ada, bob = people(store, "Ada", "Bob")
    store.append_label_events(
        [
            LabelEvent("a1", LabelKind.ASSIGN, ada),
            LabelEvent("a2", LabelKind.REJECT, bob),
            LabelEvent("b1", LabelKind.ASSIGN, bob),
        ]
    )
    before = store.label_states()
    store.merge_personas(ada, bob)
    assert {s.persona_id for s in store.label_states().values() if s.persona_id} == {bob}
    [merge] = store.persona_events()
    [unmerge_seq] = store.undo(merge.seq, actor="kim")
    assert store.label_states() == before and shown(store) == ["Ada", "Bob"]
    assert store.persona_events()[-1] == PersonaEvent(
        LabelKind.UNMERGE, ada, bob, actor="kim", seq=unmerge_seq, created_at=store.persona_events()[-1].created_at
    )
    assert store.undo(merge.seq) == []  # undone already: a repeat adds nothing
    store.undo(unmerge_seq)  # and the undo can be undone: merged again
    assert shown(store) == ["Bob"]


def test_undo_restores_a_face_label_and_its_rejections(store):
    [ada] = people(store, "Ada")
    [reject, assign] = store.append_label_events(
        [LabelEvent("f1", LabelKind.REJECT, ada), LabelEvent("f1", LabelKind.ASSIGN, ada)]
    )
    store.undo(assign)
    assert store.label_states()["f1"] == type(store.label_states()["f1"])(None, frozenset({ada}))
    assert store.undo(assign) == []
    store.undo(reject)
    assert store.label_states()["f1"].rejected == frozenset()
    assert [e.source for e in store.label_events()][2:] == ["undo"] * (len(store.label_events()) - 2)


def test_undo_of_a_label_given_again_since_is_refused_until_the_later_one_is_undone(store):
    ada, bob = people(store, "Ada", "Bob")
    [first] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada)])
    [second] = store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, bob)])
    with pytest.raises(UndoRefused, match="labeled again"):
        store.undo(first)
    store.undo(second)
    assert store.label_states()["f1"].persona_id == ada
    store.undo(first)
    assert store.label_states()["f1"].persona_id is None


def test_an_undone_rename_gives_back_the_old_name(store):
    _, bob = people(store, "Ada", "Bob")
    store.rename_persona(bob, "Robert")
    [rename] = store.persona_events()
    store.undo(rename.seq)
    assert shown(store) == ["Ada", "Bob"]
    store.rename_persona(bob, "Rob")
    with pytest.raises(UndoRefused, match="renamed or merged again"):
        store.undo(rename.seq)  # renamed again since: undo that rename first
    with pytest.raises(KeyError, match="no label event 99"):
        store.undo(99)


# -- what an older FaceLoop wrote -----------------------------------------------------------------
def write_old_merge(store: StateStore, source: int, target: int) -> None:
    """A merge as older FaceLoops logged it: the persona's merged_into, and an ASSIGN marker
    with no face and source "merge" that named only the target."""
    if isinstance(store, SqliteStateStore):
        with store._write() as conn:
            conn.execute("UPDATE personas SET merged_into = ? WHERE persona_id = ?", (target, source))
            conn.execute(
                "INSERT INTO label_events (face_id, kind, persona_id, source, created_at)"
                " VALUES ('', 'assign', ?, 'merge', ?)",
                (target, time.time()),
            )
        return
    assert isinstance(store, CosmosStateStore)
    labels = store._c("labels")
    persona = labels.read_item(f"persona:{source}", "log")
    labels.replace_item(persona["id"], {**persona, "merged_into": target})
    counter = labels.read_item("counter:seq", "log")
    seq = counter["value"] + 1
    labels.replace_item(counter["id"], {**counter, "value": seq})
    labels.create_item(
        {"id": f"event:{seq}", "pk": "log", "type": "event", "seq": seq, "face_id": "", "kind": "assign"}
        | {"persona_id": target, "source": "merge", "actor": None, "created_at": time.time()}
    )


def test_an_old_merge_marker_reads_as_a_merge_and_is_no_face_label(store):
    ada, bob = people(store, "Ada", "Bob")
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, ada)])
    write_old_merge(store, ada, bob)
    assert [e.face_id for e in store.label_events()] == ["f1"]
    [marker] = store.persona_events()
    assert (marker.kind, marker.persona_id, marker.into) == (LabelKind.MERGE, None, bob)
    assert store.label_states()["f1"].persona_id == bob and shown(store) == ["Bob"]
    with pytest.raises(UndoRefused, match="older FaceLoop"):
        store.undo(marker.seq)


def test_an_old_merge_loop_shows_one_person_instead_of_none(store):
    ada, bob = people(store, "Ada", "Bob")
    store.append_label_events([LabelEvent("f1", LabelKind.ASSIGN, bob)])
    write_old_merge(store, ada, bob)
    write_old_merge(store, bob, ada)  # what SQLite accepted before merges were validated
    assert shown(store) == ["Ada"]
    assert store.label_states()["f1"].persona_id == ada
    store.merge_personas(ada, store.ensure_persona("Cy").persona_id)  # and it can be fixed from the app
    assert shown(store) == ["Cy"]


def test_sqlite_only_a_database_from_before_persona_events_is_upgraded_in_place(tmp_path):
    """SQLite only: Cosmos documents have no schema to upgrade."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE label_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, face_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, persona_id INTEGER, source TEXT NOT NULL, actor TEXT, created_at REAL NOT NULL);"
        "INSERT INTO label_events (face_id, kind, persona_id, source, created_at) VALUES ('f1', 'assign', 1, 'app', 1);"
    )
    old.commit()
    old.close()
    store = SqliteStateStore(path=str(path))
    [bob] = people(store, "Bob")
    store.rename_persona(bob, "Robert")
    assert [e.face_id for e in store.label_events()] == ["f1"]
    assert [e.name for e in store.persona_events()] == ["Robert"]
