"""RDE^O11 (OMP-01 prescriptions, OMP-02 injections) → JP_MedicationRequest(_Injection).

One MedicationRequest per RXE (one drug per request, as JP Core models an Rp line). For
injections the RXC components become a contained Medication with ingredients.
"""

from __future__ import annotations

from typing import Any

from connectors.ssmix2.common import (
    Ctx,
    codeable,
    fhir_datetime,
    make_coding,
    meta,
    quantity,
)
from connectors.ssmix2.hl7 import Message, Segment

RP_SYSTEM = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/Medication-RPGroupNumber"
ORDER_IN_RP = "http://jpfhir.jp/fhir/core/mhlw/IdSystem/MedicationAdministrationIndex"
RP_SYSTEM_OID = "urn:oid:1.2.392.100495.20.3.81"
MED_CATEGORY = "http://jpfhir.jp/fhir/core/CodeSystem/JP_MedicationCategory_CS"
ORDER_IN_RP_OID = "urn:oid:1.2.392.100495.20.3.82"
ORC_STATUS = {"NW": "active", "OK": "active", "SC": "active", "XO": "active", "RP": "active",
              "CA": "cancelled", "OC": "cancelled", "CR": "cancelled", "DC": "stopped",
              "OD": "stopped", "HD": "on-hold"}  # fmt: skip


def rp_numbers(group: str, fallback: str, counter: dict[str, int]) -> tuple[str, str]:
    """(RP number, number in the RP) of an order line from ORC-4 ``<order>_<RP>_<no. in RP>``;
    ORC-4 without the number in the RP: the line's count among the message's lines of that RP
    (``counter``, per message); ORC-4 empty: ``fallback`` is the RP number."""
    parts = group.split("_")
    rp = parts[1] if len(parts) > 1 else (group or fallback)
    counter[rp] = counter.get(rp, 0) + 1
    return rp, parts[2] if len(parts) > 2 else str(counter[rp])


def request_id(ctx: Ctx, kind: str, order_no: str, rp: str, in_rp: str) -> str:
    """Id of the MedicationRequest of an order line (``kind`` OMP-01/OMP-02; ``order_no``: ORC-2,
    else the record key); the administration converter builds its ``request`` with it."""
    return ctx.id("MedicationRequest", ctx.patient_id, kind, order_no, rp, in_rp)


def _groups(msg: Message) -> list[dict[str, Any]]:
    """ORC-led order groups: {orc, rxe, tq1: [...], rxr: [...], rxc: [...]}."""
    groups: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    for seg in msg.segments:
        n = seg.name
        if n == "ORC":
            cur = {"orc": seg, "rxe": None, "tq1": [], "rxr": [], "rxc": []}
            groups.append(cur)
        elif cur is None:
            continue
        elif n == "RXE":
            if cur["rxe"] is not None:  # second RXE under one ORC: its own group
                cur = {"orc": cur["orc"], "rxe": None, "tq1": [], "rxr": [], "rxc": []}
                groups.append(cur)
            cur["rxe"] = seg
        elif n == "TQ1":
            cur["tq1"].append(seg)
        elif n == "RXR":
            cur["rxr"].append(seg)
        elif n == "RXC":
            cur["rxc"].append(seg)
    return [g for g in groups if g["rxe"] is not None]


def _usage(ctx: Ctx, tq1: Segment) -> dict[str, Any] | None:
    """TQ1-3 repeat pattern ``code&text&JAMISDP01`` → timing.code."""
    rp = tq1.comps(3)
    if not rp or not rp[0]:
        return None
    sub = rp[0].split(tq1.sub_sep)
    code = sub[0].strip()
    text = sub[1].strip() if len(sub) > 1 else ""
    sysname = sub[2].strip() if len(sub) > 2 else ""
    cc: dict[str, Any] = {}
    if code:
        cc["coding"] = [make_coding(ctx, sysname, code, text)]
    if text:
        cc["text"] = text
    return cc or None


def _duration(ctx: Ctx, tq1: Segment, loc: str) -> dict[str, Any] | None:
    c = tq1.comps(6)
    if not c:
        return None
    value = ctx.number(c[0], f"{loc}-6")
    if value is None:
        return None
    unit = (c[1] if len(c) > 1 else "").split(tq1.sub_sep)
    code = unit[0].strip()
    text = unit[1].strip() if len(unit) > 1 else code
    ucum = {"D": "d", "W": "wk", "M": "mo", "H": "h", "MIN": "min"}.get(code.upper(), code.lower())
    duration: dict[str, Any] = {"value": value}
    if text or ucum:
        duration["unit"] = text or ucum
    if ucum:  # no unit code (some senders give only the text): no system/code either
        duration["system"] = "http://unitsofmeasure.org"
        duration["code"] = ucum
    return duration


