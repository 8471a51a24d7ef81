"""Plan → FHIR R4 searches (for our API or a remote FHIR server).

Every search is a GET with only standard R4 parameters. What the searches mean:

- Patient lookup: ``Patient?identifier=<number>`` (any system) or ``name=`` + ``birthdate=``;
  a single-patient question is then two-step: the subject searches carry
  ``subject=Patient/<id>``.
- Codes: each code is sent in **every** URI form of its system (URL and OID), so a server that
  does not fold aliases still matches. Prefixes (ICD-10 ranges, YJ 7-char ingredient part,
  JLAC10 5-char analyte part) use the token modifier ``:below`` (our server: code-prefix match;
  ICD-10 codes are sent dotted and undotted). Display-text fallbacks (terms not in the
  terminology, allergens) cannot be expressed as a token search; those searches carry no code
  filter and the text is matched client-side (the limit: more data is fetched).
- Dates: explicit JST instants, ``ge<start>T00:00:00+09:00`` and ``lt<end+1>T00:00:00+09:00``.
  Encounter ``date`` is period overlap in R4; admissions *starting* in the window are then
  selected client-side.
- Thresholds: ``value-quantity=<prefix><number>`` (lab_any); "newest result ≥ X" needs the
  newest result per patient, so it fetches the results and compares client-side.
- Latest / last N: ``_sort=-date&_count=N`` (more pages only when some results have no value).
- Cohorts: one search per criterion with ``_include=<Type>:subject`` (the patients come along);
  a positive criterion's search is first probed with ``_summary=count`` (0 → the cohort is empty
  and nothing else is fetched). Criteria on the patient only (sex, age) become ``Patient?gender=
  &birthdate=``.

:func:`plan_searches` gives the structured searches the FHIR executor runs;
:func:`compile_fhir` renders them as relative URLs for the answer's ``query.fhir``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from nl2query.ir import Concept, Criterion, Period, QueryPlan

ICD = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
LOINC = "http://loinc.org"
IMP = "http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP"
OBS_OK = "final,amended,corrected"
MED_ANY = "active,completed,stopped,on-hold"

# Every URI form a code system is written in (the SQL compiler accepts the same ones).
SYSTEM_FORMS: dict[str, tuple[str, ...]] = {
    "icd10": (ICD, "urn:oid:1.2.392.200119.4.101.6"),
    "yj": ("http://capstandard.jp/iyaku.info/CodeSystem/YJ-code", "urn:oid:1.2.392.100495.20.2.73"),
    "jlac10": (
        "http://medis.or.jp/CodeSystem/master-JLAC10-17digits",
        "urn:oid:1.2.392.200119.4.504",
    ),
    "loinc": (LOINC,),
}
_SUBJECT_PARAM = {"AllergyIntolerance": "patient"}
_PAGE = 1000


@dataclass
class Search:
    """One FHIR search. ``want``: stop paging once this many valued results arrived."""

    rtype: str
    params: list[tuple[str, str]] = field(default_factory=list)
    want: int | None = None
    probe: bool = False  # probe with _summary=count first; 0 matches → empty cohort

    def url(self) -> str:
        q = urlencode(self.params, safe="|:,/")
        return f"{self.rtype}?{q}" if q else self.rtype

    def count_url(self) -> str:
        keep = [(k, v) for k, v in self.params if k not in ("_include", "_sort", "_count")]
        return Search(self.rtype, [*keep, ("_summary", "count")]).url()


def _icd_forms(code: str) -> list[str]:
    c = code.replace(".", "").upper()
    return [c, f"{c[:3]}.{c[3:]}"] if len(c) > 3 else [c]


def code_param(concept: Concept, param: str = "code") -> tuple[str, str] | None:
    """(name, value) of the token search for a concept, or None (text fallback: no filter).

    A concept that resolved through the terminology carries structured codes plus display-name
    patterns; the structured codes are what is searched (display names are matched on the
    fetched records). A concept with only display text gets no server-side code filter.
    """
    structured = [rc for rc in concept.codes if rc.system != "text"]
    if not structured:
        return None
    below = any(rc.match != "exact" and rc.system != "loinc" for rc in structured)
    values: list[str] = []
    for rc in structured:
        codes = _icd_forms(rc.code) if rc.system == "icd10" else [rc.code]
        for sysuri in SYSTEM_FORMS[rc.system]:
            values.extend(f"{sysuri}|{c}" for c in codes)
    name = f"{param}:below" if below else param
    return name, ",".join(dict.fromkeys(values))


def _d(day: str, plus: int = 0) -> str:
    return (date.fromisoformat(day) + timedelta(days=plus)).isoformat()


def date_params(param: str, period: Period | None) -> list[tuple[str, str]]:
    """JST calendar-day window [start, end] as explicit-offset instants."""
    if period is None:
        return []
    out = []
    if period.start:
        out.append((param, f"ge{period.start}T00:00:00+09:00"))
    if period.end:
        out.append((param, f"lt{_d(period.end, 1)}T00:00:00+09:00"))
    return out


def _age_cutoff(today: date, years: int) -> str:
    try:
        return today.replace(year=today.year - years).isoformat()
    except ValueError:  # Feb 29
        return today.replace(year=today.year - years, day=28).isoformat()


def _age_params(c: Criterion, today: date) -> list[tuple[str, str]]:
    n = int(c.value or 0)
    cut = {
        "ge": [("le", n)],
        "gt": [("le", n + 1)],
        "lt": [("gt", n)],
        "le": [("gt", n + 1)],
        "eq": [("le", n), ("gt", n + 1)],
    }[c.op or "eq"]
    return [("birthdate", f"{p}{_age_cutoff(today, y)}") for p, y in cut]


def _with_code(s: Search, concept: Concept | None, param: str = "code") -> Search:
    if concept is not None:
        cp = code_param(concept, param)
        if cp is not None:
            s.params.append(cp)
    return s


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v)}"


def criterion_searches(c: Criterion, subject: str | None, include: bool) -> list[Search]:
    """Searches fetching every record that can decide the criterion (a superset)."""
    scope = [("subject", f"Patient/{subject}")] if subject else []

    def inc(rtype: str) -> list[tuple[str, str]]:
        return [("_include", f"{rtype}:{_SUBJECT_PARAM.get(rtype, 'subject')}")] if include else []

    k = c.kind
    if k in ("condition", "condition_first"):
        s = Search("Condition", [*scope, ("verification-status", "confirmed")])
        _with_code(s, c.concept)
        if k == "condition":
            s.params += date_params("onset-date", c.period)
        s.params += [*inc("Condition"), ("_count", str(_PAGE))]
        return [s]
    if k in ("medication", "medication_first"):
        st = "active" if (k == "medication" and c.active) else MED_ANY
        s = Search("MedicationRequest", [*scope, ("status", st)])
        _with_code(s, c.concept)
        if k == "medication":
            s.params += date_params("authoredon", c.period)
        s.params += [*inc("MedicationRequest"), ("_count", str(_PAGE))]
        return [s]
    if k in ("lab_any", "lab_latest"):
        assert c.concept is not None
        out = []
        for param in _obs_code_params(c.concept):
            s = Search("Observation", [*scope, ("status", OBS_OK)])
            _with_code(s, c.concept, param)
            if k == "lab_any":
                s.params += date_params("date", c.period)
                if c.op and c.value is not None and param == "code":
                    s.params.append(("value-quantity", f"{c.op}{_num(c.value)}"))
            s.params += [*inc("Observation"), ("_count", str(_PAGE))]
            out.append(s)
        return out
    if k == "allergy":
        s = Search("AllergyIntolerance", [("patient", f"Patient/{subject}")] if subject else [])
        _with_code(s, c.concept)
        s.params += [*inc("AllergyIntolerance"), ("_count", str(_PAGE))]
        return [s]
    if k in ("admitted", "currently_admitted"):
        s = Search("Encounter", [*scope, ("class", IMP)])
        if k == "currently_admitted":
            s.params.append(("status", "in-progress"))
        else:
            s.params += date_params("date", c.period)
        if c.reason is not None:
            _with_code(s, c.reason, "reason-code")
        s.params += [*inc("Encounter"), ("_count", str(_PAGE))]
        return [s]
    return []


def _obs_code_params(concept: Concept) -> list[str]:
    """Panel components (blood pressure) are searched by code and by component-code."""
    return ["code", "component-code"] if concept.component else ["code"]


def patient_search(plan: QueryPlan) -> Search:
    p = plan.patient
    assert p is not None
    s = Search("Patient")
    if p.id:
        s.params.append(("_id", p.id))
    elif p.identifier:
        s.params.append(("identifier", p.identifier))
    else:
        if p.name or p.kana:
            s.params.append(("name", (p.name or p.kana) or ""))
        if p.birth_date:
            s.params.append(("birthdate", p.birth_date))
    return s


def cohort_searches(plan: QueryPlan, today: date, subject: str | None = None) -> list[Search]:
    """Searches for patient-level criteria (AND); ``subject`` scopes them to one patient."""
    out: list[Search] = []
    demo: list[tuple[str, str]] = []
    positive = False
    for c in plan.criteria:
        if c.kind == "sex":
            if not c.negate:
                demo.append(("gender", c.sex or ""))
            continue
        if c.kind == "age":
            if not c.negate:
                demo += _age_params(c, today)
            continue
        found = criterion_searches(c, subject, include=not c.negate and subject is None)
        for s in found:
            s.probe = not c.negate and len(found) == 1
        positive = positive or not c.negate
        out += found
    if subject is None and not positive:
        out.insert(0, Search("Patient", [*demo, ("_count", str(_PAGE))]))
    return out


def subject_searches(plan: QueryPlan, pid: str, today: date) -> list[Search]:
    """Searches for a single-patient plan once the patient id is known."""
    agg, subj = plan.aggregate, plan.subject
    scope = [("subject", f"Patient/{pid}")]
    if agg == "age" or (subj == "Patient" and agg == "list"):
        return []
    if agg == "exists" and subj in ("Patient", "MedicationRequest"):
        return cohort_searches(plan, today, subject=pid)
    if subj == "Encounter":
        s = Search("Encounter", [*scope, ("class", IMP)])
        if agg == "day_of_stay":
            s.params.append(("status", "in-progress"))
        else:
            s.params += date_params("date", plan.period)
        s.params.append(("_count", str(_PAGE)))
        return [s]
    if subj == "MedicationRequest":
        s = Search("MedicationRequest", [*scope, ("status", "active")])
        _with_code(s, plan.concepts[0] if plan.concepts else None)
        s.params.append(("_count", str(_PAGE)))
        return [s]
    if subj == "Observation" and plan.concepts:
        concept = plan.concepts[0]
        want: int | None = None
        if agg == "latest":
            want = plan.n or 1
        elif agg in ("difference", "rose", "fell"):
            want = 2
        out = []
        for param in _obs_code_params(concept):
            s = Search("Observation", [*scope, ("status", OBS_OK)])
            _with_code(s, concept, param)
            s.params += date_params("date", plan.period)
            s.params.append(("_sort", "-date"))
            exact = code_param(concept, param) is not None
            if want is not None and exact:
                s.want = want
                s.params.append(("_count", str(want)))
            else:
                s.params.append(("_count", str(_PAGE)))
            out.append(s)
        return out
    return []


def plan_searches(plan: QueryPlan, today: date, patient_id: str | None = None) -> list[Search]:
    """All searches of a plan (the patient search first for single-patient plans)."""
    if plan.intent != "answer":
        return []
    if plan.patient is None:
        return cohort_searches(plan, today)
    out = [patient_search(plan)]
    if patient_id is not None:
        out += subject_searches(plan, patient_id, today)
    return out


def compile_fhir(
    plan: QueryPlan, patient_id: str | None = None, today: date | None = None
) -> list[str]:
    """Relative search URLs of the plan (``Type?params``), as shown in ``query.fhir``."""
    return [s.url() for s in plan_searches(plan, today or date.today(), patient_id)]
