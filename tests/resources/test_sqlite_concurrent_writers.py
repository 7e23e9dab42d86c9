"""The app and a pipeline run writing the same SQLite file at once: every write lands, none is lost.

Writers are separate processes (as the Gradio app and a Dagster run are), started together on one
real database file: two "app" processes append label events one click at a time, two "run"
processes register photos and record detections with import labels. A third party holding the
write lock makes writers wait on the busy timeout instead of failing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from resources.state_store.records import ImageStatus, LabelEvent, LabelKind
from resources.state_store.sqlite.store import SqliteStateStore

ROOT = Path(__file__).resolve().parents[2]
CLICKS, PHOTOS = 60, 40

WORKER = """
import hashlib, json, sys, time
from resources.state_store.sqlite.store import SqliteStateStore
from resources.state_store.records import FaceRecord, ImageStatus, LabelEvent, LabelKind, PhotoEntry
path, role, name, start, count = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
store = SqliteStateStore(path=path)
store.label_watermark()  # open the connection before the start line
while time.time() < start:
    time.sleep(0.001)
seqs = []
if role == "app":
    persona = store.ensure_persona("Ada")
    for i in range(count):
        seqs += store.append_label_events([LabelEvent(f"{name}-face-{i}", LabelKind.ASSIGN, persona.persona_id)])
        time.sleep(0.005)  # clicks are spread out, so the writers interleave
else:
    for i in range(count):
        image_id = hashlib.sha256(f"{name}-{i}".encode()).hexdigest()
        store.register_photo(PhotoEntry(f"{name}/{i}.jpg", 100 + i, 1.0, "Imported"), image_id)
        persona = store.ensure_persona("Imported")
        face = FaceRecord(f"{image_id}:0", image_id, 0, (1, 2, 30, 40), 0.9, f"t/{image_id}", f"a/{image_id}")
        event = LabelEvent(face.face_id, LabelKind.ASSIGN, persona.persona_id, source="import")
        store.record_detection(image_id, ImageStatus.DONE, size=(64, 64), faces=[face], label_events=[event])
        time.sleep(0.005)
print(json.dumps(seqs))
"""


def start_worker(db: Path, role: str, name: str, start: float, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(db), role, name, str(start), str(count)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )


def test_app_and_run_writing_at_once_lose_no_label_photo_or_face(tmp_path):
    db = tmp_path / "state.db"
    SqliteStateStore(path=str(db)).label_watermark()  # schema in place before the race
    start = time.time() + 3.0  # all four have imported and connected by then
    workers = {
        name: start_worker(db, role, name, start, CLICKS if role == "app" else PHOTOS)
        for role, name in [("app", "app1"), ("app", "app2"), ("run", "run1"), ("run", "run2")]
    }
    returned = {}
    for name, process in workers.items():
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, name
        returned[name] = json.loads(out)

    store = SqliteStateStore(path=str(db))
    events = store.label_events()
    seqs = [e.seq for e in events]
    assert len(events) == 2 * CLICKS + 2 * PHOTOS and len(set(seqs)) == len(seqs)
    assert store.label_watermark() == max(seqs)
    for app in ("app1", "app2"):
        mine = [e for e in events if e.face_id.startswith(f"{app}-")]
        assert [e.seq for e in mine] == returned[app] == sorted(returned[app])  # every click, in click order
        assert [e.face_id for e in mine] == [f"{app}-face-{i}" for i in range(CLICKS)]
    assert min(returned["app1"]) < max(returned["app2"]) and min(returned["app2"]) < max(returned["app1"])  # overlapped
    images = store.images()
    assert len(images) == 2 * PHOTOS and all(i.status == ImageStatus.DONE for i in images)
    faces = store.faces()
    assert len(faces) == 2 * PHOTOS
    imports = [e for e in events if e.source == "import"]
    assert sorted(e.face_id for e in imports) == sorted(f.face_id for f in faces)
    assert sorted(p.name for p in store.personas()) == ["Ada", "Imported"]  # created once, not per writer
    states = store.label_states()
    assert sum(s.persona_id is not None for s in states.values()) == 2 * CLICKS + 2 * PHOTOS


def test_a_writer_waits_for_a_held_write_lock_instead_of_failing(tmp_path):
    db = tmp_path / "state.db"
    store = SqliteStateStore(path=str(db))
    store.label_watermark()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.5); c.execute('COMMIT')",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    [seq] = store.append_label_events([LabelEvent("f", LabelKind.ASSIGN, store.ensure_persona("Ada").persona_id)])
    waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited >= 1.0 and seq == store.label_watermark()


def test_a_lock_held_past_the_busy_timeout_fails_loudly_and_writes_nothing(tmp_path):
    db = tmp_path / "state.db"
    SqliteStateStore(path=str(db)).label_watermark()
    impatient = SqliteStateStore(path=str(db), busy_timeout_s=0.3)
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        try:
            impatient.append_label_events([LabelEvent("f", LabelKind.ASSIGN, None)])
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
        else:
            raise AssertionError("a write under someone else's lock must not report success")
        assert 0.25 <= time.monotonic() - started < 5
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert impatient.label_events() == []
