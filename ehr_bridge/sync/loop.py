"""The sync loop: discover → convert → validate → upsert → save cursor → quarantine.

Records are processed in batches (``batch_size`` records: what is held in memory at once);
each batch is flushed in one go (resources, record state, cursor and quarantine entries) into
the open transaction, which commits after each batch (the default) or, with
``commit_records``, once that many records or ``commit_seconds`` have gone by (bulk storage
sync: see :class:`SyncLoop`). Per record:

1. unchanged fingerprint → skip (re-runs add nothing and cost one read per file);
2. tombstone (``payload is None``) → delete what the record produced before;
3. ``convert`` (pure); ``RecordError`` or any other exception → quarantine, carry on;
4. validate every resource against the FHIR models → invalid: quarantine the record;
5. upsert the resources, delete those the previous version produced and this one does not,
   store ``if_absent`` resources only where nothing exists yet;
6. error issues naming a ``source_ref`` quarantine that element (e.g. one file of a
   multi-file record); quarantine entries of records that now convert are resolved.

Logs carry record keys and reasons only, never exception text (it may hold patient data).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from connectors._sdk.errors import RecordError
from connectors._sdk.fhir_models import validate_resource
from connectors._sdk.records import Checkpoint, Conversion, SourceRecord
from ehr_bridge.config import COMMIT_SECONDS
from ehr_bridge.store.repository import bulk_insert
from ehr_bridge.store.tables import resource_table
from ehr_bridge.store.write_behind import write_behind
from ehr_bridge.sync.tables import cursor_table, folder_table, quarantine_table, record_table

log = logging.getLogger("ehr_bridge.sync")

_IN = 500  # keys per IN-list
_KNOWN_MAX = 50_000  # bound of SyncLoop._known


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class SyncReport:
    records: int = 0
    converted: int = 0
    skipped: int = 0
    deleted_records: int = 0
    quarantined: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted_resources: int = 0
    warnings: int = 0
    folders_seen: int = 0  # storage sync: folders walked / read (changed)
    folders_read: int = 0
    jlac_applied: int = 0  # Observations given the JLAC codes of their local lab code
    quarantined_refs: list[str] = field(default_factory=list)
    # warnings by kind ("PID-3: <reason>"; repetition indexes dropped) and the first source
    # files of each kind, so an operator can see what the count is made of
    warning_kinds: Counter[str] = field(default_factory=Counter)
    warning_refs: dict[str, list[str]] = field(default_factory=dict)
    # elements present in the source but not used by the conversion (e.g. "NK1", "ZPR"), by
    # the number of records that had them: what an integrator may want mapped next
    unmapped: Counter[str] = field(default_factory=Counter)

    def add_warning(self, location: str, reason: str, source_ref: str) -> None:
        self.warnings += 1
        where = _INDEXES.sub("", location)
        kind = f"{where}: {reason}" if where else reason
        self.warning_kinds[kind] += 1
        refs = self.warning_refs.setdefault(kind, [])
        if len(refs) < WARNING_EXAMPLES and source_ref not in refs:
            refs.append(source_ref)

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("quarantined_refs")
        d.pop("warning_refs")
        d["warning_kinds"] = dict(self.warning_kinds.most_common())
        d["unmapped"] = dict(self.unmapped.most_common())
        return d


WARNING_EXAMPLES = 3
_INDEXES = re.compile(r"\[\d+\]")


@dataclass
class _Q:
    record_key: str
    source_ref: str
    location: str
    reason: str


@dataclass
class _Batch:
    upserts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    if_absent: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deletes: set[tuple[str, str]] = field(default_factory=set)
    states: dict[str, tuple[str, list[str], str] | None] = field(default_factory=dict)
    quarantine: list[_Q] = field(default_factory=list)
    resolved_keys: set[str] = field(default_factory=set)
    kept_refs: dict[str, set[str]] = field(default_factory=dict)
    checkpoints: dict[str, str] = field(default_factory=dict)
    cursor: str = ""
    stored_keys: set[str] = field(default_factory=set)  # keys with a sync_record row now


class SyncLoop:
    def __init__(
        self,
        store: Any,
        connector: Any,
        *,
        scope: str = "",
        validate: bool = True,
        batch_size: int = 500,
        commit_records: int = 0,
        commit_seconds: float = COMMIT_SECONDS,
        clock: Callable[[], datetime] = _now,
        write_behind: bool = True,
    ) -> None:
        """``batch_size``: records converted, held and flushed together.
        ``commit_records``: records per transaction (0: one transaction per batch). A bulk
        ingest writes random keys (resource ids, references, identifiers) into B-tree
        indexes; on SQLite each commit writes every index page it dirtied to the WAL once,
        so fewer, larger transactions write much less (SS-MIX2 sync of 10k new messages
        into a 90k-message store: 632 MB of WAL with 2,000-record transactions, see
        benchmarks/RESULTS-ssmix2.md). Memory stays bounded by ``batch_size`` and the
        database's page cache, not by the transaction. ``commit_seconds`` bounds how long
        other writers wait for the store (SQLite has one writer at a time).
        ``write_behind``: on PostgreSQL, each batch's bulk inserts are streamed while the next
        batch is read and converted (:mod:`ehr_bridge.store.write_behind`)."""
        self.store = store
        self.connector = connector
        self.name: str = connector.name
        self.scope = scope
        self.validate = validate
        self.batch_size = batch_size
        self.commit_records = commit_records
        self.commit_seconds = commit_seconds
        self.clock = clock
        self.write_behind = write_behind
        self._in_txn = False
        self._after_commit: list[Callable[[], None]] = []
        # (type, id) known to exist: spares the lookup of ``if_absent`` resources. Bounded (a
        # cache of recent keys, cleared when full) so memory stays flat as the source grows.
        self._known: set[tuple[str, str]] = set()
        # JLAC codes of the hospital's mapped lab master, added to Observations that carry only
        # local lab codes (ehr_bridge.jlac.apply).
        from ehr_bridge.jlac.apply import LabCodeEnricher

        self._enrich = LabCodeEnricher(store.engine)

    # ------------------------------------------------------------------ public
    def run(self, since: str | None = None) -> SyncReport:
        return self.process(self.connector.discover(since))

    def when_idle(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` now, or right after the commit when this loop holds a transaction
        open (``process`` pulls records while it does). For callbacks that write through their
        own connection, e.g. a job heartbeat: on SQLite that write would wait for this loop's
        lock, which this thread holds, until ``busy_timeout``."""
        if not self._in_txn:
            callback()
        elif callback not in self._after_commit:
            self._after_commit.append(callback)

    def process(
        self, records: Iterable[SourceRecord | Checkpoint], report: SyncReport | None = None
    ) -> SyncReport:
        """Process ``records``; counts go to ``report`` (a new one by default), which the
        caller may read while the run goes on (progress)."""
        report = SyncReport() if report is None else report
        try:
            with ExitStack() as txn:
                conn: Connection | None = None
                in_txn, started = 0, 0.0
                for chunk in _chunks(records, self.batch_size):
                    if conn is None:
                        conn = txn.enter_context(self.store.begin())
                        if self.write_behind:
                            txn.enter_context(write_behind(conn))
                        self._in_txn, in_txn, started = True, 0, time.monotonic()
                    self._process_chunk(chunk, report, conn)
                    in_txn += len(chunk)
                    if in_txn >= self.commit_records or (
                        time.monotonic() - started >= self.commit_seconds
                    ):
                        txn.close()  # commits
                        conn = None
                        self._run_after_commit()
            self._run_after_commit()
        finally:
            self._in_txn = False
            self._after_commit.clear()
        return report

    def _run_after_commit(self) -> None:
        self._in_txn = False
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def retry(self) -> SyncReport:
        """Re-read and re-convert every open quarantine entry of this connector + scope."""
        with self.store.engine.connect() as c:
            refs = [
                r.source_ref
                for r in c.execute(
                    select(quarantine_table.c.source_ref)
                    .where(
                        quarantine_table.c.connector == self.name,
                        quarantine_table.c.scope == self.scope,
                        quarantine_table.c.resolved.is_(False),
                    )
                    .distinct()
                )
            ]
        records: dict[str, SourceRecord] = {}
        gone: list[str] = []
        for ref in refs:
            rec = self.connector.reload(ref)
            if rec is None:
                gone.append(ref)
            else:
                records[rec.key] = rec
        report = self.process(
            SourceRecord(r.key, r.payload, r.source_ref, r.cursor, "") for r in records.values()
        )
        if gone:
            with self.store.begin() as conn:
                conn.execute(
                    update(quarantine_table)
                    .where(
                        quarantine_table.c.connector == self.name,
                        quarantine_table.c.source_ref.in_(gone),
                        quarantine_table.c.resolved.is_(False),
                    )
                    .values(resolved=True, last_seen=self.clock())
                )
        return report

    # ------------------------------------------------------------------ internals
    def _states(self, conn: Connection, keys: list[str]) -> dict[str, Any]:
        """Stored record states, read in the open transaction (it sees earlier batches)."""
        out: dict[str, Any] = {}
        t = record_table
        for i in range(0, len(keys), 500):
            rows = conn.execute(
                select(t.c.record_key, t.c.fingerprint, t.c.resources).where(
                    t.c.connector == self.name, t.c.record_key.in_(keys[i : i + 500])
                )
            )
            for r in rows:
                out[r.record_key] = r
        return out

    def _process_chunk(self, chunk: list[Any], report: SyncReport, conn: Connection) -> None:
        keys = list({r.key for r in chunk if isinstance(r, SourceRecord)})
        states = self._states(conn, keys)
        b = _Batch(stored_keys=set(states))
        for rec in chunk:
            if isinstance(rec, Checkpoint):
                b.checkpoints[rec.folder] = rec.signature
                continue
            report.records += 1
            if rec.cursor and rec.cursor > b.cursor:
                b.cursor = rec.cursor
            state = states.get(rec.key)
            old_refs: list[str] = json.loads(state.resources) if state is not None else []
            if rec.payload is None:
                if state is None:
                    report.skipped += 1
                    continue
                for ref in old_refs:
                    b.deletes.add(_split(ref))
                b.states[rec.key] = None
                b.resolved_keys.add(rec.key)
                report.deleted_records += 1
                continue
            if state is not None and rec.fingerprint and state.fingerprint == rec.fingerprint:
                report.skipped += 1
                continue
            conv = self._convert(rec, b, report)
            if conv is None:
                continue
            refs = []
            for res in conv.resources:
                k = (res["resourceType"], res["id"])
                b.upserts[k] = res
                refs.append(f"{k[0]}/{k[1]}")
            for res in conv.if_absent:
                k = (res["resourceType"], res["id"])
                if k not in b.upserts:
                    b.if_absent.setdefault(k, res)
            new = set(refs)
            for ref in old_refs:
                if ref not in new:
                    b.deletes.add(_split(ref))
            b.states[rec.key] = (rec.fingerprint or "-", refs, rec.source_ref)
            b.resolved_keys.add(rec.key)
            b.kept_refs[rec.key] = set()
            for issue in conv.issues:
                if issue.severity == "error":
                    ref = issue.source_ref or rec.source_ref
                    b.quarantine.append(_Q(rec.key, ref, issue.location, issue.reason))
                    b.kept_refs[rec.key].add(ref)
                    report.quarantined += 1
                    report.quarantined_refs.append(ref)
                else:
                    report.add_warning(
                        issue.location, issue.reason, issue.source_ref or rec.source_ref
                    )
            report.unmapped.update(conv.unconsumed)
            report.converted += 1
        self._flush(conn, b, report)

    def _convert(self, rec: SourceRecord, b: _Batch, report: SyncReport) -> Conversion | None:
        try:
            conv: Conversion = self.connector.convert(rec)
            if self.validate:
                for res in [*conv.resources, *conv.if_absent]:
                    problems = validate_resource(res)
                    if problems:
                        loc = problems[0].split(":", 1)[0]
                        raise RecordError(f"FHIR validation failed: {problems[0]}", loc)
        except RecordError as exc:
            self._quarantine(rec, exc.location, exc.reason, b, report)
            return None
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the run; no text logged
            self._quarantine(rec, "", f"internal error ({type(exc).__name__})", b, report)
            # no traceback text: exception messages may quote patient data; log where it broke
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
            log.error("record %s: converter raised %s at %s", rec.key, type(exc).__name__, where)
            return None
        return conv

    def _quarantine(
        self, rec: SourceRecord, location: str, reason: str, b: _Batch, report: SyncReport
    ) -> None:
        b.quarantine.append(_Q(rec.key, rec.source_ref, location, reason))
        b.kept_refs.setdefault(rec.key, set()).add(rec.source_ref)
        report.quarantined += 1
        report.quarantined_refs.append(rec.source_ref)
        log.warning("quarantined record %s (%s): %s", rec.key, location or "-", reason)

    def _flush(self, conn: Connection, b: _Batch, report: SyncReport) -> None:
        now = self.clock()
        deletes = b.deletes - set(b.upserts)
        for rtype, rid in sorted(deletes):
            if self.store.delete(rtype, rid, conn=conn):
                report.deleted_resources += 1
            self._known.discard((rtype, rid))
        absent = self._missing(conn, [k for k in b.if_absent if k not in b.upserts])
        resources = list(b.upserts.values()) + [b.if_absent[k] for k in absent]
        report.jlac_applied += self._enrich(resources)
        # Statements first, bulk inserts last: on PostgreSQL the bulk inserts are written
        # behind (ehr_bridge.store.write_behind) while the next batch converts, and any
        # statement after them would wait for them.
        self._write_quarantine(conn, b, now)
        if b.cursor:
            self._save_cursor(conn, b.cursor, now)
        self._clear_states(conn, b)
        if b.checkpoints:
            self._clear_checkpoints(conn, b.checkpoints)
        if resources:
            stats = self.store.upsert_many(resources, conn=conn)
            report.created += stats.created
            report.updated += stats.updated
            report.unchanged += stats.unchanged
        if len(self._known) > _KNOWN_MAX:
            self._known.clear()
        self._known.update(b.upserts)
        self._known.update(absent)
        self._insert_states(conn, b, now)
        if b.checkpoints:
            self._insert_checkpoints(conn, b.checkpoints, now)

    def _clear_checkpoints(self, conn: Connection, cps: dict[str, str]) -> None:
        t = folder_table
        keys = list(cps)
        for i in range(0, len(keys), _IN):
            conn.execute(
                t.delete().where(
                    t.c.connector == self.name,
                    t.c.scope == self.scope,
                    t.c.folder.in_(keys[i : i + _IN]),
                )
            )

    def _insert_checkpoints(self, conn: Connection, cps: dict[str, str], now: datetime) -> None:
        t = folder_table
        rows = [
            {
                "connector": self.name,
                "scope": self.scope,
                "folder": k,
                "signature": v,
                "updated_at": now,
            }  # fmt: skip
            for k, v in cps.items()
        ]
        bulk_insert(conn, t, rows)

    def folder_signatures(self, folders: list[str]) -> dict[str, str]:
        """Stored signatures of ``folders`` (those with none are absent)."""
        t = folder_table
        out: dict[str, str] = {}
        with self.store.engine.connect() as c:
            for i in range(0, len(folders), 500):
                rows = c.execute(
                    select(t.c.folder, t.c.signature).where(
                        t.c.connector == self.name,
                        t.c.scope == self.scope,
                        t.c.folder.in_(folders[i : i + 500]),
                    )
                )
                out.update((r.folder, r.signature) for r in rows)
        return out

    def _missing(self, conn: Connection, keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
        keys = [k for k in keys if k not in self._known]
        if not keys:
            return []
        t = resource_table
        found: set[tuple[str, str]] = set()
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        for rtype, ids in by_type.items():
            rows = conn.execute(
                select(t.c.id).where(
                    t.c.resource_type == rtype, t.c.id.in_(ids), t.c.deleted.is_(False)
                )
            )
            found.update((rtype, r.id) for r in rows)
        self._known.update(found)
        return [k for k in keys if k not in found]

    def _clear_states(self, conn: Connection, b: _Batch) -> None:
        """The record-state rows are replaced: first one DELETE per 500 keys that had a row
        when the batch was read (none on a first ingest), then (:meth:`_insert_states`) one
        bulk insert of the new rows."""
        t = record_table
        gone = [k for k in b.states if k in b.stored_keys]
        for i in range(0, len(gone), _IN):
            conn.execute(
                t.delete().where(t.c.connector == self.name, t.c.record_key.in_(gone[i : i + _IN]))
            )

    def _insert_states(self, conn: Connection, b: _Batch, now: datetime) -> None:
        t = record_table
        rows = [
            {
                "connector": self.name,
                "record_key": k,
                "fingerprint": v[0],
                "resources": json.dumps(v[1]),
                "source_ref": v[2],
                "updated_at": now,
            }
            for k, v in b.states.items()
            if v is not None
        ]
        bulk_insert(conn, t, rows)

    def _write_quarantine(self, conn: Connection, b: _Batch, now: datetime) -> None:
        """Resolve the open entries of records that now convert (except the elements they
        still quarantine) and add/refresh the new entries: one SELECT per 500 record keys,
        then one UPDATE per 500 resolved entries; a refreshed entry (seen again) is one UPDATE
        each, new entries one insert."""
        q = quarantine_table
        keys = list(b.resolved_keys | {e.record_key for e in b.quarantine})
        open_: dict[tuple[str, str], tuple[int, int]] = {}  # (key, ref) -> (id, attempts)
        resolve: list[int] = []
        for i in range(0, len(keys), _IN):
            rows = conn.execute(
                select(q.c.id, q.c.record_key, q.c.source_ref, q.c.attempts).where(
                    q.c.connector == self.name,
                    q.c.resolved.is_(False),
                    q.c.record_key.in_(keys[i : i + _IN]),
                )
            )
            for r in rows:
                if r.record_key in b.resolved_keys and r.source_ref not in b.kept_refs.get(
                    r.record_key, ()
                ):
                    resolve.append(r.id)
                else:
                    open_.setdefault((r.record_key, r.source_ref), (r.id, r.attempts))
        for i in range(0, len(resolve), _IN):
            conn.execute(
                update(q)
                .where(q.c.id.in_(resolve[i : i + _IN]))
                .values(resolved=True, last_seen=now)
            )
        new: dict[tuple[str, str], dict[str, Any]] = {}
        for e in b.quarantine:
            k = (e.record_key, e.source_ref)
            if k in new:
                row = new[k]
                row.update(location=e.location[:128], reason=e.reason)
                row["attempts"] += 1
            elif k in open_:
                qid, attempts = open_[k]
                open_[k] = (qid, attempts + 1)
                conn.execute(
                    update(q)
                    .where(q.c.id == qid)
                    .values(
                        location=e.location[:128],
                        reason=e.reason,
                        last_seen=now,
                        attempts=attempts + 1,
                    )  # fmt: skip
                )
            else:
                new[k] = {
                    "connector": self.name, "scope": self.scope, "record_key": e.record_key,
                    "source_ref": e.source_ref, "location": e.location[:128],
                    "reason": e.reason, "first_seen": now, "last_seen": now, "attempts": 1,
                    "resolved": False,
                }  # fmt: skip
        if new:
            conn.execute(q.insert(), list(new.values()))

    def _save_cursor(self, conn: Connection, cursor: str, now: datetime) -> None:
        t = cursor_table
        cond = and_(t.c.connector == self.name, t.c.scope == self.scope)
        row = conn.execute(select(t.c.cursor).where(cond)).first()
        if row is None:
            conn.execute(
                t.insert().values(
                    connector=self.name, scope=self.scope, cursor=cursor, updated_at=now
                )
            )
        elif cursor > row.cursor:
            conn.execute(update(t).where(cond).values(cursor=cursor, updated_at=now))


def open_quarantine(store: Any, connector: str | None = None) -> list[dict[str, Any]]:
    q = quarantine_table
    stmt = select(q).where(q.c.resolved.is_(False)).order_by(q.c.id)
    if connector:
        stmt = stmt.where(q.c.connector == connector)
    with store.engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(stmt)]


def _split(ref: str) -> tuple[str, str]:
    rtype, rid = ref.split("/", 1)
    return rtype, rid


def _chunks(it: Iterable[Any], n: int) -> Iterator[list[Any]]:
    buf: list[Any] = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf
