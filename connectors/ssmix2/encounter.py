"""ADT visit messages of one patient → one JP_Encounter per visit.

Rules (SS-MIX2 storage, ``shared/eval/ss-mix2/README.md``):
- PV1-19 (visit number) links the messages of a visit;
- an inpatient stay is one Encounter from admission (ADT-22 A01, PV1-44) to discharge (ADT-52
  A03, PV1-45) whatever transfers (ADT-42) happen; without PV1-19 a transfer/discharge attaches
  to the open stay (latest admission without an end);
- ADT-21 (A14) is a plan (status ``planned``, PV2-8 expected admission), A27 cancels it;
  ADT-22 with A11 is a cancelled admission; A13 cancels a discharge;
- ADT-12 (A04) is an outpatient visit (PV1-44 = arrival).
PV1 of order/result messages and of ADT-00 never create Encounters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.ssmix2.common import Ctx, fhir_datetime, meta
from connectors.ssmix2.hl7 import Message

ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS = {
    "I": ("IMP", "inpatient encounter"),
    "O": ("AMB", "ambulatory"),
    "E": ("EMER", "emergency"),
}
VISIT_KINDS = {
    "ADT-12",
    "ADT-21",
    "ADT-22",
    "ADT-31",
    "ADT-32",
    "ADT-41",
    "ADT-42",
    "ADT-51",
    "ADT-52",
}
EVENT_KIND = {"A04": "ADT-12", "A14": "ADT-21", "A27": "ADT-21", "A01": "ADT-22", "A11": "ADT-22",
              "A21": "ADT-31", "A52": "ADT-31", "A22": "ADT-32", "A53": "ADT-32", "A15": "ADT-41",
              "A26": "ADT-41", "A02": "ADT-42", "A12": "ADT-42", "A16": "ADT-51", "A25": "ADT-51",
              "A03": "ADT-52", "A13": "ADT-52"}  # fmt: skip


@dataclass(slots=True)
class VisitEvent:
    kind: str  # SS-MIX2 data kind
    sort_key: str
    msg: Message
    source_ref: str = ""


def _class(pv1_class: str, kind: str) -> tuple[str, str]:
    if kind in ("ADT-21", "ADT-22", "ADT-42", "ADT-52", "ADT-41", "ADT-51", "ADT-31", "ADT-32"):
        return CLASS["I"]
    return CLASS.get(pv1_class.upper(), CLASS["O"])


def convert_visits(ctx: Ctx, events: list[VisitEvent]) -> list[dict[str, Any]]:
    """Fold the visit events (sorted by date/sent time) into Encounters."""
    encs: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    open_stay: str | None = None
    for ev in sorted(events, key=lambda e: e.sort_key):
        msg = ev.msg
        pv1 = msg.first("PV1")
        pv2 = msg.first("PV2")
        evn = msg.first("EVN")
        trigger = msg.msh.comp(9, 2).upper()
        kind = ev.kind or EVENT_KIND.get(trigger, "")
        if pv1 is None:
            ctx.warn("PV1", "visit message without PV1; skipped")
            continue
        visit_no = pv1.comp(19, 1)
        admit = fhir_datetime(pv1.comp(44, 1), "PV1-44")
        discharge = fhir_datetime(pv1.comp(45, 1), "PV1-45")
        evn_time = fhir_datetime(evn.comp(6, 1), "EVN-6") if evn is not None else None
        evn_time = evn_time or (fhir_datetime(evn.comp(2, 1), "EVN-2") if evn is not None else None)
        klass = _class(pv1.comp(2), kind)
        if visit_no:
            key = f"visit:{visit_no}"
        elif kind in ("ADT-22", "ADT-12", "ADT-21"):
            key = f"{kind}:{admit or (fhir_datetime(pv2.comp(8, 1), 'PV2-8') if pv2 else '') or ev.sort_key}"
            if kind == "ADT-21":
                key = f"plan:{key}"
        elif open_stay is not None:
            key = open_stay
        else:
            key = f"{kind}:{admit or ev.sort_key}"
        enc = encs.get(key)
        if enc is None:
            enc = {
                "resourceType": "Encounter",
                "id": ctx.id("Encounter", ctx.patient_id, key),
                "meta": meta("JP_Encounter"),
                "status": "planned",
                "class": {"system": ACT, "code": klass[0], "display": klass[1]},
                "subject": ctx.patient_ref,
            }
            if visit_no:
                enc["identifier"] = [
                    {"system": "urn:ehr-bridge:ssmix2:visit-number", "value": visit_no}
                ]
            encs[key] = enc
            order.append(key)
        period = enc.setdefault("period", {})
        if kind == "ADT-21":
            if trigger == "A27":
                enc["status"] = "cancelled"
            elif enc["status"] == "planned":
                expected = fhir_datetime(pv2.comp(8, 1), "PV2-8") if pv2 is not None else None
                if expected:
                    enc["_planned_start"] = expected
        elif kind == "ADT-22":
            if trigger == "A11":
                enc["status"] = "cancelled"
                if open_stay == key:
                    open_stay = None
            else:
                enc["class"] = {"system": ACT, "code": "IMP", "display": "inpatient encounter"}
                enc["status"] = "in-progress"
                if admit or evn_time:
                    period["start"] = admit or evn_time
                open_stay = key
        elif kind == "ADT-12":
            enc["status"] = "finished"
            if admit or evn_time:
                period["start"] = admit or evn_time
        elif kind == "ADT-52":
            if trigger == "A13":
                period.pop("end", None)
                enc["status"] = "in-progress"
                open_stay = key
            else:
                if admit and "start" not in period:
                    period["start"] = admit
                end = discharge or evn_time
                if end:
                    period["end"] = end
                enc["status"] = "finished"
                if open_stay == key:
                    open_stay = None
        elif kind == "ADT-42" and trigger != "A12":
            if admit and "start" not in period:
                period["start"] = admit
            if enc["status"] == "planned":
                enc["status"] = "in-progress"
        pv1_3 = pv1.comps(3)  # (not `loc`: below that name holds the joined text)
        if pv1_3 and any(pv1_3[:3]) and enc["status"] != "cancelled":
            enc["_location"] = "-".join(x for x in pv1_3[:3] if x)
    out = []
    for key in order:
        enc = encs[key]
        planned = enc.pop("_planned_start", None)
        loc = enc.pop("_location", None)
        if enc["status"] == "planned" and planned:
            enc["period"] = {"start": planned}
        if not enc.get("period"):
            enc.pop("period", None)
        if loc:
            enc["location"] = [{"location": {"display": loc}}]
        out.append(enc)
    return out
