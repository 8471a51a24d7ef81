"""Run a plan against the flat views: read-only transaction, bound parameters, row limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Connection, Engine

from nl2query import compile_sql as cs
from nl2query.ir import QueryPlan


class NeedsClarify(Exception):
    """Execution found the question ambiguous (e.g. a name shared by several patients)."""


@dataclass
class Result:
    answer_type: str
    count: int | None = None
    patients: list[dict[str, str]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)
    boolean: bool | None = None
    sql: list[str] = field(default_factory=list)
    rows: int = 0
    patient_found: bool = True
    patient_id: str | None = None  # the single patient asked about, once resolved
    fhir: list[str] | None = None  # FHIR searches actually run (FHIR executor only)


class SourceError(Exception):
    """The data source (e.g. a FHIR server) could not be queried; no patient data in text."""


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA query_only=ON")
            conn.commit()
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA query_only=OFF")
                conn.commit()


class Runner:
    def __init__(self, conn: Connection, limit: int) -> None:
        self.conn = conn
        self.limit = limit
        self.sql: list[str] = []
        self.rows = 0
        self.patient_id: str | None = None

    def run(self, stmt: Select[Any]) -> list[Any]:
        stmt = stmt.limit(self.limit)
        self.sql.append(str(stmt.compile(dialect=self.conn.dialect)))
        rows = list(self.conn.execute(stmt))
        self.rows += len(rows)
        return rows


def execute(plan: QueryPlan, engine: Engine, now: datetime) -> Result:
    today = now.date()
    with read_only(engine) as conn:
        r = Runner(conn, plan.limit)
        res = evaluate(plan, r, today)
        res.sql, res.rows = r.sql, r.rows
        return res


def _resolve_patient(plan: QueryPlan, r: Runner) -> list[Any]:
    p = plan.patient
    assert p is not None
    if p.id:
        return [(p.id, p.identifier, None, None)]
    return r.run(cs.find_patients(p.identifier, p.name, p.kana, p.birth_date))


OBSERVATION_AGGREGATES = frozenset(
    {"latest", "all", "count", "min", "max", "average", "difference", "rose", "fell"}
)
# The per-patient plan shapes ``_execute`` answers (subject → aggregates); "age" goes with any
# subject. The LLM bridge rejects every other shape before execution, so the model is told what
# to change instead of the question failing at run time. Keep in step with ``_execute``.
PATIENT_SHAPES: dict[str, frozenset[str]] = {
    "Patient": frozenset({"list", "exists", "age"}),
    "MedicationRequest": frozenset(
        {"exists", "distinct_count", "daily_dose", "single_dose", "age"}
    ),
    "Encounter": frozenset({"day_of_stay", "count", "age"}),
    "Observation": OBSERVATION_AGGREGATES | {"age"},
}


def answers_patient_shape(subject: str, aggregate: str) -> bool:
    """Whether ``_execute`` answers a plan about one patient with this subject and aggregate."""
    return aggregate == "age" or aggregate in PATIENT_SHAPES.get(subject, frozenset())


def evaluate(plan: QueryPlan, r: Runner, today: date) -> Result:
    """Answer a plan from the flat views reachable through ``r`` (the store's, or the FHIR
    executor's scratch copy of the fetched resources): one aggregator for both paths."""
    res = _execute(plan, r, today)
    res.patient_id = r.patient_id
    return res


def _execute(plan: QueryPlan, r: Runner, today: date) -> Result:
    at = plan.answer_type
    if plan.patient is None:
        rows = r.run(cs.cohort(plan.criteria, today))
        pats = [{"id": row[0], "identifier": row[1]} for row in rows]
        return Result(at, count=len(pats), patients=pats)
    found = _resolve_patient(plan, r)
    if plan.subject == "Patient" and plan.aggregate == "list":  # patient lookup
        pats = [{"id": row[0], "identifier": row[1]} for row in found]
        return Result(at, count=len(pats), patients=pats)
    if len(found) > 1:
        raise NeedsClarify("同じ氏名の患者が複数います。生年月日か患者番号を指定してください。")
    if not found:
        raise NeedsClarify("該当する患者が見つかりません。患者番号を確認してください。")
    pid = found[0][0]
    r.patient_id = pid
    agg = plan.aggregate
    if agg == "age":
        birth = found[0][2]
        if birth is None:
            raise NeedsClarify("生年月日が登録されていません。")
        b = date.fromisoformat(birth)
        age = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
        return Result(at, values=[{"patient": pid, "value": age, "unit": "歳"}])
    if agg == "exists" and plan.subject in ("Patient", "MedicationRequest"):
        rows = r.run(cs.cohort(plan.criteria, today, patient_id=pid))
        return Result(at, boolean=bool(rows))
    if plan.subject == "Encounter":
        if agg == "day_of_stay":
            rows = r.run(cs.encounters(pid, current=True))
            if not rows:
                return Result(at, values=[])
            start = date.fromisoformat(max(row[1] for row in rows))
            return Result(
                at, values=[{"patient": pid, "value": (today - start).days + 1, "unit": "日目"}]
            )
        if agg == "count":
            rows = r.run(cs.encounters(pid, period=plan.period))
            return Result(at, count=len({row[0] for row in rows}))
    if plan.subject == "MedicationRequest":
        concept = plan.concepts[0] if plan.concepts else None
        rows = r.run(cs.medications(pid, concept, active=True))
        uniq = {row[0]: row for row in rows}
        if agg == "distinct_count":
            return Result(at, count=len({row[1] for row in uniq.values()}))
        if agg == "daily_dose":
            return Result(at, values=_daily_dose(pid, list(uniq.values())))
        if agg == "single_dose":
            return Result(at, values=_single_dose(pid, list(uniq.values())))
    if plan.subject == "Observation":
        assert plan.concepts
        rows = r.run(cs.observations(pid, plan.concepts[0], plan.period))
        return _obs_aggregate(plan, pid, _dedupe_obs(rows))
    raise ValueError(f"unsupported plan shape {plan.subject}/{agg}")


def _dedupe_obs(rows: list[Any]) -> list[dict[str, Any]]:
    """One entry per Observation (rows are per coding); prefer the JLAC10 coding's code."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        rid, code, system, display, value, unit, d, at = row
        cur = out.get(rid)
        entry = {
            "code": code,
            "display": display,
            "value": value,
            "unit": unit,
            "date": d,
            "at": at,
        }
        if cur is None or ("loinc" in (cur.get("system") or "") and "loinc" not in (system or "")):
            entry["system"] = system
            out[rid] = entry
    return sorted(out.values(), key=lambda e: (e["at"] or "", e["date"] or ""), reverse=True)


def _obs_aggregate(plan: QueryPlan, pid: str, obs: list[dict[str, Any]]) -> Result:
    at, agg = plan.answer_type, plan.aggregate

    def val(e: dict[str, Any]) -> dict[str, Any]:
        return {
            "patient": pid,
            "code": e["code"],
            "display": e["display"],
            "value": e["value"],
            "unit": e["unit"],
            "date": e["date"],
        }

    if agg in ("latest", "all"):  # obs are newest first
        picked = obs[: plan.n or 1] if agg == "latest" else obs
        if plan.order == "oldest_first":
            picked = picked[::-1]
        return Result(at, values=[val(e) for e in picked])
    if agg == "count":
        return Result(at, count=len(obs))
    if not obs:
        return Result(at, values=[]) if at == "values" else Result(at, boolean=None)
    unit = obs[0]["unit"]
    if agg in ("min", "max"):
        pick = (min if agg == "min" else max)(obs, key=lambda e: e["value"])
        return Result(at, values=[val(pick)])
    if agg == "average":
        avg = sum(e["value"] for e in obs) / len(obs)
        if plan.decimals is not None:
            avg = round(avg + 0.0, plan.decimals)
        return Result(at, values=[{"patient": pid, "value": avg, "unit": unit}])
    if len(obs) < 2:
        raise NeedsClarify("比較できる前回値がありません。")
    diff = obs[0]["value"] - obs[1]["value"]
    if agg == "difference":
        return Result(at, values=[{"patient": pid, "value": round(diff, 6), "unit": unit}])
    if agg == "rose":
        return Result(at, boolean=diff > 0)
    if agg == "fell":
        return Result(at, boolean=diff < 0)
    raise ValueError(agg)


_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(mg|g|μg|mcg)")


def _daily_dose(pid: str, rows: list[Any]) -> list[dict[str, Any]]:
    total = 0.0
    unit = None
    for _rid, _code, _sys, display, dose, dose_unit, freq, period_days in rows:
        if dose is None:
            continue
        per_day = (freq or 1) / (period_days or 1)
        if dose_unit in ("mg", "g", "μg"):
            amount, u = dose, dose_unit
        else:
            m = _STRENGTH.search(display or "")
            if not m:
                amount, u = dose, dose_unit
            else:
                amount, u = dose * float(m.group(1)), m.group(2)
        if unit is not None and u != unit:
            raise NeedsClarify("単位の異なる処方が混在しています。")
        unit = u
        total += amount * per_day
    if unit is None:
        return []
    return [{"patient": pid, "value": round(total, 6), "unit": unit}]


def _single_dose(pid: str, rows: list[Any]) -> list[dict[str, Any]]:
    doses = {(row[4], row[5]) for row in rows if row[4] is not None}
    if not doses:
        return []
    if len(doses) > 1:
        raise NeedsClarify("有効な処方が複数あり、1回量が一つに決まりません。")
    d, u = doses.pop()
    return [{"patient": pid, "value": d, "unit": u}]
