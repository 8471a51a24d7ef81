"""OMD^O03 (OMD 食事オーダ) → NutritionOrder (JP Core has no NutritionOrder profile).

One NutritionOrder per ORC group that carries an ODS:

- ORC-2 → identifier; ORC-1 / ORC-5 → status (the order table of ``orders.py``); ORC-9 →
  dateTime (required: a group without it is refused);
- ODS-1 ``D`` (diet) → oralDiet: ODS-3 → oralDiet.type, ODS-4 → oralDiet.instruction, the
  group's first TQ1 → oralDiet.schedule (TQ1-3 → code, TQ1-7/8 → repeat.boundsPeriod);
  ``S`` (supplement) → supplement (type ODS-3, instruction ODS-4); ``P`` (preference) → ODS-3
  → foodPreferenceModifier (no FHIR place for its text).

ODT (tray instructions) is not mapped.
"""

from __future__ import annotations

from typing import Any

from connectors._sdk.errors import RecordError
from connectors.ssmix2.common import Ctx, codeable, fhir_datetime, make_coding
from connectors.ssmix2.hl7 import Message, Segment
from connectors.ssmix2.orders import ORDER_NO, REQUEST_CONTROL, REQUEST_ORDER_STATUS

Group = tuple[Segment, list[Segment], list[Segment]]  # ORC, its TQ1s, its ODSs


def _groups(msg: Message) -> list[Group]:
    out: list[Group] = []
    for seg in msg.segments:
        if seg.name == "ORC":
            out.append((seg, [], []))
        elif out and seg.name == "TQ1":
            out[-1][1].append(seg)
        elif out and seg.name == "ODS":
            out[-1][2].append(seg)
    return out


def _codes(ctx: Ctx, ods: Segment) -> list[dict[str, Any]]:
    return [cc for rep in range(len(ods.reps(3))) if (cc := codeable(ctx, ods, 3, rep))]


def _texts(ods: Segment) -> list[str]:
    return [t.strip() for t in ods.reps(4) if t.strip()]


def _schedule(ctx: Ctx, tq1: Segment, loc: str) -> dict[str, Any] | None:
    timing: dict[str, Any] = {}
    pattern = tq1.comps(3)
    sub = pattern[0].split(tq1.sub_sep) if pattern and pattern[0] else []
    if sub and sub[0].strip():
        text = sub[1].strip() if len(sub) > 1 else ""
        code = make_coding(ctx, sub[2] if len(sub) > 2 else "", sub[0].strip(), text)
        timing["code"] = {"coding": [code], **({"text": text} if text else {})}
    start = fhir_datetime(tq1.comp(7, 1), f"{loc}-7")
    end = fhir_datetime(tq1.comp(8, 1), f"{loc}-8")
    bounds = {k: v for k, v in (("start", start), ("end", end)) if v}
    if bounds:
        timing["repeat"] = {"boundsPeriod": bounds}
    return timing or None


def convert_diet_orders(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for gi, (orc, tq1s, odss) in enumerate(_groups(msg), 1):
        if not odss:
            continue
        diet_types: list[dict[str, Any]] = []
        instructions: list[str] = []
        supplements: list[dict[str, Any]] = []
        preferences: list[dict[str, Any]] = []
        for ods in odss:
            kind = ods.comp(1).strip().upper() or "D"
            if kind == "D":
                diet_types.extend(_codes(ctx, ods))
                instructions.extend(_texts(ods))
            elif kind == "S":
                sup: dict[str, Any] = {}
                codes = _codes(ctx, ods)
                if codes:
                    sup["type"] = codes[0]
                if _texts(ods):
                    sup["instruction"] = "\n".join(_texts(ods))
                if sup:
                    supplements.append(sup)
            elif kind == "P":
                preferences.extend(_codes(ctx, ods))
        if not (diet_types or instructions or supplements):
            ctx.warn(f"ODS[{gi}]", "diet order without a diet or supplement; not mapped")
            continue
        authored = fhir_datetime(orc.comp(9, 1), f"ORC[{gi}]-9")
        if authored is None:
            raise RecordError("diet order without an order date/time", location=f"ORC[{gi}]-9")
        placer = orc.comp(2, 1)
        res: dict[str, Any] = {
            "resourceType": "NutritionOrder",
            "id": ctx.id("NutritionOrder", ctx.patient_id, placer or ctx.record_key, gi),
        }
        if placer:
            res["identifier"] = [{"system": ORDER_NO, "value": placer}]
        res["status"] = _status(ctx, orc, f"ORC[{gi}]")
        res["intent"] = "order"
        res["patient"] = ctx.patient_ref
        res["dateTime"] = authored
        if preferences:
            res["foodPreferenceModifier"] = preferences
        if diet_types or instructions:
            diet: dict[str, Any] = {}
            if diet_types:
                diet["type"] = diet_types
            schedule = _schedule(ctx, tq1s[0], f"TQ1[{gi}]") if tq1s else None
            if schedule:
                diet["schedule"] = [schedule]
            if instructions:
                diet["instruction"] = "\n".join(instructions)
            res["oralDiet"] = diet
        if supplements:
            res["supplement"] = supplements
        out.append(res)
    return out


def _status(ctx: Ctx, orc: Segment, loc: str) -> str:
    status = REQUEST_ORDER_STATUS.get(orc.comp(5).strip().upper())
    if status is None:
        status = REQUEST_CONTROL.get(orc.comp(1).strip().upper() or "NW")
    if status is None:
        ctx.warn(f"{loc}-1", "unknown order control; status unknown")
        return "unknown"
    return status
