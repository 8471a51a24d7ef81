"""Pure conversion of one decoded SS-MIX2 / JAHIS HL7 v2.5 message to JP Core resources.

Public API (used by the storage connector, and meant for the MLLP listener and benchmarks):

- :func:`decode_message` (bytes → text, per MSH-18) and :func:`parse_message` (text → segments);
- :func:`convert_message` (bytes or text → :class:`Conversion`), independent of where the
  message came from; ``kind`` is the SS-MIX2 data kind when known (storage file name), else it
  is derived from MSH-9;
- :func:`convert_visit_messages` (the ADT visit messages of one patient → Encounters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from connectors._sdk.errors import RecordError
from connectors._sdk.records import Conversion
from connectors.ssmix2.administration import administration_kind, convert_administrations
from connectors.ssmix2.clinical import convert_allergies, convert_conditions
from connectors.ssmix2.common import Ctx, patient_id_of
from connectors.ssmix2.coverage import convert_coverages
from connectors.ssmix2.encounter import EVENT_KIND, VISIT_KINDS, VisitEvent, convert_visits
from connectors.ssmix2.hl7 import Message, decode_message, parse_message
from connectors.ssmix2.lab import body_observations, convert_results
from connectors.ssmix2.medication import convert_medications
from connectors.ssmix2.nutrition import convert_diet_orders
from connectors.ssmix2.orders import convert_orders, convert_procedures, notice_kind, order_kind
from connectors.ssmix2.patient import contacts, patient_resource

__all__ = [
    "ConvertOptions",
    "convert_message",
    "convert_visit_messages",
    "decode_message",
    "kind_of",
    "parse_message",
]

EXTENDED_VITALS = "L-OBSERVATIONS^OBSERVATIONS^99ZL01"

# data kind → message types (MSH-9.1^MSH-9.2) it may carry
KIND_MESSAGES: dict[str, set[str]] = {
    "ADT-00": {"ADT^A08", "ADT^A23", "ADT^A28", "ADT^A31"},
    "ADT-61": {"ADT^A60"},
    "PPR-01": {"PPR^ZD1", "PPR^PC1", "PPR^PC2", "PPR^PC3"},
    "OMP-01": {"RDE^O11"},
    "OMP-02": {"RDE^O11"},
    "OMP-11": {"RAS^O17"},
    "OMP-12": {"RAS^O17"},
    "OML-11": {"OUL^R22", "ORU^R01", "OUL^R21", "OUL^R24"},
    "OMG-13": {"ORU^R01"},
    "OML-01": {"OML^O33"},
    "OMG-01": {"OMG^O19"},
    "OMG-02": {"OMG^O19"},
    "OMG-03": {"OMG^O19"},
    "OMG-11": {"OMI^Z23"},
    "OMG-12": {"OMI^Z23"},
    "OMD": {"OMD^O03"},
    EXTENDED_VITALS: {"ORU^R30", "ORU^R01"},
}
# data kinds recognised but not mapped to FHIR yet: converted to nothing, with a warning
NOT_MAPPED = {"ADT-01", "ADT-31", "ADT-32", "ADT-41", "ADT-51", "OMP-31", "OMP-32", "OMP-41",
              "OMP-42", "OML-02", "OML-12", "OMI-01", "OMI-02", "OMI-11", "OMI-12", "OMI-13",
              "OMG-04", "OMG-14", "ADT-71"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    facility_code: str = ""
    uri_form: Literal["url", "oid"] = "url"
    local_system_base: str = "urn:ehr-bridge:ssmix2:local:"


def kind_of(msg: Message) -> str:
    """SS-MIX2 data kind derived from MSH-9 (for messages that did not come from storage)."""
    t = msg.message_type
    trigger = msg.msh.comp(9, 2)
    if t.startswith("ADT^"):
        if trigger in ("A08", "A23", "A28", "A31"):
            return "ADT-00"
        if trigger == "A60":
            return "ADT-61"
        return EVENT_KIND.get(trigger, "")
    if t == "RDE^O11":
        return "OMP-02" if msg.first("RXC") is not None else "OMP-01"
    if t == "ORU^R30":
        return EXTENDED_VITALS
    if t == "RAS^O17":
        return administration_kind(msg)
    if t == "OMG^O19":
        return order_kind(msg)
    if t == "OMI^Z23":
        return notice_kind(msg)
    if t == "ORU^R01":
        return result_kind(msg)
    for kind, types in KIND_MESSAGES.items():
        if t in types:
            return kind
    return ""


def result_kind(msg: Message) -> str:
    """ORU^R01 without a storage data kind (MLLP): a physiological result (OMG-13: ECG,
    spirometry ...) when it has no SPM and its OBR-4 is a JLAC10 code of category 9 (生理機能
    検査, e.g. ``9A110`` 標準12誘導心電図); otherwise a specimen (lab) result (OML-11)."""
    if msg.first("SPM") is not None:
        return "OML-11"
    obr = msg.first("OBR")
    if (
        obr is not None
        and obr.comp(4, 3).upper() in ("JC10", "JC11")
        and obr.comp(4, 1).startswith("9")
    ):
        return "OMG-13"
    return "OML-11"


def _ctx(opts: ConvertOptions, **kw: Any) -> Ctx:
    return Ctx(opts.facility_code, opts.uri_form, opts.local_system_base, **kw)


def _to_message(data: bytes | str | Message) -> Message:
    if isinstance(data, Message):
        return data
    text = decode_message(data) if isinstance(data, bytes) else data
    return parse_message(text)


def fallback_patient(ctx: Ctx, msg: Message) -> list[dict[str, Any]]:
    """Patient from this message's PID, stored only if the patient has none yet.

    Every order/result message carries the same PID snapshot, so the Patient built from it is
    memoised by (options, patient ID, PID text) in a small bounded cache; callers get a copy."""
    pid = msg.first("PID")
    if pid is None:
        return []
    key = (ctx.facility_code, ctx.uri_form, ctx.local_system_base, ctx.patient_id,
           "|".join(pid.fields), pid.comp_sep, pid.rep_sep, pid.sub_sep, pid.esc)  # fmt: skip
    cached = _FALLBACKS.get(key)
    if cached is None:
        sub = Ctx(ctx.facility_code, ctx.uri_form, ctx.local_system_base, ctx.patient_id)
        try:
            patient = patient_resource(sub, pid, full=False)
        except RecordError:
            # a snapshot PID with a malformed field: build the Patient from the identifier alone
            patient = patient_resource(sub, _bare_pid(msg), full=False)
        if len(_FALLBACKS) >= _FALLBACKS_MAX:
            _FALLBACKS.clear()
        cached = _FALLBACKS[key] = orjson.dumps(patient)
    return [orjson.loads(cached)]


_FALLBACKS: dict[tuple[str, ...], bytes] = {}
_FALLBACKS_MAX = 4096


def _bare_pid(msg: Message) -> Any:
    from connectors.ssmix2.hl7 import Segment

    pid = msg.first("PID")
    assert pid is not None
    return Segment(
        ["PID", "", "", pid.field(3), "", pid.field(5)],
        pid.comp_sep,
        pid.rep_sep,
        pid.sub_sep,
        pid.esc,
    )


def convert_message(
    data: bytes | str | Message,
    *,
    kind: str | None = None,
    patient_id: str | None = None,
    options: ConvertOptions | None = None,
    source_ref: str = "",
    record_key: str = "",
) -> Conversion:
    """Convert one message. Raises :class:`RecordError` when it cannot be converted.

    ``kind``: SS-MIX2 data kind (from the storage file name); ``None`` derives it from MSH-9.
    ``patient_id``: storage patient ID (wins over PID-3, which is checked against it).
    Visit messages (ADT-12/21/22/42/52) converted alone give one Encounter each; the storage
    connector folds all of a patient's visit messages with :func:`convert_visit_messages`.
    """
    opts = options or ConvertOptions()
    msg = _to_message(data)
    derived = kind_of(msg)
    kind = kind or derived
    ctx = _ctx(opts, kind=kind, record_key=record_key, source_ref=source_ref)
    if not kind:
        raise RecordError("unknown message type", location="MSH-9")
    allowed = KIND_MESSAGES.get(kind)
    if allowed is not None and msg.message_type not in allowed:
        raise RecordError(f"message type does not match data kind {kind}", location="MSH-9")
    ctx.patient_id = patient_id or ""
    ctx.patient_id = patient_id_of(msg, ctx)
    conv = Conversion()
    if kind == "ADT-00":
        pid = msg.first("PID")
        assert pid is not None
        if msg.msh.comp(9, 2) == "A23":
            ctx.warn("MSH-9", "patient delete message (A23): not applied")
            return _finish(conv, ctx, msg, set())
        patient = patient_resource(ctx, pid, full=True)
        kin = contacts(msg.all("NK1"))
        if kin:
            patient["contact"] = kin
        conv.resources.append(patient)
        conv.resources.extend(body_observations(ctx, msg))
        conv.resources.extend(convert_allergies(ctx, msg, "AL1"))
        conv.resources.extend(convert_coverages(ctx, msg))
        used = {"PID", "OBX", "AL1", "IN1", "NK1"}
    elif kind in VISIT_KINDS:
        conv.resources.extend(convert_visits(ctx, [VisitEvent(kind, "", msg, source_ref)]))
        conv.if_absent.extend(fallback_patient(ctx, msg))
        used = {"PID", "PV1", "PV2", "EVN"}
    elif kind in NOT_MAPPED:
        ctx.warn("MSH-9", f"data kind {kind} is not mapped to FHIR yet; nothing stored")
        conv.if_absent.extend(fallback_patient(ctx, msg))
        used = {"PID"}
    elif kind == "ADT-61":
        conv.resources.extend(convert_allergies(ctx, msg, "IAM"))
        used = {"PID", "IAM"}
    elif kind == "PPR-01":
        conv.resources.extend(convert_conditions(ctx, msg))
        used = {"PID", "PRB", "ZPR"}
    elif kind in ("OMP-01", "OMP-02"):
        conv.resources.extend(convert_medications(ctx, msg, injection=kind == "OMP-02"))
        used = {"PID", "ORC", "RXE", "TQ1", "RXR", "RXC"}
    elif kind in ("OMP-11", "OMP-12"):
        conv.resources.extend(convert_administrations(ctx, msg, injection=kind == "OMP-12"))
        used = {"PID", "ORC", "RXA", "RXR"}
    elif kind == "OML-11":
        conv.resources.extend(convert_results(ctx, msg))
        used = {"PID", "ORC", "OBR", "SPM", "OBX"}
    elif kind == "OMG-13":
        conv.resources.extend(convert_results(ctx, msg, "physiology"))
        used = {"PID", "ORC", "OBR", "OBX"}
    elif kind in ("OML-01", "OMG-01", "OMG-02", "OMG-03"):
        conv.resources.extend(convert_orders(ctx, msg))
        used = {"PID", "ORC", "OBR", "TQ1", *(("OBX",) if kind == "OML-01" else ())}
    elif kind in ("OMG-11", "OMG-12"):
        conv.resources.extend(convert_procedures(ctx, msg))
        used = {"PID", "ORC", "OBR", "TQ1", "IPC"}
    elif kind == "OMD":
        conv.resources.extend(convert_diet_orders(ctx, msg))
        used = {"PID", "ORC", "TQ1", "ODS"}
    elif kind == EXTENDED_VITALS or kind.startswith("L-OBSERVATIONS"):
        conv.resources.extend(convert_results(ctx, msg, "vital"))
        used = {"PID", "ORC", "OBR", "OBX"}
    else:
        raise RecordError(f"unsupported data kind {kind}", location="MSH-9")
    if kind not in ("ADT-00",) and kind not in VISIT_KINDS and kind not in NOT_MAPPED:
        conv.if_absent.extend(fallback_patient(ctx, msg))
    return _finish(conv, ctx, msg, used)


def _finish(conv: Conversion, ctx: Ctx, msg: Message, used: set[str]) -> Conversion:
    conv.issues.extend(ctx.issues)
    seen = []
    for s in msg.segments:
        if (
            s.name not in used
            and s.name not in ("MSH", "EVN", "PV1", "PV2", "NTE")
            and s.name not in seen
        ):
            seen.append(s.name)
    conv.unconsumed.extend(seen)
    return conv


def convert_visit_messages(
    events: list[tuple[str, str, bytes | str | Message, str]],
    *,
    patient_id: str,
    options: ConvertOptions | None = None,
    record_key: str = "",
) -> Conversion:
    """Fold one patient's visit messages into Encounters.

    ``events``: (data kind, sort key, message bytes/text, source_ref). A message that cannot be
    decoded becomes an error issue with its ``source_ref`` (quarantined alone).
    """
    opts = options or ConvertOptions()
    ctx = _ctx(opts, patient_id=patient_id, record_key=record_key)
    conv = Conversion()
    parsed: list[VisitEvent] = []
    for kind, sort_key, data, ref in events:
        sub = _ctx(opts, patient_id=patient_id, source_ref=ref)
        try:
            msg = _to_message(data)
            if msg.message_type.split("^")[0] != "ADT":
                raise RecordError("message type does not match data kind", location="MSH-9")
            patient_id_of(msg, sub)
            # validate the times this event contributes (malformed → quarantine this file)
            convert_visits(sub, [VisitEvent(kind, sort_key, msg, ref)])
        except RecordError as exc:
            from connectors._sdk.records import Issue

            conv.issues.append(Issue("error", exc.location, exc.reason, ref))
            continue
        conv.issues.extend(sub.issues)
        parsed.append(VisitEvent(kind, sort_key, msg, ref))
        conv.if_absent.extend(fallback_patient(sub, msg))
    ctx.source_ref = ""
    conv.resources.extend(convert_visits(ctx, parsed))
    conv.issues.extend(i for i in ctx.issues if i not in conv.issues)
    if conv.if_absent:
        conv.if_absent = conv.if_absent[-1:]
    return conv
