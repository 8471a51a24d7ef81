"""RAS^O17 (OMP-11 処方実施通知, OMP-12 注射実施通知) → JP_MedicationAdministration(_Injection).

One MedicationAdministration per RXA (JAMI SS-MIX2→FHIR mapping "Segment OMP_12_RXA to
MedicationAdministration"), in the ORC group it follows; the group's first RXR gives route, site
and method. Field map:

- RXA-3 / RXA-4 → effectiveDateTime (RXA-4 empty or equal) or effectivePeriod (RXA-3 required);
- RXA-5 → medicationCodeableConcept (injections: a contained Medication with that code, as
  JP_MedicationAdministration_Injection allows only medicationReference);
- RXA-6 / RXA-7 → dosage.dose; RXA-12 (``102ml/hr``) → dosage.rateQuantity; RXA-9 → note;
- RXA-20 (HL7 table 0322; empty means CP) → status, RXA-18 → statusReason;
- RXA-21 = ``D`` (deleted): no resource (as a PPR-01 ``DE`` diagnosis);
- RXR-1 / RXR-2 / RXR-4 → dosage.route / site / method; ORC-29 ``I``/``O`` → category;
- ORC-2 → identifier; ORC-2 + ORC-4 → request: the id the OMP-01/OMP-02 converter gives the
  MedicationRequest of the same order line (prescriptions: one line per RXA; injections: one
  line per ORC, its RXAs being the mixed drugs).

Immunization (注射種別 ``06 予防接種`` in the JAMI draft) is not produced: no sample carries it.
"""

from __future__ import annotations

import re
from typing import Any

from connectors._sdk.errors import RecordError
from connectors.ssmix2.common import (
    Ctx,
    codeable,
    cwe_codings,
    decimal_value,
    fhir_datetime,
    meta,
    quantity,
)
from connectors.ssmix2.hl7 import Message, Segment
from connectors.ssmix2.medication import request_id, rp_numbers

ORDER_NO = "urn:ehr-bridge:ssmix2:order-no"
ADMIN_CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-admin-category"
CATEGORY = {"I": "inpatient", "O": "outpatient"}
STATUS = {"CP": "completed", "PA": "stopped", "RE": "not-done", "NA": "not-done"}
ORDER_KIND = {"OMP-11": "OMP-01", "OMP-12": "OMP-02"}
# HL7 table 0162 routes that are injections (a RAS^O17 received without its storage data kind)
INJECTION_ROUTES = {"IV", "IM", "SC", "ID", "IA", "IT", "EP", "IC", "IP", "IS", "IB"}
_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(.*)$")

Group = tuple[Segment | None, list[Segment], list[Segment]]  # ORC, its RXAs, its RXRs


def administration_kind(msg: Message) -> str:
    """OMP-12 (injection) or OMP-11 for a RAS^O17 whose storage data kind is unknown (MLLP):
    injection when it carries RXC or its first RXR-1 is an injection route."""
    rxr = msg.first("RXR")
    if msg.first("RXC") is not None or (
        rxr is not None and rxr.comp(1).upper() in INJECTION_ROUTES
    ):
        return "OMP-12"
    return "OMP-11"


def _groups(msg: Message) -> list[Group]:
    groups: list[Group] = []
    for seg in msg.segments:
        if seg.name == "ORC":
            groups.append((seg, [], []))
        elif seg.name in ("RXA", "RXR"):
            if not groups:
                groups.append((None, [], []))
            _, rxas, rxrs = groups[-1]
            (rxas if seg.name == "RXA" else rxrs).append(seg)
    return groups


