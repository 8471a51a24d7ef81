"""Shared pieces of the SS-MIX2 converters: context, HL7 datatypes → FHIR datatypes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from connectors._sdk.errors import RecordError
from connectors._sdk.ids import resource_id
from connectors._sdk.records import Issue
from connectors._sdk.storable import storable_number
from connectors.ssmix2.hl7 import Message, Segment
from mappings.code_systems import system_uri

CONNECTOR = "ssmix2"
JST = "+09:00"
JP = "http://jpfhir.jp/fhir/core/StructureDefinition/"
REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"
PATIENT_ID_OID = "urn:oid:1.2.392.100495.20.3.51.1"
UCUM = "http://unitsofmeasure.org"
MEDIS_KEY = "http://medis.or.jp/CodeSystem/master-disease-keyNumber"
MEDIS_EX = "http://medis.or.jp/CodeSystem/master-disease-exchangeCode"
HOT = {7: "http://medis.or.jp/CodeSystem/master-HOT7", 9: "http://medis.or.jp/CodeSystem/master-HOT9",
       13: "http://medis.or.jp/CodeSystem/master-HOT13"}  # fmt: skip


@lru_cache(maxsize=1)
def coding_systems() -> dict[str, str]:
    text = (
        resources.files("connectors.ssmix2").joinpath("data/coding_systems.tsv").read_text("utf-8")
    )
    out = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, uri = line.split("\t")[:2]
            out[name] = uri
    return out


@dataclass(slots=True)
class Ctx:
    """Everything a converter needs besides the message; immutable per record."""

    facility_code: str = ""
    uri_form: Literal["url", "oid"] = "url"
    local_system_base: str = "urn:ehr-bridge:ssmix2:local:"
    patient_id: str = ""  # storage patient ID (file name) or PID-3
    kind: str = ""  # SS-MIX2 data kind, "" when unknown (MLLP)
    record_key: str = ""
    source_ref: str = ""
    issues: list[Issue] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def id(self, rtype: str, *key: object) -> str:
        return resource_id(CONNECTOR, rtype, self.facility_code, *key)

    @property
    def patient_ref(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.id('Patient', self.patient_id)}"}

    def warn(self, location: str, reason: str) -> None:
        self.issues.append(Issue("warning", location, reason, self.source_ref))

    def number(self, text: str, location: str) -> int | float | None:
        """:func:`decimal_value` of a numeric field; a value that is present but not a number
        the store can hold is left out with a warning naming the field."""
        value = decimal_value(text)
        if value is None and text.strip():
            self.warn(location, NOT_A_NUMBER)
        return value

    def system(self, hl7_name: str, code: str = "") -> str | None:
        """System URI of an HL7 coding-system name (MEDIS and HOT also look at the code)."""
        name = hl7_name.strip()
        if not name:
            return None
        shape = code if name in ("MDCDX2", "HOT") else ""
        return _system(name, shape, self.local_system_base, self.facility_code, self.uri_form)


@lru_cache(maxsize=4096)
def _system(name: str, code: str, local_base: str, facility: str, uri_form: str) -> str:
    if name.startswith("99"):
        return f"{local_base}{facility + ':' if facility else ''}{name}"
    if name == "MDCDX2":
        canonical = MEDIS_KEY if code.isdigit() and len(code) == 8 else MEDIS_EX
    elif name == "HOT":
        canonical = HOT.get(len(code), HOT[9])
    else:
        found = coding_systems().get(name) or coding_systems().get(name.upper())
        if found is None:
            return f"urn:ehr-bridge:hl7v2-table:{name}"
        canonical = found
    return system_uri(canonical, uri_form)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- datatypes

_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")


def fhir_datetime(value: str, location: str = "") -> str | None:
    """HL7 TS/DTM → FHIR dateTime; times get an explicit offset (+09:00 unless one is sent).

    Raises :class:`RecordError` for a malformed value.
    """
    return _fhir_datetime(value.strip(), location)


@lru_cache(maxsize=16384)
def _fhir_datetime(v: str, location: str) -> str | None:
    # memoised (bounded; errors are not cached): a message repeats its times in every segment
    if not v:
        return None
    m = _TS.match(v)
    if not m:
        raise RecordError("malformed date/time", location=location)
    y, mo, d, hh, mi, ss, tz = m.groups()
    try:
        if mo and not 1 <= int(mo) <= 12 or d and not 1 <= int(d) <= 31:
            raise ValueError
        if hh and int(hh) > 23 or mi and int(mi) > 59 or ss and int(ss) > 59:
            raise ValueError
        if d:
            import datetime as _dt

            _dt.date(int(y), int(mo), int(d))
    except ValueError:
        raise RecordError("malformed date/time", location=location) from None
    if not mo:
        return y
    if not d:
        return f"{y}-{mo}"
    if not hh:
        return f"{y}-{mo}-{d}"
    off = JST if not tz else f"{tz[:3]}:{tz[3:]}"
    return f"{y}-{mo}-{d}T{hh}:{mi or '00'}:{ss or '00'}{off}"


def fhir_date(value: str, location: str = "") -> str | None:
    dtv = fhir_datetime(value, location)
    return dtv[:10] if dtv else None


def decimal_value(text: str) -> int | float | None:
    """The number in ``text``, or None when it is not a number or is one the store cannot
    hold: an integer beyond 64 bits (the store's JSON encoder refuses it) or a decimal beyond
    the range of a double. Callers treat None as "not numeric" (kept as text, or left out
    with a warning naming the field)."""
    if text.isdigit() and text.isascii() and len(text) < 19:  # the common case: a plain integer
        return int(text)
    return _decimal(text)


NOT_A_NUMBER = "not a number, or too large to store (beyond 64-bit integers); left out"


@lru_cache(maxsize=16384)
def _decimal(text: str) -> int | float | None:
    # memoised (bounded): results and doses repeat the same few decimals ("5.8", "0.5")
    t = text.strip().replace(",", "")
    if not t:
        return None
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    if d == d.to_integral_value() and "." not in t and "e" not in t.lower():
        i = int(d)
        return i if storable_number(i) else None
    f = float(d)
    return f if storable_number(f) else None


def cwe_codings(ctx: Ctx, seg: Segment, n: int, rep: int = 0) -> tuple[list[dict[str, Any]], str]:
    """CWE/CE field → (codings of both triplets, text)."""
    comps = seg.comps(n, rep)
    codings: list[dict[str, Any]] = []
    text = ""
    for base in (0, 3):
        code = comps[base].strip() if len(comps) > base else ""
        disp = comps[base + 1].strip() if len(comps) > base + 1 else ""
        sysname = comps[base + 2].strip() if len(comps) > base + 2 else ""
        if code == '""':
            code = ""
        if disp and not text:
            text = disp
        if not code:
            continue
        codings.append(make_coding(ctx, sysname, code, disp))
    return codings, text


def make_coding(ctx: Ctx, sysname: str, code: str, display: str) -> dict[str, Any]:
    """One Coding: the code, its system URI (from the HL7 coding-system name), its display."""
    c: dict[str, Any] = {"code": code}
    system = ctx.system(sysname, code)
    if system:
        c["system"] = system
    if display:
        c["display"] = display
    return c


def codeable(ctx: Ctx, seg: Segment, n: int, rep: int = 0) -> dict[str, Any] | None:
    codings, text = cwe_codings(ctx, seg, n, rep)
    if not codings and not text:
        return None
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = codings
    if text:
        out["text"] = text
    return out


def quantity(
    ctx: Ctx,
    value: int | float,
    unit_seg: Segment | None,
    n: int = 0,
    comps: list[str] | None = None,
) -> dict[str, Any]:
    """Quantity with the unit of a CWE unit field (code + text, system when known)."""
    q: dict[str, Any] = {"value": value}
    if comps is None and unit_seg is not None:
        comps = unit_seg.comps(n)
    comps = [c.strip() for c in (comps or [])]
    code = comps[0] if comps else ""
    text = comps[1] if len(comps) > 1 and comps[1] else code
    sysname = comps[2] if len(comps) > 2 else ""
    if text:
        q["unit"] = text
    if code:
        system = ctx.system(sysname, code) if sysname else None
        if system:
            q["system"] = system
            q["code"] = code
    return q


def patient_id_of(msg: Message, ctx: Ctx) -> str:
    """PID-3 (first repetition), checked against the storage patient ID."""
    pid = msg.first("PID")
    if pid is None:
        raise RecordError("missing PID segment", location="PID")
    value = pid.comp(3, 1)
    if not value:
        value = pid.comp(2, 1)
    if not value and not ctx.patient_id:
        raise RecordError("no patient identifier", location="PID-3")
    if ctx.patient_id and value and value != ctx.patient_id:
        ctx.warn("PID-3", "patient ID in the message differs from the storage patient ID; "
                 "the storage ID is used")  # fmt: skip
    return ctx.patient_id or value


def meta(profile: str) -> dict[str, Any]:
    return {"profile": [JP + profile]}
