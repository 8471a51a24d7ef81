"""Registered lab masters: submit, map (review decisions win), decide, export as ConceptMap.

Every write is one transaction; a failure leaves the previous state intact. Logs name master
ids and row counts only (no test names or values).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from ehr_bridge.jlac.tables import decision_table, master_row_table, master_table, result_table
from mappings.code_systems import JLAC10, JLAC11
from mappings.jlac.codes import Jlac10Code, Jlac11Code, JlacCodeError
from mappings.jlac.mapper import MapInput, Mapper
from mappings.jlac.review import Decision, apply_decisions
from mappings.jlac.tables import Tables, load_tables

log = logging.getLogger("ehr_bridge.jlac")

LOCAL_SYSTEM_BASE = "urn:ehr-bridge:jlac-master:"
JLAC10_SYSTEM = JLAC10
JLAC11_SYSTEM = JLAC11


class JlacServiceError(ValueError):
    """A request the service refuses (unknown master or row, invalid code)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RunSummary:
    master_id: int
    rows: int
    auto: int
    review: int
    unmapped: int
    decided: int
    duration_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _hash_rows(rows: Sequence[MapInput]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps([r.local_code, r.local_name, r.specimen, r.unit, r.method]).encode())
    return h.hexdigest()


def submit_master(engine: Engine, name: str, rows: Sequence[MapInput]) -> int:
    """Register (or replace the rows of) a master; returns its id."""
    if not name.strip():
        raise JlacServiceError("master name must not be empty")
    seen: set[str] = set()
    for i, r in enumerate(rows, start=1):
        if not r.local_code.strip():
            raise JlacServiceError(f"row {i}, column local_code: empty code")
        if not r.local_name.strip():
            raise JlacServiceError(f"row {i}, column local_name: empty name")
        if r.local_code in seen:
            raise JlacServiceError(f"row {i}, column local_code: duplicate local code")
        seen.add(r.local_code)
    digest = _hash_rows(rows)
    now = _now()
    with engine.begin() as conn:
        mid = conn.execute(select(master_table.c.id).where(master_table.c.name == name)).scalar()
        if mid is None:
            mid = conn.execute(
                insert(master_table).values(
                    name=name, content_hash=digest, rows=len(rows), created_at=now, updated_at=now
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        else:
            conn.execute(
                update(master_table)
                .where(master_table.c.id == mid)
                .values(content_hash=digest, rows=len(rows), updated_at=now)
            )
            conn.execute(delete(master_row_table).where(master_row_table.c.master_id == mid))
        if rows:
            conn.execute(
                insert(master_row_table),
                [
                    {
                        "master_id": mid,
                        "local_code": r.local_code,
                        "seq": i,
                        "local_name": r.local_name,
                        "specimen": r.specimen,
                        "unit": r.unit,
                        "method": r.method,
                        "category": r.category,
                    }
                    for i, r in enumerate(rows)
                ],
            )
    log.info("jlac master %s registered (%d rows)", mid, len(rows))
    return int(mid)


def list_masters(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(master_table).order_by("id"))]


def _master(conn: Any, master_id: int) -> Any:
    row = conn.execute(select(master_table).where(master_table.c.id == master_id)).first()
    if row is None:
        raise JlacServiceError(f"no JLAC master with id {master_id}", 404)
    return row


def _rows(conn: Any, master_id: int) -> list[MapInput]:
    q = select(master_row_table).where(master_row_table.c.master_id == master_id).order_by("seq")
    return [
        MapInput(r.local_code, r.local_name, r.specimen, r.unit, r.method, r.category)
        for r in conn.execute(q)
    ]


def _decisions(conn: Any, master_id: int) -> dict[str, Decision]:
    q = select(decision_table).where(decision_table.c.master_id == master_id)
    return {r.local_code: Decision(r.jlac10, r.jlac11, r.action) for r in conn.execute(q)}


def map_master(engine: Engine, master_id: int, tables: Tables | None = None) -> RunSummary:
    """Map every row of a master and store the results (decisions applied) in one transaction."""
    t0 = time.perf_counter()
    tables = tables or load_tables()
    with engine.connect() as conn:
        m = _master(conn, master_id)
        rows = _rows(conn, master_id)
        decisions = _decisions(conn, master_id)
    results = apply_decisions(list(Mapper(tables).map_rows(rows)), decisions)
    now = _now()
    with engine.begin() as conn:
        conn.execute(delete(result_table).where(result_table.c.master_id == master_id))
        if results:
            conn.execute(
                insert(result_table),
                [
                    {
                        "master_id": master_id,
                        "local_code": r.local_code,
                        "jlac10": r.jlac10,
                        "jlac11": r.jlac11,
                        "confidence": r.confidence,
                        "status": r.status,
                        "source": "decision" if r.local_code in decisions else "mapper",
                        "candidates": json.dumps(
                            [{"jlac10": c.jlac10, "score": c.score} for c in r.candidates]
                        ),
                        "mapped_at": now,
                    }
                    for r in results
                ],
            )
        conn.execute(
            update(master_table)
            .where(master_table.c.id == master_id)
            .values(mapped_hash=m.content_hash, mapped_tables=tables.fingerprint, mapped_at=now)
        )
    s = RunSummary(
        master_id,
        len(results),
        sum(r.status == "auto" for r in results),
        sum(r.status == "review" for r in results),
        sum(r.status == "unmapped" for r in results),
        len(decisions),
        round(time.perf_counter() - t0, 3),
    )
    log.info("jlac master %s mapped: %s", master_id, s.as_dict())
    return s


def needs_mapping(master: Any, tables: Tables) -> bool:
    return master.mapped_hash != master.content_hash or master.mapped_tables != tables.fingerprint


def results(engine: Engine, master_id: int, status: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        _master(conn, master_id)
        q = (
            select(result_table, master_row_table.c.seq, master_row_table.c.local_name)
            .join(
                master_row_table,
                (master_row_table.c.master_id == result_table.c.master_id)
                & (master_row_table.c.local_code == result_table.c.local_code),
            )
            .where(result_table.c.master_id == master_id)
            .order_by(master_row_table.c.seq)
        )
        if status:
            q = q.where(result_table.c.status == status)
        out = []
        for r in conn.execute(q):
            d = dict(r._mapping)
            d["candidates"] = json.loads(d["candidates"])
            d["mapped_at"] = d["mapped_at"].isoformat()
            out.append(d)
        return out


def decide(
    engine: Engine,
    master_id: int,
    local_code: str,
    action: str,
    jlac10: str = "",
    jlac11: str = "",
    user: str = "api",
) -> dict[str, Any]:
    """Accept the current mapping or override it; the decision wins on every later run."""
    if action not in ("accept", "override", "unmapped"):
        raise JlacServiceError("action must be accept, override or unmapped")
    with engine.begin() as conn:
        _master(conn, master_id)
        exists = conn.execute(
            select(master_row_table.c.local_code).where(
                (master_row_table.c.master_id == master_id)
                & (master_row_table.c.local_code == local_code)
            )
        ).first()
        if exists is None:
            raise JlacServiceError(f"master {master_id} has no row with that local code", 404)
        if action == "accept":
            cur = conn.execute(
                select(result_table.c.jlac10, result_table.c.jlac11).where(
                    (result_table.c.master_id == master_id)
                    & (result_table.c.local_code == local_code)
                )
            ).first()
            if cur is None or not cur.jlac10:
                raise JlacServiceError("nothing to accept: the row has no mapped JLAC10 code", 409)
            jlac10, jlac11 = cur.jlac10, cur.jlac11
        elif action == "override":
            try:
                jlac10 = str(Jlac10Code.parse(jlac10))
                if len(jlac10) != 17:
                    raise JlacCodeError("override needs a 17-digit JLAC10 code")
                jlac11 = str(Jlac11Code.parse(jlac11)) if jlac11 else ""
            except JlacCodeError as exc:
                raise JlacServiceError(str(exc)) from None
        else:
            jlac10, jlac11 = "", ""
        values = {
            "action": action,
            "jlac10": jlac10,
            "jlac11": jlac11,
            "decided_by": user[:100],
            "decided_at": _now(),
        }
        conn.execute(
            delete(decision_table).where(
                (decision_table.c.master_id == master_id)
                & (decision_table.c.local_code == local_code)
            )
        )
        conn.execute(
            insert(decision_table).values(master_id=master_id, local_code=local_code, **values)
        )
        status = "unmapped" if action == "unmapped" else "auto"
        conn.execute(
            update(result_table)
            .where(
                (result_table.c.master_id == master_id) & (result_table.c.local_code == local_code)
            )
            .values(jlac10=jlac10, jlac11=jlac11, status=status, confidence=1.0, source="decision")
        )
    return {"local_code": local_code, **{k: v for k, v in values.items() if k != "decided_at"}}


def load_decisions(db_url: str, master_name: str) -> dict[str, Decision]:
    """Decisions of the master registered under ``master_name`` (used by ``jlac map --db``)."""
    from ehr_bridge.store import open_store

    engine = open_store(db_url).engine
    with engine.connect() as conn:
        mid = conn.execute(
            select(master_table.c.id).where(master_table.c.name == master_name)
        ).scalar()
        return {} if mid is None else _decisions(conn, int(mid))


def conceptmap(engine: Engine, master_id: int) -> dict[str, Any]:
    """FHIR R4 ConceptMap: the master's local codes → JLAC10 (and JLAC11 where known)."""
    with engine.connect() as conn:
        m = _master(conn, master_id)
    rows = results(engine, master_id)
    source = f"{LOCAL_SYSTEM_BASE}{m.name}"
    groups: dict[str, list[dict[str, Any]]] = {JLAC10_SYSTEM: [], JLAC11_SYSTEM: []}
    for r in rows:
        if r["status"] == "unmapped" or not r["jlac10"]:
            elem = {
                "code": r["local_code"],
                "display": r["local_name"],
                "target": [{"equivalence": "unmatched"}],
            }
            groups[JLAC10_SYSTEM].append(elem)
            continue
        eq = "equivalent" if r["status"] == "auto" else "inexact"
        groups[JLAC10_SYSTEM].append(
            {
                "code": r["local_code"],
                "display": r["local_name"],
                "target": [{"code": r["jlac10"], "equivalence": eq}],
            }
        )
        if r["jlac11"]:
            groups[JLAC11_SYSTEM].append(
                {
                    "code": r["local_code"],
                    "display": r["local_name"],
                    "target": [{"code": r["jlac11"], "equivalence": eq}],
                }
            )
    return {
        "resourceType": "ConceptMap",
        "id": f"jlac-master-{master_id}",
        "url": f"urn:ehr-bridge:conceptmap:jlac-master-{master_id}",
        "name": f"JlacMaster{master_id}",
        "status": "active",
        "date": _now().date().isoformat(),
        "sourceUri": source,
        "group": [
            {"source": source, "target": system, "element": elems}
            for system, elems in groups.items()
            if elems
        ],
    }


def export_conceptmap(db_url: str, master_id: int) -> dict[str, Any]:
    """Build the ConceptMap and store it in the FHIR store (id ``jlac-master-<id>``)."""
    from ehr_bridge.store import open_store

    store = open_store(db_url)
    cm = conceptmap(store.engine, master_id)
    store.upsert_many([cm])
    return store.read("ConceptMap", cm["id"]) or cm
