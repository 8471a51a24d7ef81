"""HL7 v2.5 ACK / NAK messages built with hl7apy, and a reader for the ASCII MSH header.

- ``AA``: the message was converted and durably stored (or was a duplicate of a stored one).
- ``AE``: application error: the message was read but could not be (fully) converted/stored;
  it is in quarantine (conversion problem) or the store failed (code 207); the reason is in
  ``ERR`` and ``MSA-3``.
- ``AR``: rejected before processing: no readable MSH, unsupported message type, broken frame.

``ERR`` carries the location (ERR-2, ``segment^1^field``), the HL7 table 0357 code (ERR-3), the
severity (ERR-4 ``E``) and the reason (ERR-8). Reasons name segments/fields and the kind of
problem only, never patient data; separators are removed before they go on the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Literal

JST = timezone(timedelta(hours=9))

AckCode = Literal["AA", "AE", "AR"]

# HL7 table 0357 (message error condition codes)
SEGMENT_SEQUENCE = ("100", "Segment sequence error")
REQUIRED_MISSING = ("101", "Required field missing")
DATA_TYPE = ("102", "Data type error")
UNSUPPORTED_TYPE = ("200", "Unsupported message type")
INTERNAL = ("207", "Application internal error")


@dataclass(frozen=True, slots=True)
class MshHeader:
    """Fields of the incoming MSH needed to answer it (all ASCII in JAHIS messages)."""

    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    message_type: str = ""  # MSH-9 as sent
    control_id: str = ""  # MSH-10
    processing_id: str = "P"
    version: str = "2.5"

    @property
    def trigger(self) -> str:
        parts = self.message_type.split("^")
        return parts[1] if len(parts) > 1 else ""


_SAFE = re.compile(r"[^\x20-\x7e]|[|^~\\&]")


def _field(v: str, limit: int = 199) -> str:
    return _SAFE.sub(" ", v)[:limit].strip()


def read_msh(data: bytes) -> MshHeader | None:
    """The MSH header of raw message bytes, read without decoding the body (the MSH of a JAHIS
    message is ASCII up to any kanji in MSH-4/6, which we do not need). None: no MSH."""
    data = data.lstrip(b"\x0b\r\n\t ")
    if not data.startswith(b"MSH") or len(data) < 9:
        return None
    end = len(data)
    for t in (b"\r", b"\n"):
        i = data.find(t)
        if i != -1:
            end = min(end, i)
    line = data[:end]
    esc = line.find(b"\x1b")  # stop at the first JIS escape: later fields may hold kanji
    text = line.decode("latin-1")
    sep = text[3]
    comp = text[4] if len(text) > 4 else "^"
    f = text.split(sep)

    # f[0]="MSH", f[1]=encoding chars, f[n-1] = MSH-n for n >= 3
    def g(n: int) -> str:
        v = f[n - 1] if n - 1 < len(f) else ""
        if esc != -1 and len(sep.join(f[:n])) > esc:
            return ""  # this field begins after a JIS escape: do not echo raw bytes
        return v

    mtype = g(9).replace(comp, "^")
    return MshHeader(
        sending_app=g(3).split(comp)[0],
        sending_facility=g(4).split(comp)[0],
        receiving_app=g(5).split(comp)[0],
        receiving_facility=g(6).split(comp)[0],
        message_type=mtype,
        control_id=g(10),
        processing_id=g(11).split(comp)[0] or "P",
        version=g(12).split(comp)[0] or "2.5",
    )


def _erl(location: str) -> str:
    """``PID-3`` → ``PID^1^3``; ``RXE[2]`` → ``RXE^2``; other text → ``""``."""
    m = re.match(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+))?", location or "")
    if not m:
        return ""
    seg, seq, fld = m.group(1), m.group(2) or "1", m.group(3)
    return f"{seg}^{seq}^{fld}" if fld else f"{seg}^{seq}"


class AckBuilder:
    """Builds ACK/NAK ER7 bytes. ``app``/``facility`` identify this receiver (MSH-3/4)."""

    def __init__(self, app: str = "EHR-BRIDGE", facility: str = "", clock: object = None) -> None:
        self.app = app
        self.facility = facility
        self._clock = clock or (lambda: datetime.now(JST))
        self._ids = count(1)
        self._prefix = datetime.now(JST).strftime("%Y%m%d%H%M%S")

    def build(
        self,
        header: MshHeader | None,
        code: AckCode,
        *,
        reason: str = "",
        location: str = "",
        error: tuple[str, str] | None = None,
    ) -> bytes:
        from hl7apy.core import Message

        h = header or MshHeader()
        m = Message("ACK", version="2.5")
        m.msh.msh_3 = _field(self.app)
        if self.facility:
            m.msh.msh_4 = _field(self.facility)
        if h.sending_app:
            m.msh.msh_5 = _field(h.sending_app)
        if h.sending_facility:
            m.msh.msh_6 = _field(h.sending_facility)
        m.msh.msh_7 = self._clock().strftime("%Y%m%d%H%M%S")  # type: ignore[operator]
        trigger = _field(h.trigger, 3)
        m.msh.msh_9 = f"ACK^{trigger}^ACK" if trigger else "ACK"
        m.msh.msh_10 = f"A{self._prefix}{next(self._ids):06d}"
        m.msh.msh_11 = _field(h.processing_id, 3) or "P"
        m.msh.msh_12 = "2.5"
        m.msa.msa_1 = code
        if h.control_id:
            m.msa.msa_2 = _field(h.control_id)
        if code != "AA":
            text = _field(reason) or "rejected"
            m.msa.msa_3 = text[:80]
            m.add_segment("ERR")
            erl = _erl(location)
            if erl:
                m.err.err_2 = erl
            ecode, ename = error or (INTERNAL if code == "AE" else SEGMENT_SEQUENCE)
            m.err.err_3 = f"{ecode}^{ename}^HL70357"
            m.err.err_4 = "E"
            m.err.err_8 = text
        return m.to_er7().encode("ascii")


def error_code_for(location: str, reason: str) -> tuple[str, str]:
    """A table 0357 code for a conversion problem (best effort, for the sender's operators)."""
    r = reason.lower()
    if "missing" in r or "no patient identifier" in r:
        return REQUIRED_MISSING
    if "unknown message type" in r or "unsupported" in r or "does not match data kind" in r:
        return UNSUPPORTED_TYPE
    if "segment" in r and ("order" in r or "sequence" in r):
        return SEGMENT_SEQUENCE
    return DATA_TYPE
