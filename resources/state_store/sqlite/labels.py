"""SQLite personas and the label log: every write is one transaction, so it is atomic."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from resources.state_store import rules
from resources.state_store.records import LabelEvent, LabelKind, Persona, PersonaEvent
from resources.state_store.rules import PersonaChange

EVENT_COLUMNS = "face_id, kind, persona_id, source, actor, seq, created_at, into_persona_id, name, previous_name"
EVENT_FIELDS = (
    "face_id",
    "kind",
    "persona_id",
    "source",
    "actor",
    "seq",
    "created_at",
    "into",
    "name",
    "previous_name",
)
INSERT_EVENT = (
    "INSERT INTO label_events (face_id, kind, persona_id, source, actor, created_at, into_persona_id, name,"
    " previous_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteLabels:
    """Mixin of SqliteStateStore, ``ports.LabelLog`` and ``ports.PersonaDirectory`` (a rename or merge is an
    event in the log). Persona events have an empty face id, as the old merge marker had."""

    # -- personas ----------------------------------------------------------------------------
    def _ensure_persona(self, name: str) -> Persona:
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO personas (name, created_at) VALUES (?, ?)", (name, time.time()))
            row = conn.execute("SELECT persona_id, name, merged_into FROM personas WHERE name = ?", (name,)).fetchone()
        return Persona(*row)

    def _stored_personas(self) -> list[Persona]:
        return [Persona(*row) for row in self._read("SELECT persona_id, name, merged_into FROM personas")]

    def _write_persona_change(
        self, plan: Callable[[list[Persona]], PersonaChange | None]
    ) -> tuple[PersonaChange | None, list[int]]:
        # Read, plan and write under one write lock: no other writer can change a persona between.
        with self._write() as conn:
            stored = [Persona(*r) for r in conn.execute("SELECT persona_id, name, merged_into FROM personas")]
            change = plan(stored)
            if change is None:
                return None, []
            for persona in change.personas:
                try:
                    conn.execute(
                        "UPDATE personas SET name = ?, merged_into = ? WHERE persona_id = ?",
                        (persona.name, persona.merged_into, persona.persona_id),
                    )
                except sqlite3.IntegrityError:
                    raise rules.name_taken(persona.name) from None
            return change, [self._insert_persona_event(conn, change.event)]

    # -- the log -----------------------------------------------------------------------------
    @staticmethod
    def _insert_events(conn: sqlite3.Connection, events: Sequence[LabelEvent]) -> list[int]:
        rows = [
            (e.face_id, LabelKind(e.kind).value, e.persona_id, e.source, e.actor, e.created_at or time.time())
            for e in events
        ]
        return [conn.execute(INSERT_EVENT, (*row, None, None, None)).lastrowid for row in rows]

    @staticmethod
    def _insert_persona_event(conn: sqlite3.Connection, e: PersonaEvent) -> int:
        row = ("", e.kind.value, e.persona_id, e.kind.value, e.actor, e.created_at or time.time())
        return conn.execute(INSERT_EVENT, (*row, e.into, e.name, e.previous_name)).lastrowid

    def _append_label_events(self, events: Sequence[LabelEvent]) -> list[int]:
        with self._write() as conn:
            return self._insert_events(conn, events)

    def label_watermark(self) -> int:
        return self._read("SELECT COALESCE(MAX(seq), 0) FROM label_events")[0][0]

    def _logged(self, where: str, params: Sequence) -> list[LabelEvent | PersonaEvent]:
        rows = self._read(f"SELECT {EVENT_COLUMNS} FROM label_events WHERE {where} ORDER BY seq", params)
        return [rules.stored_event(dict(zip(EVENT_FIELDS, row, strict=True))) for row in rows]

    def label_events(self, since: int = 0) -> list[LabelEvent]:
        return self._logged("seq > ? AND face_id != ''", (since,))

    def face_events(self, face_id: str) -> list[LabelEvent]:
        return self._logged("face_id = ? AND face_id != ''", (face_id,))

    def persona_events(self, since: int = 0) -> list[PersonaEvent]:
        return self._logged("seq > ? AND face_id = ''", (since,))

    def _logged_event(self, seq: int) -> LabelEvent | PersonaEvent | None:
        found = self._logged("seq = ?", (seq,))
        return found[0] if found else None
