"""The MLLP listener's message handler: frame → convert → store (committed) → ACK.

Each message goes through the connector sync loop (``SyncLoop.process`` of one record: convert,
FHIR validation, upsert, record state, quarantine — one transaction, committed when ``process``
returns). Only then is the ACK built, so an ``AA`` always means the message is durably stored:
on SQLite the listener's connections use ``PRAGMA synchronous=FULL`` (the store's default
``NORMAL`` in WAL mode may lose the last commits on power loss); PostgreSQL commits are durable
with its default ``synchronous_commit=on``.

Visit messages (admissions, transfers, discharges) are kept per patient in receive order
(``mllp_visit_message``) and all of a patient's visit messages are converted together, so an
admission and its later discharge make one Encounter (see :mod:`connectors.mllp.connector`). A
visit message is first converted alone: one that cannot be converted is quarantined (``AE``) and
not kept.

Answers: ``AA`` stored (or an identical re-send of a stored message); ``AE`` read but not
(fully) stored: a conversion problem (quarantined, reason in ERR) or a store failure (207, the
sender should resend); ``AR`` rejected: no MSH, unsupported message type, broken frame.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select, update

from connectors.mllp.ack import (
    INTERNAL,
    SEGMENT_SEQUENCE,
    UNSUPPORTED_TYPE,
    AckBuilder,
    error_code_for,
    read_msh,
)
from connectors.mllp.connector import (
    Incoming,
    MllpConfig,
    MllpConnector,
    VisitMessage,
    read_message,
)
from connectors.mllp.framing import BrokenFrame
from ehr_bridge.store.base import is_sqlite
from ehr_bridge.sync.loop import SyncLoop
from ehr_bridge.sync.tables import mllp_visit_table, quarantine_table

log = logging.getLogger("ehr_bridge.mllp")


def make_durable(store: Any) -> None:
    """SQLite: ``synchronous=FULL`` on every connection of this store's engine."""
    engine = store.engine
    if not is_sqlite(str(engine.url)):
        return

    @event.listens_for(engine, "connect")
    def _full_sync(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    engine.dispose()  # connections opened before (migrations) get the pragma on reconnect


class MllpIngest:
    """Callable handler for :class:`connectors.mllp.MllpServer`."""

    def __init__(
        self, store: Any, config: MllpConfig | None = None, *, validate: bool = True
    ) -> None:
        self.store = store
        make_durable(store)
        self.connector = MllpConnector(config)
        self.scope = "mllp"
        # one message per transaction, committed before its ACK: nothing to write behind
        self.loop = SyncLoop(
            store,
            self.connector,
            scope=self.scope,
            validate=validate,
            batch_size=1,
            write_behind=False,
        )
        self.acks = AckBuilder()
        self.counts = {"AA": 0, "AE": 0, "AR": 0}

    def __call__(self, item: bytes | BrokenFrame) -> bytes | None:
        if isinstance(item, BrokenFrame):
            header = read_msh(item.head) if item.head else None
            if header is None:
                return None  # nothing identifiable to answer
            return self._answer(header, "AR", item.reason, "", SEGMENT_SEQUENCE)
        header = read_msh(item)
        if header is None:
            return self._answer(None, "AR", "no MSH segment at the start of the message", "MSH",
                                SEGMENT_SEQUENCE)  # fmt: skip
        incoming = read_message(item)
        if incoming.message is not None and not incoming.kind:
            return self._answer(header, "AR", "unsupported message type", "MSH-9", UNSUPPORTED_TYPE)
        record = self.connector.record(item, incoming, header.control_id or "-")
        if self.connector.is_visit(incoming) and self._converts(record):
            record = self._visit_record(item, incoming, record.source_ref, header.control_id or "-")
        try:
            report = self.loop.process([record])
        except Exception as exc:  # noqa: BLE001 - the sender must resend; no exception text
            log.error("MLLP message %s not stored: %s", header.control_id, type(exc).__name__)
            return self._answer(header, "AE", "message not stored: storage failure; resend",
                                "", INTERNAL)  # fmt: skip
        if report.quarantined:
            location, reason = self._quarantine_reason(record.key)
            return self._answer(header, "AE", reason, location, error_code_for(location, reason))
        return self._answer(header, "AA")

    def _converts(self, record: Any) -> bool:
        """Whether a visit message converts alone (if not, the normal path quarantines it)."""
        try:
            self.connector.convert(record)
        except Exception:  # noqa: BLE001 - quarantined (with its reason) by the sync loop
            return False
        return True

    def _visit_record(self, data: bytes, incoming: Incoming, ref: str, control_id: str) -> Any:
        """Keep this visit message (a re-send replaces its bytes, keeps its place) and return
        the patient's visit record: every visit message of the patient, in receive order."""
        t = mllp_visit_table
        name = self.connector.name
        patient = self.connector.patient_of(incoming)
        key = self.connector.visit_key(patient)
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.store.begin() as c:
            mine = (t.c.connector == name) & (t.c.patient_key == key)
            known = c.execute(select(t.c.seq).where(mine, t.c.control_id == control_id)).first()
            if known is not None:
                c.execute(
                    update(t)
                    .where(mine, t.c.control_id == control_id)
                    .values(data=data, kind=incoming.kind, source_ref=ref, received_at=now)
                )
            else:
                last = c.execute(select(func.max(t.c.seq)).where(mine)).scalar()
                c.execute(
                    t.insert().values(
                        connector=name,
                        patient_key=key,
                        control_id=control_id,
                        seq=(last or 0) + 1,
                        kind=incoming.kind,
                        source_ref=ref,
                        data=data,
                        received_at=now,
                    )  # fmt: skip
                )
            rows = c.execute(
                select(t.c.seq, t.c.kind, t.c.data, t.c.source_ref).where(mine).order_by(t.c.seq)
            ).all()
        messages = [VisitMessage(r.seq, r.kind, bytes(r.data), r.source_ref) for r in rows]
        return self.connector.visit_record(patient, messages)

    def _quarantine_reason(self, key: str) -> tuple[str, str]:
        q = quarantine_table
        with self.store.engine.connect() as c:
            row = c.execute(
                select(q.c.location, q.c.reason)
                .where(
                    q.c.connector == self.connector.name,
                    q.c.record_key == key,
                    q.c.resolved.is_(False),
                )  # fmt: skip
                .order_by(q.c.last_seen.desc(), q.c.id.desc())
            ).first()
        if row is None:
            return "", "message could not be converted"
        return row.location, row.reason

    def _answer(
        self,
        header: Any,
        code: str,
        reason: str = "",
        location: str = "",
        error: tuple[str, str] | None = None,
    ) -> bytes:
        self.counts[code] += 1
        ctrl = header.control_id if header is not None else "-"
        if code == "AA":
            log.info("MLLP message %s: AA", ctrl)
        else:
            log.warning("MLLP message %s: %s %s: %s", ctrl, code, location or "-", reason)
        return self.acks.build(header, code, reason=reason, location=location, error=error)  # type: ignore[arg-type]