def convert_medications(ctx: Ctx, msg: Message, *, injection: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    order_no = ctx.record_key or ""
    rp_sys = RP_SYSTEM_OID if ctx.uri_form == "oid" else RP_SYSTEM
    idx_sys = ORDER_IN_RP_OID if ctx.uri_form == "oid" else ORDER_IN_RP
    rp_counter: dict[str, int] = {}
    for gi, g in enumerate(_groups(msg), 1):
        orc: Segment = g["orc"]
        rxe: Segment = g["rxe"]
        loc = f"RXE[{gi}]"
        placer = orc.comp(2, 1)
        rp, in_rp = rp_numbers(orc.comp(4, 1), str(gi), rp_counter)
        rid = request_id(ctx, ctx.kind, placer or order_no, rp, in_rp)
        res: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": rid,
            "meta": meta("JP_MedicationRequest_Injection" if injection else "JP_MedicationRequest"),
            "identifier": [
                {"system": rp_sys, "value": rp.lstrip("0") or "0"},
                {"system": idx_sys, "value": in_rp.lstrip("0") or "0"},
            ],
            "status": ORC_STATUS.get(orc.comp(1).upper(), "active"),
            "intent": "order",
        }
        if placer:
            res["identifier"].append({"system": "urn:ehr-bridge:ssmix2:order-no", "value": placer})
        rxcs = [s for s in g["rxc"] if s.comp(2, 1)]
        if injection and rxcs:
            med_id = "med"
            ingredients = []
            for rxc in rxcs:
                ing: dict[str, Any] = {"itemCodeableConcept": codeable(ctx, rxc, 2) or {"text": "?"},
                                       "isActive": rxc.comp(1).upper() == "B" or None}  # fmt: skip
                amount = ctx.number(rxc.comp(3), f"{loc}/RXC-3")
                if amount is not None:
                    ing["strength"] = {"numerator": quantity(ctx, amount, rxc, 4),
                                       "denominator": {"value": 1}}  # fmt: skip
                ing = {k: v for k, v in ing.items() if v is not None}
                ingredients.append(ing)
            first = codeable(ctx, rxcs[0], 2) or {}
            medication: dict[str, Any] = {
                "resourceType": "Medication",
                "id": med_id,
                "ingredient": ingredients,
            }
            if first:
                medication["code"] = first
            res["contained"] = [medication]
            res["medicationReference"] = {"reference": f"#{med_id}"}
        else:
            med = codeable(ctx, rxe, 2)
            if med is None:
                from connectors._sdk.errors import RecordError

                raise RecordError("prescription line without a drug code", location=f"{loc}-2")
            res["medicationCodeableConcept"] = med
        res["subject"] = ctx.patient_ref
        authored = fhir_datetime(rxe.comp(32, 1), f"{loc}-32") or fhir_datetime(
            orc.comp(9, 1), "ORC-9"
        )
        if authored:
            res["authoredOn"] = authored
        cats = []
        for rep in range(len(rxe.reps(21))):
            c = rxe.comps(21, rep)
            if c and c[0]:
                coding = {"system": MED_CATEGORY, "code": c[0]}
                if len(c) > 1 and c[1]:
                    coding["display"] = c[1]
                cats.append({"coding": [coding]})
        if cats:
            res["category"] = cats
        dosage: dict[str, Any] = {}
        texts = []
        if g["tq1"]:
            tq1 = g["tq1"][0]
            usage = _usage(ctx, tq1)
            if usage:
                dosage["timing"] = {"code": usage}
                if usage.get("text"):
                    texts.append(usage["text"])
            start = fhir_datetime(tq1.comp(7, 1), "TQ1-7")
            end = fhir_datetime(tq1.comp(8, 1), "TQ1-8")
            if start or end:
                dosage.setdefault("timing", {})["repeat"] = {
                    "boundsPeriod": {k: v for k, v in (("start", start), ("end", end)) if v}
                }
        if g["rxr"]:
            route = codeable(ctx, g["rxr"][0], 1)
            if route:
                dosage["route"] = route
        dose = ctx.number(rxe.comp(3), f"{loc}-3")
        dar: dict[str, Any] = {}
        if dose is not None:
            dar["doseQuantity"] = quantity(ctx, dose, rxe, 5)
        daily = rxe.comps(19)
        per_day = ctx.number(daily[0], f"{loc}-19") if daily else None
        if per_day is not None:
            unit = (daily[1] if len(daily) > 1 else "").split(rxe.sub_sep)
            dar["rateRatio"] = {
                "numerator": quantity(ctx, per_day, None, comps=unit),
                "denominator": {
                    "value": 1,
                    "unit": "日",
                    "system": "http://unitsofmeasure.org",
                    "code": "d",
                },
            }
        rate = ctx.number(rxe.comp(23), f"{loc}-23")
        if rate is not None and "rateRatio" not in dar:
            dar["rateQuantity"] = quantity(ctx, rate, rxe, 24)
        if dar:
            dosage["doseAndRate"] = [dar]
        instr = rxe.comp(7, 2)
        if instr:
            texts.append(instr)
        if texts:
            dosage["text"] = " ".join(texts)
        if dosage:
            res["dosageInstruction"] = [dosage]
        dispense: dict[str, Any] = {}
        total = ctx.number(rxe.comp(10), f"{loc}-10")
        if total is not None:
            dispense["quantity"] = quantity(ctx, total, rxe, 11)
        if g["tq1"]:
            dur = _duration(ctx, g["tq1"][0], f"TQ1[{gi}]")
            if dur:
                dispense["expectedSupplyDuration"] = dur
        if dispense:
            res["dispenseRequest"] = dispense
        out.append(res)
    return out
