"""Cosmos DB personas and the label log: one partition ("log") of ``labels``, etag-guarded batches.

Each append, merge, unmerge and rename is one transactional batch with its sequence numbers (the
counter is replaced IfNotModified), so it is atomic; an append of more than one batch is several.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from resources.state_store import rules
from resources.state_store.cosmos.client import BATCH_LIMIT, LOG, Conflict, batches, doc_id, plain
from resources.state_store.records import LabelEvent, LabelKind, Persona, PersonaEvent
from resources.state_store.rules import PersonaChange


class CosmosLabels:
    """Mixin of CosmosStateStore, ``ports.LabelLog`` and ``ports.PersonaDirectory`` (a rename or merge is an
    event in the log). Persona events have an empty face id, as the old merge marker had."""

    # -- personas ----------------------------------------------------------------------------
    @staticmethod
    def _persona(doc: dict) -> Persona:
        return Persona(doc["persona_id"], doc["name"], doc.get("merged_into"))

    def _persona_docs(self) -> list[dict]:
        return self._query(
            "labels", "SELECT * FROM c WHERE c.pk = @pk AND c.type = 'persona'", partition_key=LOG, pk=LOG
        )

    def _stored_personas(self) -> list[Persona]:
        return [self._persona(doc) for doc in self._persona_docs()]

    def _ensure_persona(self, name: str) -> Persona:
        claim_id = f"name:{doc_id(name)}"
        while True:
            claim = self._read("labels", claim_id, LOG)
            if claim is not None:
                found = self._read("labels", f"persona:{claim['persona_id']}", LOG)
                if found is not None:
                    return self._persona(found)

            def ops(first: int) -> list[tuple]:
                persona = {"id": f"persona:{first}", "pk": LOG, "type": "persona", "persona_id": first, "name": name}
                claim = {"id": claim_id, "pk": LOG, "type": "name", "persona_id": first}
                return [("create", (claim,)), ("create", (persona,))]

            try:
                first = self._with_counter("labels", LOG, "persona", 1, ops)
                return Persona(first, name)
            except Conflict as exc:
                if exc.status != 409:  # 409: someone created this name at the same time; read theirs
                    raise

    def _write_persona_change(
        self, plan: Callable[[list[Persona]], PersonaChange | None]
    ) -> tuple[PersonaChange | None, list[int]]:
        # Optimistic: every persona the plan names is replaced IfNotModified in the batch that
        # logs its event, so a concurrent change of any of them fails the batch (412) and the
        # plan runs again on what is stored now (where the rules may refuse it).
        for attempt in range(100):
            docs = {doc["persona_id"]: doc for doc in self._persona_docs()}
            change = plan([self._persona(doc) for doc in docs.values()])
            if change is None:
                return None, []
            claims = self._persona_ops(change, docs)[1]

            def ops(seq: int, change=change, docs=docs) -> list[tuple]:
                # Built afresh for each try: the SDK consumes the etag options of a sent batch.
                return [*self._persona_ops(change, docs)[0], ("create", (self._event_doc(change.event, seq),))]

            try:
                return change, [self._with_counter("labels", LOG, "seq", 1, ops)]
            except Conflict as exc:
                if exc.status == 409 and exc.index - 1 in claims:
                    raise rules.name_taken(claims[exc.index - 1]) from None
                if exc.status != 412:
                    raise
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RuntimeError("could not change personas: too much contention")

    @staticmethod
    def _persona_ops(change: PersonaChange, docs: dict[int, dict]) -> tuple[list[tuple], dict[int, str]]:
        """Batch operations for the change (after the counter), and which of them claim which name.

        The service applies a batch all or nothing; the local protocol server stops at the first
        failure without undoing what went before. So the guards that fail under a race (unchanged
        personas, new name claims) go first and the writes after them.
        """
        guards: list[tuple] = []
        claims: list[tuple] = []
        names: list[str] = []
        writes: list[tuple] = []
        released: list[tuple] = []
        for persona in change.personas:
            doc = docs[persona.persona_id]
            body = {**plain(doc), "name": persona.name, "merged_into": persona.merged_into}
            replace = ("replace", (doc["id"], body), {"if_match_etag": doc["_etag"]})
            changed = persona.name != doc["name"] or persona.merged_into != doc.get("merged_into")
            (writes if changed else guards).append(replace)
            if persona.name != doc["name"]:
                claim = {
                    "id": f"name:{doc_id(persona.name)}",
                    "pk": LOG,
                    "type": "name",
                    "persona_id": persona.persona_id,
                }
                claims.append(("create", (claim,)))
                names.append(persona.name)
                released.append(("delete", (f"name:{doc_id(doc['name'])}",)))
        return guards + claims + writes + released, {len(guards) + n: name for n, name in enumerate(names)}

    # -- the log -----------------------------------------------------------------------------
    @staticmethod
    def _event_doc(event: LabelEvent | PersonaEvent, seq: int) -> dict:
        common = {"id": f"event:{seq}", "pk": LOG, "type": "event", "seq": seq, "kind": LabelKind(event.kind).value}
        common |= {"persona_id": event.persona_id, "actor": event.actor, "created_at": event.created_at or time.time()}
        if isinstance(event, PersonaEvent):
            extra = {"into": event.into, "name": event.name, "previous_name": event.previous_name}
            return {**common, "face_id": "", "source": event.kind.value, **extra}
        return {**common, "face_id": event.face_id, "source": event.source}

    def _append_events(self, events: Sequence[LabelEvent], receipt: str | None = None) -> list[int]:
        seqs: list[int] = []
        parts = list(batches(events, BATCH_LIMIT - 2))  # room for the counter and a receipt
        for n, part in enumerate(parts):
            with_receipt = receipt is not None and n == len(parts) - 1

            def ops(first: int, part=part, with_receipt=with_receipt) -> list[tuple]:
                docs = [("create", (self._event_doc(e, first + i),)) for i, e in enumerate(part)]
                if with_receipt:  # ahead of the events, so it fails before them
                    docs.insert(0, ("create", ({"id": receipt, "pk": LOG, "type": "receipt"},)))
                return docs

            try:
                first = self._with_counter("labels", LOG, "seq", len(part), ops)
            except Conflict as exc:
                if with_receipt and exc.status == 409 and exc.index == 1:
                    return seqs  # these labels were recorded by an earlier, interrupted run
                raise
            seqs += range(first, first + len(part))
        return seqs

    def _append_label_events(self, events: Sequence[LabelEvent]) -> list[int]:
        return self._append_events(events)

    def label_watermark(self) -> int:
        return self._read("labels", "counter:seq", LOG)["value"]

    def _logged(self, where: str, **params) -> list[LabelEvent | PersonaEvent]:
        sql = f"SELECT * FROM c WHERE c.pk = @pk AND c.type = 'event' AND {where} ORDER BY c.seq"
        return [rules.stored_event(doc) for doc in self._query("labels", sql, partition_key=LOG, pk=LOG, **params)]

    def label_events(self, since: int = 0) -> list[LabelEvent]:
        return self._logged("c.seq > @since AND c.face_id != ''", since=since)

    def face_events(self, face_id: str) -> list[LabelEvent]:
        return self._logged("c.face_id = @face AND c.face_id != ''", face=face_id)

    def persona_events(self, since: int = 0) -> list[PersonaEvent]:
        return self._logged("c.seq > @since AND c.face_id = ''", since=since)

    def _logged_event(self, seq: int) -> LabelEvent | PersonaEvent | None:
        doc = self._read("labels", f"event:{seq}", LOG)
        return rules.stored_event(doc) if doc else None
