"""Plan → FHIR R4 search URLs (for our API or a remote FHIR server).

Code prefixes become ``:below``-style token searches where the server supports them; text
fallbacks become ``code:text``. Patient-level criteria become ``_has`` reverse chains.
"""

from __future__ import annotations

from urllib.parse import quote

from nl2query.ir import Concept, Criterion, Period, QueryPlan

_SYS = {
    "icd10": "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full",
    "yj": "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code",
    "jlac10": "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
    "loinc": "http://loinc.org",
}


def _codes(concept: Concept, param: str = "code") -> str:
    toks = []
    text = []
    for rc in concept.codes:
        if rc.system == "text":
            text.append(rc.code)
        elif rc.match == "exact" or rc.system == "loinc":
            toks.append(f"{_SYS[rc.system]}|{rc.code}")
        else:
            toks.append(f"{_SYS[rc.system]}|{rc.code}")
    parts = []
    if toks:
        parts.append(f"{param}:below={quote(','.join(toks), safe='|:/,')}")
    if text and not toks:
        parts.append(f"{param}:text={quote(text[0])}")
    return "&".join(parts)


def _dates(param: str, period: Period | None) -> str:
    if period is None:
        return ""
    out = []
    if period.start:
        out.append(f"{param}=ge{period.start}")
    if period.end:
        out.append(f"{param}=le{period.end}")
    return "&".join(out)


def _join(*parts: str) -> str:
    return "&".join(p for p in parts if p)


def _criterion(c: Criterion) -> str:
    if c.kind == "sex":
        return f"gender={c.sex}"
    if c.kind == "age":
        return f"birthdate=age-{c.op}{int(c.value or 0)}"
    if c.kind in ("condition", "condition_first"):
        assert c.concept is not None
        return "_has:Condition:subject:" + _join(_codes(c.concept), "verification-status=confirmed")
    if c.kind in ("medication", "medication_first"):
        assert c.concept is not None
        st = "status=active" if c.active else ""
        return "_has:MedicationRequest:subject:" + _join(
            _codes(c.concept), st, _dates("authoredon", c.period)
        )
    if c.kind in ("lab_any", "lab_latest"):
        assert c.concept is not None
        v = f"value-quantity={c.op}{c.value:g}" if c.op and c.value is not None else ""
        return "_has:Observation:subject:" + _join(_codes(c.concept), v, _dates("date", c.period))
    if c.kind == "allergy":
        assert c.concept is not None
        return "_has:AllergyIntolerance:patient:" + _codes(c.concept)
    if c.kind == "currently_admitted":
        return "_has:Encounter:subject:class=IMP&status=in-progress"
    if c.kind == "admitted":
        return "_has:Encounter:subject:class=IMP&" + _dates("date", c.period)
    return ""


def compile_fhir(plan: QueryPlan, patient_id: str | None = None) -> list[str]:
    if plan.intent != "answer":
        return []
    subj = f"subject=Patient/{patient_id}" if patient_id else ""
    if plan.patient is None or plan.subject == "Patient":
        crit = [_criterion(c) for c in plan.criteria]
        if patient_id:
            crit.insert(0, f"_id={patient_id}")
        elif plan.patient is not None and plan.patient.identifier:
            crit.insert(0, f"identifier={plan.patient.identifier}")
        return ["Patient?" + _join(*crit, f"_count={plan.limit}")]
    if plan.subject == "Observation" and plan.concepts:
        return [
            "Observation?"
            + _join(
                subj,
                _codes(plan.concepts[0]),
                _dates("date", plan.period),
                "status=final,amended,corrected",
                "_sort=-date",
            )
        ]
    if plan.subject == "MedicationRequest":
        c = _codes(plan.concepts[0]) if plan.concepts else ""
        return ["MedicationRequest?" + _join(subj, c, "status=active")]
    if plan.subject == "Encounter":
        st = "status=in-progress" if plan.aggregate == "day_of_stay" else ""
        return ["Encounter?" + _join(subj, "class=IMP", st, _dates("date", plan.period))]
    return []
