"""PID → JP_Patient (ADT-00 master record, or a fallback from any message's PID)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from connectors.ssmix2.common import PATIENT_ID_OID, REPRESENTATION, Ctx, fhir_date, meta
from connectors.ssmix2.hl7 import Segment

GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "unknown"}
ADDRESS_USE = {"H": "home", "B": "work", "C": "temp", "O": "work", "BA": "old"}
TELECOM_USE = {
    "PRN": "home",
    "WPN": "work",
    "EMR": "home",
    "ORN": "home",
    "NET": "home",
    "PRS": "mobile",
}
TELECOM_SYSTEM = {"PH": "phone", "FX": "fax", "CP": "phone", "Internet": "email", "X.400": "email"}


def patient_identifier_system(facility_code: str) -> str:
    """JP Core facility patient-ID system: ``urn:oid:1.2.392.100495.20.3.51.1<医療機関コード10桁>``."""
    return (
        f"{PATIENT_ID_OID}{facility_code}" if facility_code else "urn:ehr-bridge:ssmix2:patient-id"
    )


_HALFWIDTH_KANA = re.compile("[\uff61-\uff9f]+")


def fullwidth_kana(text: str) -> str:
    """Half-width katakana (JIS X 0201, e.g. ``ｶﾞｸ``) as full-width (``ガク``), voiced marks
    joined; nothing else changes (NFKC on the whole name could alter compatibility kanji)."""
    if not _HALFWIDTH_KANA.search(text):
        return text
    return _HALFWIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def human_names(seg: Segment, field: int = 5) -> list[dict[str, Any]]:
    """XPN repetitions of ``field`` (PID-5, NK1-2), kanji (IDE) first, then kana (SYL)."""
    out = []
    halfwidth = _HALFWIDTH_KANA.search(seg.field(field)) is not None
    for rep in range(len(seg.reps(field))):
        c = seg.comps(field, rep)
        if halfwidth:
            c = [fullwidth_kana(x) for x in c]
        if not c:
            continue
        family = c[0].split("&")[0].strip() if c else ""
        given = c[1].strip() if len(c) > 1 else ""
        middle = c[2].strip() if len(c) > 2 else ""
        kind = c[7].strip().upper() if len(c) > 7 else ""
        if not family and not given:
            continue
        name: dict[str, Any] = {"use": "official"}
        code = {"I": "IDE", "P": "SYL", "A": "ABC"}.get(kind) or (
            "" if kind else written_as(family + given + middle)
        )
        if code:
            name["extension"] = [{"url": REPRESENTATION, "valueCode": code}]
        if family:
            name["family"] = family
        givens = [g for g in (given, middle) if g]
        if givens:
            name["given"] = givens
        name["text"] = " ".join(x for x in (family, *givens) if x)
        out.append(name)
    # kanji (IDE) first, then kana (SYL): stable order whatever the message order was
    out.sort(key=lambda n: {"IDE": 0, "SYL": 1}.get(_rep(n), 2))
    return out


_KANA = re.compile("^[\u3041-\u309f\u30a0-\u30ff\u3000 ・ー]+$")
_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f々〆]")
_LATIN = re.compile("^[A-Za-z .,'\\-]+$")


def written_as(text: str) -> str:
    """How a name is written when XPN-8 does not say (some vendors leave it empty): ``IDE``
    with any kanji, ``SYL`` in kana only, ``ABC`` in Latin letters only, else ""."""
    if _IDEOGRAPH.search(text):
        return "IDE"
    if _KANA.match(text):
        return "SYL"
    if _LATIN.match(text):
        return "ABC"
    return ""


def _rep(name: dict[str, Any]) -> str:
    for e in name.get("extension", []):
        return str(e.get("valueCode"))
    return ""


def addresses(seg: Segment, field: int = 11) -> list[dict[str, Any]]:
    """XAD repetitions of ``field`` (PID-11, NK1-4)."""
    out = []
    for rep in range(len(seg.reps(field))):
        c = seg.comps(field, rep) + [""] * 9
        street, other, city, state, zipc, country, atype, full = (x.strip() for x in c[:8])
        if not any((street, other, city, state, zipc, full)):
            continue
        a: dict[str, Any] = {}
        if atype in ADDRESS_USE:
            a["use"] = ADDRESS_USE[atype]
        text = full or "".join(x for x in (state, city, street, other) if x)
        if text:
            a["text"] = text
        lines = [x for x in (street, other) if x]
        if lines:
            a["line"] = lines
        if city:
            a["city"] = city
        if state:
            a["state"] = state
        if zipc:
            a["postalCode"] = zipc
        if country:
            a["country"] = country
        out.append(a)
    return out


def telecoms(seg: Segment, home: int = 13, work: int = 14) -> list[dict[str, Any]]:
    """XTN repetitions of the home and business phone fields (PID-13/14, NK1-5/6)."""
    out = []
    for n in (home, work):
        for rep in range(len(seg.reps(n))):
            c = seg.comps(n, rep) + [""] * 12
            number = (c[11] or c[0]).strip()
            if not number:
                continue
            t: dict[str, Any] = {
                "system": TELECOM_SYSTEM.get(c[2].strip(), "phone"),
                "value": number,
            }
            use = TELECOM_USE.get(c[1].strip(), "work" if n == work else None)
            if use:
                t["use"] = use
            out.append(t)
    return out


V2_0063 = "http://terminology.hl7.org/CodeSystem/v2-0063"


def contacts(nk1s: list[Segment]) -> list[dict[str, Any]]:
    """NK1 (next of kin / associated parties) → Patient.contact, as the JAMI mapping IG does:
    relationship (HL7 table 0063 as sent), the kanji name (contact.name holds one), phones,
    first address, organization name (NK1-13)."""
    out = []
    for nk1 in nk1s:
        c: dict[str, Any] = {}
        rel, rel_text = nk1.comp(3), nk1.comp(3, 2)
        if rel or rel_text:
            concept: dict[str, Any] = {"text": rel_text or rel}
            if rel:
                concept["coding"] = [{"system": V2_0063, "code": rel}]
            c["relationship"] = [concept]
        names = human_names(nk1, 2)
        if names:
            c["name"] = names[0]
        tel = telecoms(nk1, 5, 6)
        if tel:
            c["telecom"] = tel
        addr = addresses(nk1, 4)
        if addr:
            c["address"] = addr[0]
        org = nk1.comp(13)
        if org:
            c["organization"] = {"display": org}
        if c.keys() - {"relationship"}:
            out.append(c)
    return out


def patient_resource(ctx: Ctx, pid: Segment, *, full: bool) -> dict[str, Any]:
    """JP_Patient from PID. ``full`` (ADT-00) adds address and telecom."""
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ctx.id("Patient", ctx.patient_id),
        "meta": meta("JP_Patient"),
        "identifier": [
            {"system": patient_identifier_system(ctx.facility_code), "value": ctx.patient_id}
        ],
    }
    names = human_names(pid)
    if names:
        res["name"] = names
    if full:
        tel = telecoms(pid)
        if tel:
            res["telecom"] = tel
    sex = pid.comp(8)
    if sex:
        if sex in GENDER:
            res["gender"] = GENDER[sex]
        else:
            ctx.warn("PID-8", "unknown administrative sex code")
    birth = pid.comp(7)
    if birth:
        res["birthDate"] = fhir_date(birth, "PID-7")
    if full:
        addr = addresses(pid)
        if addr:
            res["address"] = addr
        died = pid.comp(30)
        if died == "Y":
            dod = pid.comp(29)
            res["deceasedDateTime" if dod else "deceasedBoolean"] = (
                fhir_date(dod, "PID-29") if dod else True
            )
    return res
