"""Test orders and their implementation notices.

- OML^O33 (OML-01 検体検査オーダ), OMG^O19 (OMG-01/02/03 放射線・内視鏡・生理検査オーダ)
  → JP_ServiceRequest_Common, one per ORC/OBR group;
- OMI^Z23 (OMG-11/12 放射線・内視鏡 実施通知, JAHIS) → JP_Procedure, one per ORC/OBR group.

The JAMI SS-MIX2→FHIR mapping draft does not cover these kinds; the field map follows its
OML-11 rule (ORC → ServiceRequest) and the RXE rules (ORC-2 → identifier, ORC-9 → authoredOn):

- a group is keyed by its placer order number (OBR-2, else ORC-2: they differ only by a typo in
  the OMG-12 sample) and its code (OBR-4.1). JAHIS sends an order as ``NW`` (the order control)
  + ``PA`` (the parent order) with the same key: they give one resource. ``CH`` groups are the
  child items (ORC-8 / OBR-29 = the parent's number): their own resource, ``basedOn`` (orders) or
  ``partOf`` (procedures) the parent's when the parent is in the message;
- OML-01: the OBX of a group with OBX-11 ``O`` (order detail) are the requested items (JLAC10):
  one ServiceRequest each, ``basedOn`` the group's;
- status: ORC-5 (HL7 table 0038) when sent, else the order control of the message (ORC-1 of the
  group, or of the first ORC that is not ``PA``/``CH``), see :data:`REQUEST_CONTROL` /
  :data:`PROCEDURE_CONTROL`;
- ORC-9 → authoredOn, TQ1-7 → occurrenceDateTime, TQ1-9 → priority; OBR-7 → performedDateTime;
  IPC-3 (Study Instance UID) → Procedure.identifier (``urn:dicom:uid``);
- the Procedure's ``basedOn`` is :func:`order_id` of the same (placer number, code): the id the
  order converter gives that ServiceRequest.

Doctors (ORC-10/12, OBR-16) are not mapped: no converter produces Practitioner resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.ssmix2.common import Ctx, codeable, fhir_datetime, meta
from connectors.ssmix2.hl7 import Message, Segment

ORDER_NO = "urn:ehr-bridge:ssmix2:order-no"
DICOM_UID = "urn:dicom:uid"
OBS_CATEGORY_JP = "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS"
SNOMED = "http://snomed.info/sct"
# data kind → (JP simple category, SNOMED CT servicerequest-category code, display)
CATEGORY = {
    "OML-01": ("laboratory", "108252007", "Laboratory procedure"),
    "OMG-01": ("imaging", "363679005", "Imaging"),
    "OMG-02": ("procedure", "103693007", "Diagnostic procedure"),  # endoscopy
    "OMG-03": ("procedure", "103693007", "Diagnostic procedure"),  # physiological tests
}
# HL7 table 0119 order control → RequestStatus (ServiceRequest, NutritionOrder)
REQUEST_CONTROL = {"NW": "active", "OK": "active", "SC": "active", "XO": "active", "XX": "active",
                   "RP": "active", "RO": "active", "SN": "active", "NA": "active", "RL": "active",
                   "CA": "revoked", "OC": "revoked", "CR": "revoked", "DC": "revoked",
                   "OD": "revoked", "DR": "revoked", "HD": "on-hold", "OH": "on-hold"}  # fmt: skip
# HL7 table 0038 order status → RequestStatus
REQUEST_ORDER_STATUS = {"CM": "completed", "CA": "revoked", "DC": "revoked", "HD": "on-hold",
                        "IP": "active", "SC": "active", "A": "active",
                        "ER": "entered-in-error"}  # fmt: skip
# implementation notice (OMI^Z23): order control → EventStatus
PROCEDURE_CONTROL = {"NW": "completed", "OK": "completed", "SC": "completed", "XO": "completed",
                     "RE": "completed", "CA": "not-done", "OC": "not-done", "CR": "not-done",
                     "DC": "stopped", "OD": "stopped", "HD": "on-hold"}  # fmt: skip
PROCEDURE_ORDER_STATUS = {"CM": "completed", "IP": "in-progress", "SC": "preparation",
                          "HD": "on-hold", "CA": "not-done", "DC": "stopped",
                          "ER": "entered-in-error"}  # fmt: skip
PRIORITY = {"S": "stat", "A": "asap", "R": "routine", "T": "urgent"}  # HL7 table 0485
ITEMS = ("PA", "CH")  # parent / child markers, not order controls
ORDER_OF = {"OMG-11": "OMG-01", "OMG-12": "OMG-02"}


@dataclass(slots=True)
class Group:
    orc: Segment
    obr: Segment | None = None
    tq1: list[Segment] = field(default_factory=list)
    obx: list[Segment] = field(default_factory=list)
    ipc: list[Segment] = field(default_factory=list)
    index: int = 0

    @property
    def placer(self) -> str:
        return (self.obr.comp(2, 1) if self.obr is not None else "") or self.orc.comp(2, 1)

    @property
    def code(self) -> str:
        if self.obr is None:
            return ""
        return self.obr.comp(4, 1).strip() or self.obr.comp(4, 2).strip()

    @property
    def parent(self) -> str:
        """Placer number of the parent order of a child item (ORC-8, else OBR-29)."""
        own = self.orc.comp(8, 1) or (self.obr.comp(29, 1) if self.obr is not None else "")
        return "" if own == self.placer else own


def groups(msg: Message) -> list[Group]:
    """ORC-led groups; groups with the same (placer, code) are merged into the first one."""
    out: list[Group] = []
    cur: Group | None = None
    in_detail = False  # OBX after ZE1 describe the implementation, not the order
    for seg in msg.segments:
        name = seg.name
        if name == "ORC":
            cur = Group(seg, index=len(out) + 1)
            out.append(cur)
            in_detail = False
        elif cur is None:
            continue
        elif name == "OBR" and cur.obr is None:
            cur.obr = seg
        elif name == "TQ1":
            cur.tq1.append(seg)
        elif name == "ZE1":
            in_detail = True
        elif name == "OBX" and not in_detail:
            cur.obx.append(seg)
        elif name == "IPC":
            cur.ipc.append(seg)
    merged: dict[tuple[str, str], Group] = {}
    result: list[Group] = []
    for g in out:
        key = (g.placer, g.code)
        first = merged.get(key) if all(key) else None
        if first is None:
            merged[key] = g
            result.append(g)
            continue
        first.tq1 = first.tq1 or g.tq1
        first.obx.extend(g.obx)
        first.ipc.extend(g.ipc)
    return result


def order_kind(msg: Message) -> str:
    """OMG-01/02/03 of an OMG^O19 received without its storage data kind (MLLP): by the coding
    system of OBR-4 (JJ1017 radiology, LENDO endoscopy, else physiological test)."""
    systems = _obr_systems(msg)
    return "OMG-01" if "JJ1017" in systems else "OMG-02" if "LENDO" in systems else "OMG-03"


def notice_kind(msg: Message) -> str:
    """OMG-12 (endoscopy: LENDO codes or IPC-5 modality ES) or OMG-11 for an OMI^Z23."""
    modalities = {s.comp(5, 1).upper() for s in msg.all("IPC")}
    return "OMG-12" if "LENDO" in _obr_systems(msg) or "ES" in modalities else "OMG-11"


def _obr_systems(msg: Message) -> set[str]:
    return {s.comp(4, c).strip().upper() for s in msg.all("OBR") for c in (3, 6)}


def order_id(ctx: Ctx, placer: str, code: str, item: str = "") -> str:
    """Id of the ServiceRequest of an order group (``item``: a requested item's code); the
    implementation-notice converter builds the Procedure's ``basedOn`` with it."""
    return ctx.id("ServiceRequest", ctx.patient_id, placer, code, *([item] if item else []))


def _group_key(ctx: Ctx, g: Group) -> tuple[str, str]:
    return (g.placer or ctx.record_key, g.code or str(g.index))


def _control(gs: list[Group]) -> str:
    """The order control of the message: the first ORC-1 that is not a parent/child marker."""
    for g in gs:
        code = g.orc.comp(1).strip().upper()
        if code and code not in ITEMS:
            return code
    return "NW"


def _status(
    ctx: Ctx, g: Group, control: str, by_status: dict[str, str], by_control: dict[str, str]
) -> str:
    order_status = g.orc.comp(5).strip().upper()
    if order_status in by_status:
        return by_status[order_status]
    own = g.orc.comp(1).strip().upper()
    code = own if own and own not in ITEMS else control
    status = by_control.get(code)
    if status is None:
        ctx.warn(f"ORC[{g.index}]-1", "unknown order control; status unknown")
        return "unknown"
    return status


def _parents(ctx: Ctx, gs: list[Group]) -> dict[str, tuple[str, str]]:
    """Placer number → key of the (non-child) group that carries it."""
    out: dict[str, tuple[str, str]] = {}
    for g in gs:
        if g.placer and not g.parent and g.placer not in out:
            out[g.placer] = _group_key(ctx, g)
    return out


def _category(kind: str) -> list[dict[str, Any]] | None:
    cat = CATEGORY.get(kind)
    if cat is None:
        return None
    jp, sct, display = cat
    codings = [{"system": OBS_CATEGORY_JP, "code": jp}, {"system": SNOMED, "code": sct,
                                                         "display": display}]  # fmt: skip
    return [{"coding": codings}]


def convert_orders(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    """ServiceRequests of an OML^O33 / OMG^O19 message."""
    gs = groups(msg)
    control = _control(gs)
    parents = _parents(ctx, gs)
    out: list[dict[str, Any]] = []
    for g in gs:
        loc = f"OBR[{g.index}]"
        if g.obr is None:
            ctx.warn(f"ORC[{g.index}]", "order group without OBR; not mapped")
            continue
        key = _group_key(ctx, g)
        sr = _request(ctx, g, order_id(ctx, *key), codeable(ctx, g.obr, 4), loc)
        sr["status"] = _status(ctx, g, control, REQUEST_ORDER_STATUS, REQUEST_CONTROL)
        parent = parents.get(g.parent) if g.parent else None
        if parent is not None:
            sr["basedOn"] = [{"reference": f"ServiceRequest/{order_id(ctx, *parent)}"}]
        out.append(_ordered(sr))
        if ctx.kind != "OML-01":
            continue
        own = {"reference": f"ServiceRequest/{sr['id']}"}
        seen: set[str] = set()
        for obx in g.obx:
            item = codeable(ctx, obx, 3)
            item_code = obx.comp(3, 1).strip() or obx.comp(3, 2).strip()
            if item is None or obx.comp(11).strip().upper() != "O" or item_code in seen:
                continue
            seen.add(item_code)
            sub = _request(ctx, g, order_id(ctx, *key, item_code), item, loc)
            sub["status"] = sr["status"]
            sub["basedOn"] = [own]
            out.append(_ordered(sub))
    return out


_ORDER = ("resourceType", "id", "meta", "identifier", "basedOn", "status", "intent", "category",
          "priority", "code", "subject", "occurrenceDateTime", "authoredOn")  # fmt: skip


def _ordered(res: dict[str, Any]) -> dict[str, Any]:
    return {k: res[k] for k in _ORDER if k in res}


def _request(ctx: Ctx, g: Group, rid: str, code: dict[str, Any] | None, loc: str) -> dict[str, Any]:
    sr: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": rid,
        "meta": meta("JP_ServiceRequest_Common"),
        "intent": "order",
        "subject": ctx.patient_ref,
    }
    if g.placer:
        sr["identifier"] = [{"system": ORDER_NO, "value": g.placer}]
    category = _category(ctx.kind)
    if category:
        sr["category"] = category
    if code:
        sr["code"] = code
    else:
        ctx.warn(f"{loc}-4", "order without a test code")
    for tq1 in g.tq1[:1]:
        priority = PRIORITY.get(tq1.comp(9).strip().upper())
        if priority:
            sr["priority"] = priority
        start = fhir_datetime(tq1.comp(7, 1), f"TQ1[{g.index}]-7")
        if start:
            sr["occurrenceDateTime"] = start
    authored = fhir_datetime(g.orc.comp(9, 1), f"ORC[{g.index}]-9")
    if authored:
        sr["authoredOn"] = authored
    return sr


def convert_procedures(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    """Procedures of an OMI^Z23 implementation notice (OMG-11 radiology, OMG-12 endoscopy)."""
    gs = groups(msg)
    control = _control(gs)
    parents = _parents(ctx, gs)
    out: list[dict[str, Any]] = []
    for g in gs:
        if g.obr is None:
            ctx.warn(f"ORC[{g.index}]", "implementation group without OBR; not mapped")
            continue
        key = _group_key(ctx, g)
        res: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": ctx.id("Procedure", ctx.patient_id, *key),
            "meta": meta("JP_Procedure"),
        }
        identifiers = [{"system": ORDER_NO, "value": g.placer}] if g.placer else []
        for ipc in g.ipc:
            uid = ipc.comp(3, 1).strip()
            ident = {"system": DICOM_UID, "value": f"urn:oid:{uid}"}
            if uid and ident not in identifiers:
                identifiers.append(ident)
        if identifiers:
            res["identifier"] = identifiers
        if g.placer:
            res["basedOn"] = [{"reference": f"ServiceRequest/{order_id(ctx, *key)}"}]
        parent = parents.get(g.parent) if g.parent else None
        if parent is not None:
            pid = ctx.id("Procedure", ctx.patient_id, *parent)
            res["partOf"] = [{"reference": f"Procedure/{pid}"}]
        res["status"] = _status(ctx, g, control, PROCEDURE_ORDER_STATUS, PROCEDURE_CONTROL)
        code = codeable(ctx, g.obr, 4)
        if code:
            res["code"] = code
        else:
            ctx.warn(f"OBR[{g.index}]-4", "implementation without a procedure code")
        res["subject"] = ctx.patient_ref
        performed = fhir_datetime(g.obr.comp(7, 1), f"OBR[{g.index}]-7")
        if performed:
            res["performedDateTime"] = performed
        out.append(res)
    return out
