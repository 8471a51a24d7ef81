"""Flat SQL-on-FHIR-style views of the FHIR store, and the pure projection that fills them.

The store calls :func:`project` on every create/update/delete (same transaction): it deletes the
resource's old rows from every table in :data:`views_metadata` (by ``resource_type`` +
``resource_id``) and inserts the rows returned here. Dates are precomputed as JST calendar dates
(``YYYY-MM-DD`` strings, which sort correctly in SQLite and PostgreSQL alike). Text columns ending
in ``_norm`` hold :func:`nl2query.textnorm.norm` of the display text (width/kana folded) for the
display-text fallback of term resolution.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Float, Index, MetaData, String, Table, Text

from nl2query.textnorm import norm

JST = timezone(timedelta(hours=9))

views_metadata = MetaData()


def _ident() -> list[Column[Any]]:
    return [
        Column("resource_type", String(64), nullable=False),
        Column("resource_id", String(128), nullable=False),
    ]


flat_patient = Table(
    "flat_patient",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128), nullable=False),
    Column("identifier", String(64)),
    Column("name", Text),  # kanji (IDE) name, spaces removed
    Column("kana", Text),  # katakana (SYL) name, spaces removed
    Column("gender", String(16)),
    Column("birth_date", String(10)),
    Index("ix_flat_patient_rid", "resource_id"),
    Index("ix_flat_patient_pid", "patient_id"),
    Index("ix_flat_patient_ident", "identifier"),
)

flat_observation = Table(
    "flat_observation",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128)),
    Column("code_system", Text),
    Column("code", String(64)),
    Column("display", Text),
    Column("display_norm", Text),
    Column("component", String(32)),  # null for the observation itself; else component code
    Column("status", String(32)),
    Column("effective_date", String(10)),
    Column("effective_at", String(40)),  # ISO instant (UTC) for ordering
    Column("value", Float),
    Column("unit", String(64)),
    Index("ix_flat_obs_rid", "resource_id"),
    Index("ix_flat_obs_code", "code", "patient_id"),
    Index("ix_flat_obs_pid", "patient_id"),
)

flat_condition = Table(
    "flat_condition",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128)),
    Column("code_system", Text),
    Column("code", String(64)),  # ICD-10 without dots, upper case
    Column("display", Text),
    Column("display_norm", Text),
    Column("verification_status", String(32)),
    Column("clinical_status", String(32)),
    Column("onset_date", String(10)),
    Column("recorded_date", String(10)),
    Index("ix_flat_cond_rid", "resource_id"),
    Index("ix_flat_cond_code", "code"),
    Index("ix_flat_cond_pid", "patient_id"),
)

flat_medication_request = Table(
    "flat_medication_request",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128)),
    Column("code_system", Text),
    Column("code", String(64)),
    Column("display", Text),
    Column("display_norm", Text),
    Column("status", String(32)),
    Column("authored_date", String(10)),
    Column("dose_value", Float),
    Column("dose_unit", String(32)),
    Column("frequency", Float),  # administrations per period
    Column("period_days", Float),  # length of the timing period in days
    Index("ix_flat_med_rid", "resource_id"),
    Index("ix_flat_med_code", "code"),
    Index("ix_flat_med_pid", "patient_id"),
)

flat_encounter = Table(
    "flat_encounter",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128)),
    Column("class_code", String(16)),
    Column("status", String(32)),
    Column("start_date", String(10)),
    Column("end_date", String(10)),
    Column("department", Text),
    Column("department_code", String(16)),
    Column("reason_code", String(64)),  # first reason coding, ICD-10 without dots
    Column("reason_display", Text),
    Column("reason_norm", Text),
    Index("ix_flat_enc_rid", "resource_id"),
    Index("ix_flat_enc_pid", "patient_id"),
)

flat_encounter_location = Table(
    "flat_encounter_location",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128)),
    Column("location", Text),
    Column("location_norm", Text),
    Column("status", String(32)),
    Column("start_date", String(10)),
    Column("end_date", String(10)),
    Index("ix_flat_encloc_rid", "resource_id"),
)

flat_allergy = Table(
    "flat_allergy",
    views_metadata,
    *_ident(),
    Column("patient_id", String(128)),
    Column("code_system", Text),
    Column("code", String(64)),
    Column("display", Text),
    Column("display_norm", Text),
    Column("clinical_status", String(32)),
    Column("verification_status", String(32)),
    Column("recorded_date", String(10)),
    Index("ix_flat_allergy_rid", "resource_id"),
    Index("ix_flat_allergy_pid", "patient_id"),
)

VIEW_TABLES: tuple[str, ...] = tuple(views_metadata.tables)

_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1, "wk": 7, "mo": 30, "a": 365}


@lru_cache(maxsize=65536)
def jst_date(value: str | None) -> str | None:
    """JST calendar date of a FHIR date/dateTime string (date-only values are kept as is;
    memoised: a bulk load projects the same times over and over)."""
    if not value:
        return None
    if len(value) <= 10 or "T" not in value:
        return value[:10]
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value[:10]
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=JST)
    return dt.astimezone(JST).date().isoformat()


@lru_cache(maxsize=65536)
def _instant(value: str | None) -> str | None:
    """UTC instant text (for ordering) of a FHIR date/dateTime string; memoised."""
    if not value:
        return None
    if "T" not in value:
        return f"{value[:10]}T00:00:00+09:00"
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=JST)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref_id(ref: dict[str, Any] | None) -> str | None:
    if not ref:
        return None
    r = ref.get("reference")
    if not isinstance(r, str):
        return None
    return r.rsplit("/", 1)[-1]


def _status(cc: dict[str, Any] | None) -> str | None:
    if not cc:
        return None
    for c in cc.get("coding") or []:
        if c.get("code"):
            return str(c["code"])
    return None


def icd_norm(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _codings(cc: dict[str, Any] | None) -> list[tuple[str | None, str | None, str | None]]:
    """(system, code, display) per coding; a text-only concept gives one (None, None, text)."""
    cc = cc or {}
    text = cc.get("text")
    out = [
        (c.get("system"), c.get("code"), c.get("display") or text) for c in cc.get("coding") or []
    ]
    return out or [(None, None, text)]


def _display_norm(display: str | None, text: str | None) -> str:
    return norm(" ".join(x for x in (display, text) if x))


def project(resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Rows for every flat table, for one FHIR resource (pure; no I/O)."""
    rt = resource.get("resourceType")
    fn = _PROJECTORS.get(str(rt))
    if fn is None:
        return {}
    rows = fn(resource)
    ident = {"resource_type": rt, "resource_id": resource.get("id")}
    return {table: [{**ident, **r} for r in rs] for table, rs in rows.items() if rs}