def convert_administrations(ctx: Ctx, msg: Message, *, injection: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    order_kind = ORDER_KIND.get(ctx.kind) or ("OMP-02" if injection else "OMP-01")
    counter: dict[str, int] = {}
    n = 0
    for gi, (orc, rxas, rxrs) in enumerate(_groups(msg), 1):
        placer = orc.comp(2, 1) if orc is not None else ""
        group = orc.comp(4, 1) if orc is not None else ""
        line = rp_numbers(group, str(gi), counter) if injection else None
        for rxa in rxas:
            n += 1
            rp, in_rp = line or rp_numbers(group, str(gi), counter)
            if rxa.comp(21).strip().upper() == "D":
                continue
            res = _administration(ctx, rxa, f"RXA[{n}]", n, placer, injection)
            if orc is not None:
                cat = CATEGORY.get(orc.comp(29).upper())
                if cat:
                    res["category"] = {"coding": [{"system": ADMIN_CATEGORY, "code": cat}]}
            if placer and group:
                rid = request_id(ctx, order_kind, placer, rp, in_rp)
                res["request"] = {"reference": f"MedicationRequest/{rid}"}
            dosage = _dosage(ctx, rxa, rxrs[0] if rxrs else None, f"RXA[{n}]")
            if dosage:
                res["dosage"] = dosage
            out.append(res)
    return out


def _administration(
    ctx: Ctx, rxa: Segment, loc: str, n: int, placer: str, injection: bool
) -> dict[str, Any]:
    start_raw = rxa.comp(3, 1)
    res: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": ctx.id(
            "MedicationAdministration",
            ctx.patient_id,
            ctx.kind,
            placer or ctx.record_key,
            start_raw,
            n,
        ),
        "meta": meta(
            "JP_MedicationAdministration_Injection" if injection else "JP_MedicationAdministration"
        ),
    }
    if placer:
        res["identifier"] = [{"system": ORDER_NO, "value": placer}]
    code = rxa.comp(20).strip().upper()
    status = STATUS.get(code or "CP")
    if status is None:
        ctx.warn(f"{loc}-20", "unknown completion status; status unknown")
    res["status"] = status or "unknown"
    reason = codeable(ctx, rxa, 18)
    if reason and status == "not-done":
        res["statusReason"] = [reason]
    med = codeable(ctx, rxa, 5)
    if med is None:
        raise RecordError("administration without a drug code", location=f"{loc}-5")
    if injection:
        res["contained"] = [{"resourceType": "Medication", "id": "med", "code": med}]
        res["medicationReference"] = {"reference": "#med"}
    else:
        res["medicationCodeableConcept"] = med
    res["subject"] = ctx.patient_ref
    start = fhir_datetime(start_raw, f"{loc}-3")
    if start is None:
        raise RecordError("administration without a start time", location=f"{loc}-3")
    end = fhir_datetime(rxa.comp(4, 1), f"{loc}-4")
    if end and end != start:
        res["effectivePeriod"] = {"start": start, "end": end}
    else:
        res["effectiveDateTime"] = start
    notes = [cwe_codings(ctx, rxa, 9, rep)[1] for rep in range(len(rxa.reps(9)))]
    if any(notes):
        res["note"] = [{"text": t} for t in notes if t]
    return res


def _dosage(ctx: Ctx, rxa: Segment, rxr: Segment | None, loc: str) -> dict[str, Any]:
    dosage: dict[str, Any] = {}
    if rxr is not None:
        for key, n in (("site", 2), ("route", 1), ("method", 4)):
            cc = codeable(ctx, rxr, n)
            if cc:
                dosage[key] = cc
    dose = ctx.number(rxa.comp(6), f"{loc}-6")
    if dose is not None:
        dosage["dose"] = quantity(ctx, dose, rxa, 7)
    rate_text = rxa.comp(12).strip()
    m = _RATE.match(rate_text.replace(",", ""))
    value = decimal_value(m.group(1)) if m else None
    if value is not None and m is not None:
        dosage["rateQuantity"] = {"value": value, **({"unit": m[2]} if m[2] else {})}
    elif rate_text:
        ctx.warn(f"{loc}-12", "administration rate is not a number with a unit; not mapped")
    return dosage
