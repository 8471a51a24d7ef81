"""PPR^ZD1 (PPR-01) → JP_Condition, ADT^A60 IAM (ADT-61) and ADT-00 AL1 → JP_AllergyIntolerance."""

from __future__ import annotations

from typing import Any

from connectors._sdk.errors import RecordError
from connectors.ssmix2.common import Ctx, codeable, cwe_codings, fhir_date, fhir_datetime, meta
from connectors.ssmix2.hl7 import Message, Segment

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
AI_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
AI_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
# PRB-14 outcome (HL70241-like, JAHIS): N 回復せず, R 回復, D 死亡 ...
OUTCOME_CLINICAL = {
    "R": "resolved",
    "C": "resolved",
    "D": "inactive",
    "I": "active",
    "N": "active",
    "W": "active",
}
ALLERGY_CATEGORY = {"DA": "medication", "FA": "food", "EA": "environment", "LA": "environment",
                    "AA": "environment", "PA": "environment", "MA": None, "MC": None}  # fmt: skip
ALLERGY_SEVERITY = {"SV": "severe", "MO": "moderate", "MI": "mild"}


def _cc(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _problems(msg: Message) -> list[tuple[Segment, Segment | None]]:
    """Each PRB with the ZPR that follows it in its group (PPR^ZD1: PRB [ZPR] …)."""
    out: list[tuple[Segment, Segment | None]] = []
    for seg in msg.segments:
        name = seg.fields[0]
        if name == "PRB":
            out.append((seg, None))
        elif name == "ZPR" and out and out[-1][1] is None:
            out[-1] = (out[-1][0], seg)
    return out


def convert_conditions(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    """Every PRB of the current PPR-01 (the complete diagnosis list); ``DE`` entries are dropped."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, (prb, zpr) in enumerate(_problems(msg), 1):
        loc = f"PRB[{i}]"
        action = prb.comp(1).upper()
        if action == "DE":
            continue
        codings, text = cwe_codings(ctx, prb, 3)
        icd, _ = cwe_codings(ctx, prb, 10)
        for c in icd[:1]:  # PRB-10 second triplet is the diagnosis setting, not a code
            if c["code"] not in {x["code"] for x in codings}:
                # PRB-10 is CWE ``code^^I10`` with the system in component 3
                codings.append(c)
        name = prb.comp(20) or text
        if not codings and not name:
            raise RecordError("diagnosis without code or name", location=f"{loc}-3")
        if codings and codings[0].get("code") in ("20084317",) and name:
            pass  # 「【病名】」 placeholder for an uncoded name: the free text carries it
        instance = prb.comp(4, 1) or "/".join(c["code"] for c in codings) or str(i)
        if instance in seen:
            instance = f"{instance}#{i}"
        seen.add(instance)
        if zpr is not None:  # ZPR-5: MEDIS 病名交換用コード of the same diagnosis
            for c in cwe_codings(ctx, zpr, 5)[0]:
                if c["code"] not in {x["code"] for x in codings}:
                    codings.append(c)
        res: dict[str, Any] = {
            "resourceType": "Condition",
            "id": ctx.id("Condition", ctx.patient_id, instance),
            "meta": meta("JP_Condition"),
            "identifier": [{"system": "urn:ehr-bridge:ssmix2:problem-instance", "value": instance}],
        }
        outcome = prb.comp(14).upper()
        resolved = fhir_date(prb.comp(9), f"{loc}-9")
        clinical = OUTCOME_CLINICAL.get(outcome, "resolved" if resolved else "active")
        res["clinicalStatus"] = _cc(CLINICAL, clinical)
        res["verificationStatus"] = _cc(VERIFICATION, "confirmed")
        res["category"] = [_cc(CATEGORY, "encounter-diagnosis")]
        code: dict[str, Any] = {}
        if codings:
            code["coding"] = codings
        if name:
            code["text"] = name
        res["code"] = code
        res["subject"] = ctx.patient_ref
        onset = fhir_datetime(prb.comp(16), f"{loc}-16") or fhir_datetime(prb.comp(7), f"{loc}-7")
        if onset:
            res["onsetDateTime"] = onset
        if resolved and clinical in ("resolved", "inactive"):
            res["abatementDateTime"] = resolved
        recorded = fhir_datetime(prb.comp(2), f"{loc}-2")
        if recorded:
            res["recordedDate"] = recorded
        out.append(res)
    return out


def _allergy(ctx: Ctx, seg: Segment, idx: int, *, iam: bool) -> dict[str, Any] | None:
    loc = f"{seg.name}[{idx}]"
    if iam and seg.comp(6).upper() == "D":
        return None  # IAM-6 D: removed from the list
    code = codeable(ctx, seg, 3)
    if code is None:
        raise RecordError("allergy without an allergen code or name", location=f"{loc}-3")
    key = "/".join(c["code"] for c in code.get("coding", [])) or code.get("text", "")
    res: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "id": ctx.id("AllergyIntolerance", ctx.patient_id, seg.name, key),
        "meta": meta("JP_AllergyIntolerance"),
        "clinicalStatus": _cc(AI_CLINICAL, "active"),
        "verificationStatus": _cc(AI_VERIFICATION, "confirmed"),
        "type": "allergy",
    }
    cat = ALLERGY_CATEGORY.get(seg.comp(2).upper())
    if cat:
        res["category"] = [cat]
    res["code"] = code
    res["patient"] = ctx.patient_ref
    if iam:
        onset = fhir_datetime(seg.comp(11), f"{loc}-11")
        if onset:
            res["onsetDateTime"] = onset
        else:
            note = seg.comp(12)
            if note:
                res["onsetString"] = note
    severity = ALLERGY_SEVERITY.get(seg.comp(4).upper())
    reaction_text = seg.comp(5)
    if reaction_text or severity:
        rx: dict[str, Any] = {
            "manifestation": [{"text": reaction_text or seg.comp(4, 2) or "不明"}]
        }
        if severity:
            rx["severity"] = severity
        res["reaction"] = [rx]
    return res


def convert_allergies(ctx: Ctx, msg: Message, segment: str = "IAM") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, seg in enumerate(msg.all(segment), 1):
        r = _allergy(ctx, seg, i, iam=segment == "IAM")
        if r is not None and r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out