def _patient(r: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    ident = None
    for i in r.get("identifier") or []:
        if i.get("value"):
            ident = str(i["value"])
            break
    name = kana = None
    for n in r.get("name") or []:
        rep = None
        for e in n.get("extension") or []:
            if e.get("url", "").endswith("iso21090-EN-representation"):
                rep = e.get("valueCode")
        text = n.get("text") or (n.get("family", "") + "".join(n.get("given") or []))
        text = "".join(str(text).split())
        if rep == "SYL":
            kana = kana or text
        else:
            name = name or text
    return {
        "flat_patient": [
            {
                "patient_id": r.get("id"),
                "identifier": ident,
                "name": name,
                "kana": norm(kana) if kana else None,
                "gender": r.get("gender"),
                "birth_date": (r.get("birthDate") or "")[:10] or None,
            }
        ]
    }


def _observation(r: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    base = {
        "patient_id": _ref_id(r.get("subject")),
        "status": r.get("status"),
        "effective_date": jst_date(
            r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start")
        ),
        "effective_at": _instant(
            r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start")
        ),
    }
    rows: list[dict[str, Any]] = []

    def add(cc: dict[str, Any], vq: dict[str, Any] | None, component: str | None) -> None:
        value = (vq or {}).get("value")
        for system, code, display in _codings(cc):
            rows.append(
                {
                    **base,
                    "code_system": system,
                    "code": code,
                    "display": display,
                    "display_norm": _display_norm(display, cc.get("text")),
                    "component": component,
                    "value": float(value) if isinstance(value, int | float) else None,
                    "unit": (vq or {}).get("unit"),
                }
            )

    add(r.get("code") or {}, r.get("valueQuantity"), None)
    for comp in r.get("component") or []:
        cc = comp.get("code") or {}
        first = (_codings(cc)[0][1]) or "component"
        add(cc, comp.get("valueQuantity"), first)
    return {"flat_observation": rows}


def _condition(r: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    cc = r.get("code") or {}
    base = {
        "patient_id": _ref_id(r.get("subject")),
        "verification_status": _status(r.get("verificationStatus")),
        "clinical_status": _status(r.get("clinicalStatus")),
        "onset_date": jst_date(r.get("onsetDateTime") or (r.get("onsetPeriod") or {}).get("start")),
        "recorded_date": jst_date(r.get("recordedDate")),
    }
    rows = [
        {
            **base,
            "code_system": system,
            "code": icd_norm(code) if code else None,
            "display": display,
            "display_norm": _display_norm(display, cc.get("text")),
        }
        for system, code, display in _codings(cc)
    ]
    return {"flat_condition": rows}


def _medication_request(r: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    cc = r.get("medicationCodeableConcept") or {}
    dose_value = dose_unit = frequency = period_days = None
    for di in (r.get("dosageInstruction") or [])[:1]:
        rep = (di.get("timing") or {}).get("repeat") or {}
        if isinstance(rep.get("frequency"), int | float):
            frequency = float(rep["frequency"])
        if isinstance(rep.get("period"), int | float):
            period_days = float(rep["period"]) * _PERIOD_DAYS.get(
                str(rep.get("periodUnit", "d")), 1
            )
        for dr in di.get("doseAndRate") or []:
            dq = dr.get("doseQuantity") or {}
            if isinstance(dq.get("value"), int | float):
                dose_value, dose_unit = float(dq["value"]), dq.get("unit")
                break
    base = {
        "patient_id": _ref_id(r.get("subject")),
        "status": r.get("status"),
        "authored_date": jst_date(r.get("authoredOn")),
        "dose_value": dose_value,
        "dose_unit": dose_unit,
        "frequency": frequency,
        "period_days": period_days,
    }
    rows = [
        {
            **base,
            "code_system": system,
            "code": code,
            "display": display,
            "display_norm": _display_norm(display, cc.get("text")),
        }
        for system, code, display in _codings(cc)
    ]
    return {"flat_medication_request": rows}


def _encounter(r: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    pid = _ref_id(r.get("subject"))
    period = r.get("period") or {}
    st = r.get("serviceType") or {}
    st_codings = st.get("coding") or [{}]
    reason_code = reason_display = None
    reasons = r.get("reasonCode") or []
    if reasons:
        system, code, display = _codings(reasons[0])[0]
        reason_code = icd_norm(code) if code else None
        reason_display = display or reasons[0].get("text")
    cls = r.get("class") or {}
    enc = {
        "patient_id": pid,
        "class_code": cls.get("code"),
        "status": r.get("status"),
        "start_date": jst_date(period.get("start")),
        "end_date": jst_date(period.get("end")),
        "department": st.get("text") or st_codings[0].get("display"),
        "department_code": st_codings[0].get("code"),
        "reason_code": reason_code,
        "reason_display": reason_display,
        "reason_norm": norm(reason_display) if reason_display else None,
    }
    locs = []
    for loc in r.get("location") or []:
        disp = (loc.get("location") or {}).get("display")
        lp = loc.get("period") or {}
        locs.append(
            {
                "patient_id": pid,
                "location": disp,
                "location_norm": norm(disp) if disp else None,
                "status": loc.get("status"),
                "start_date": jst_date(lp.get("start")),
                "end_date": jst_date(lp.get("end")),
            }
        )
    return {"flat_encounter": [enc], "flat_encounter_location": locs}


def _allergy(r: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    cc = r.get("code") or {}
    base = {
        "patient_id": _ref_id(r.get("patient")),
        "clinical_status": _status(r.get("clinicalStatus")),
        "verification_status": _status(r.get("verificationStatus")),
        "recorded_date": jst_date(r.get("recordedDate")),
    }
    rows = [
        {
            **base,
            "code_system": system,
            "code": code,
            "display": display,
            "display_norm": _display_norm(display, cc.get("text")),
        }
        for system, code, display in _codings(cc)
    ]
    return {"flat_allergy": rows}


_PROJECTORS = {
    "Patient": _patient,
    "Observation": _observation,
    "Condition": _condition,
    "MedicationRequest": _medication_request,
    "Encounter": _encounter,
    "AllergyIntolerance": _allergy,
}
