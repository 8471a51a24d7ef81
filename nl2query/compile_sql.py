"""Plan → SQL (SQLAlchemy Core) over the flat views. Every value is a bound parameter.

Each builder returns a ``Select``; :mod:`nl2query.execute` runs it in a read-only transaction
and applies the row limit. Aggregates over a single patient's records (latest, min, average …)
are computed from the returned rows by :mod:`nl2query.aggregate`, shared with the FHIR path, so
both paths answer identically.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from nl2query.ir import Concept, Criterion, Period
from nl2query.textnorm import norm
from nl2query.views import (
    flat_allergy as A,
)
from nl2query.views import (
    flat_condition as C,
)
from nl2query.views import (
    flat_encounter as E,
)
from nl2query.views import (
    flat_encounter_location as EL,
)
from nl2query.views import (
    flat_medication_request as M,
)
from nl2query.views import (
    flat_observation as O,
)
from nl2query.views import (
    flat_patient as P,
)

OBS_OK = ("final", "amended", "corrected")
MED_ANY = ("active", "completed", "stopped", "on-hold")

_SYSTEMS = {
    "icd10": ("%ICD10%", "urn:oid:1.2.392.200119.4.101.6"),
    "yj": ("%YJ-code%", "urn:oid:1.2.392.100495.20.2.73"),
    "jlac10": ("%JLAC10%", "urn:oid:1.2.392.200119.4.504"),
}


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def code_match(t: Table, concept: Concept) -> ColumnElement[bool]:
    """OR of the concept's codes against a flat table's code/display columns."""
    conds: list[ColumnElement[bool]] = []
    for rc in concept.codes:
        if rc.system == "text":
            col = t.c.display_norm if "display_norm" in t.c else t.c.reason_norm
            conds.append(col.like(f"%{_esc(norm(rc.code))}%", escape="\\"))
            continue
        if rc.system == "loinc":
            conds.append(and_(t.c.code_system == "http://loinc.org", t.c.code == rc.code))
            continue
        like, oid = _SYSTEMS[rc.system]
        sys_ok = or_(t.c.code_system.like(like), t.c.code_system == oid)
        code = rc.code.replace(".", "") if rc.system == "icd10" else rc.code
        if rc.match == "exact":
            conds.append(and_(sys_ok, t.c.code == code))
        else:
            conds.append(and_(sys_ok, t.c.code.like(f"{_esc(code)}%", escape="\\")))
    return or_(*conds) if conds else false()


def _in_period(col: Any, period: Period | None) -> ColumnElement[bool]:
    if period is None:
        return true()
    parts = []
    if period.start:
        parts.append(col >= period.start)
    if period.end:
        parts.append(col <= period.end)
    return and_(*parts) if parts else true()


def _cmp(col: Any, op: str, value: float) -> ColumnElement[bool]:
    return {
        "lt": col < value,
        "le": col <= value,
        "gt": col > value,
        "ge": col >= value,
        "eq": col == value,
    }[op]


def _age_cutoff(today: date, years: int) -> str:
    try:
        return today.replace(year=today.year - years).isoformat()
    except ValueError:  # Feb 29
        return today.replace(year=today.year - years, day=28).isoformat()


def criterion_sql(c: Criterion, today: date) -> ColumnElement[bool]:
    """A boolean expression over ``flat_patient`` (P) for one patient-level criterion."""
    expr = _criterion(c, today)
    return not_(expr) if c.negate else expr


def _criterion(c: Criterion, today: date) -> ColumnElement[bool]:
    pid = P.c.patient_id
    if c.kind == "sex":
        return P.c.gender == c.sex
    if c.kind == "age":
        assert c.op is not None and c.value is not None
        n = int(c.value)
        if c.op == "ge":
            return P.c.birth_date <= _age_cutoff(today, n)
        if c.op == "gt":
            return P.c.birth_date <= _age_cutoff(today, n + 1)
        if c.op == "lt":
            return P.c.birth_date > _age_cutoff(today, n)
        if c.op == "le":
            return P.c.birth_date > _age_cutoff(today, n + 1)
        return and_(
            P.c.birth_date <= _age_cutoff(today, n), P.c.birth_date > _age_cutoff(today, n + 1)
        )
    assert c.concept is not None or c.kind in ("admitted", "currently_admitted")
    if c.kind == "condition":
        assert c.concept is not None
        return exists(
            select(C.c.resource_id).where(
                C.c.patient_id == pid,
                C.c.verification_status == "confirmed",
                code_match(C, c.concept),
                _in_period(C.c.onset_date, c.period),
            )
        )
    if c.kind == "condition_first":
        assert c.concept is not None
        first = (
            select(C.c.patient_id)
            .where(C.c.verification_status == "confirmed", code_match(C, c.concept))
            .group_by(C.c.patient_id)
            .having(_in_period(func.min(C.c.onset_date), c.period))
        )
        return pid.in_(first)
    if c.kind == "medication":
        assert c.concept is not None
        status = M.c.status == "active" if c.active else M.c.status.in_(MED_ANY)
        return exists(
            select(M.c.resource_id).where(
                M.c.patient_id == pid,
                status,
                code_match(M, c.concept),
                _in_period(M.c.authored_date, c.period),
            )
        )
    if c.kind == "medication_first":
        assert c.concept is not None
        first = (
            select(M.c.patient_id)
            .where(M.c.status.in_(MED_ANY), code_match(M, c.concept))
            .group_by(M.c.patient_id)
            .having(_in_period(func.min(M.c.authored_date), c.period))
        )
        return pid.in_(first)
    if c.kind == "lab_any":
        assert c.concept is not None
        conds = [O.c.patient_id == pid, O.c.status.in_(OBS_OK), code_match(O, c.concept)]
        conds.append(_in_period(O.c.effective_date, c.period))
        if c.op is not None and c.value is not None:
            conds.append(_cmp(O.c.value, c.op, c.value))
        return exists(select(O.c.resource_id).where(*conds))
    if c.kind == "lab_latest":
        assert c.concept is not None and c.op is not None and c.value is not None
        obs = (
            select(O.c.resource_id, O.c.patient_id, O.c.effective_at, O.c.value)
            .where(O.c.status.in_(OBS_OK), code_match(O, c.concept), O.c.value.is_not(None))
            .distinct()
            .subquery()
        )
        ranked = select(
            obs.c.patient_id,
            obs.c.value,
            func.row_number()
            .over(
                partition_by=obs.c.patient_id,
                order_by=(obs.c.effective_at.desc(), obs.c.resource_id.desc()),
            )
            .label("rn"),
        ).subquery()
        latest = select(ranked.c.patient_id).where(
            ranked.c.rn == 1, _cmp(ranked.c.value, c.op, c.value)
        )
        return pid.in_(latest)
    if c.kind == "allergy":
        assert c.concept is not None
        return exists(
            select(A.c.resource_id).where(
                A.c.patient_id == pid,
                or_(
                    A.c.verification_status.is_(None),
                    A.c.verification_status.not_in(("refuted", "entered-in-error")),
                ),
                code_match(A, c.concept),
            )
        )
    if c.kind in ("admitted", "currently_admitted"):
        conds = [E.c.patient_id == pid, E.c.class_code == "IMP"]
        if c.kind == "currently_admitted":
            conds.append(E.c.status == "in-progress")
        else:
            conds.append(E.c.status.not_in(("cancelled", "entered-in-error")))
            conds.append(_in_period(E.c.start_date, c.period))
        if c.reason is not None:
            conds.append(_reason_match(c.reason))
        if c.department:
            conds.append(E.c.department == c.department)
        if c.ward:
            loc = [EL.c.resource_id == E.c.resource_id, EL.c.location_norm == norm(c.ward)]
            if c.kind == "currently_admitted":
                loc.append(EL.c.status == "active")
            conds.append(exists(select(EL.c.resource_id).where(*loc)))
        return exists(select(E.c.resource_id).where(*conds))
    raise ValueError(f"unsupported criterion {c.kind}")


def _reason_match(concept: Concept) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = []
    for rc in concept.codes:
        if rc.system == "icd10":
            conds.append(E.c.reason_code.like(f"{_esc(rc.code.replace('.', ''))}%", escape="\\"))
        elif rc.system == "text":
            conds.append(E.c.reason_norm.like(f"%{_esc(norm(rc.code))}%", escape="\\"))
    return or_(*conds) if conds else false()


def cohort(criteria: list[Criterion], today: date, patient_id: str | None = None) -> Select[Any]:
    where = [criterion_sql(c, today) for c in criteria]
    if patient_id is not None:
        where.append(P.c.patient_id == patient_id)
    return (
        select(P.c.patient_id, P.c.identifier)
        .where(*where)
        .order_by(P.c.identifier, P.c.patient_id)
    )


def observations(patient_id: str, concept: Concept, period: Period | None) -> Select[Any]:
    return (
        select(
            O.c.resource_id,
            O.c.code,
            O.c.code_system,
            O.c.display,
            O.c.value,
            O.c.unit,
            O.c.effective_date,
            O.c.effective_at,
        )
        .where(
            O.c.patient_id == patient_id,
            O.c.status.in_(OBS_OK),
            code_match(O, concept),
            O.c.value.is_not(None),
            _in_period(O.c.effective_date, period),
        )
        .order_by(O.c.effective_at.desc(), O.c.resource_id.desc())
    )


def medications(patient_id: str, concept: Concept | None, active: bool = True) -> Select[Any]:
    conds = [
        M.c.patient_id == patient_id,
        M.c.status == "active" if active else M.c.status.in_(MED_ANY),
    ]
    if concept is not None:
        conds.append(code_match(M, concept))
    return (
        select(
            M.c.resource_id,
            M.c.code,
            M.c.code_system,
            M.c.display,
            M.c.dose_value,
            M.c.dose_unit,
            M.c.frequency,
            M.c.period_days,
        )
        .where(*conds)
        .order_by(M.c.resource_id)
    )


def encounters(patient_id: str, period: Period | None = None, current: bool = False) -> Select[Any]:
    conds = [E.c.patient_id == patient_id, E.c.class_code == "IMP"]
    if current:
        conds.append(E.c.status == "in-progress")
    else:
        conds.append(E.c.status.not_in(("cancelled", "entered-in-error")))
        conds.append(_in_period(E.c.start_date, period))
    return (
        select(E.c.resource_id, E.c.start_date, E.c.end_date, E.c.status)
        .where(*conds)
        .order_by(E.c.start_date)
    )


def find_patients(
    identifier: str | None, name: str | None, kana: str | None, birth: str | None
) -> Select[Any]:
    conds = []
    if identifier:
        conds.append(P.c.identifier == identifier)
    if name:
        conds.append(P.c.name == name)
    if kana:
        conds.append(P.c.kana == kana)
    if birth:
        conds.append(P.c.birth_date == birth)
    return (
        select(P.c.patient_id, P.c.identifier, P.c.birth_date, P.c.gender)
        .where(*conds)
        .order_by(P.c.identifier)
    )
