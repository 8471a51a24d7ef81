"""The MLLP connector's record model: one JAHIS HL7 v2.5 message received over MLLP → one
:class:`SourceRecord`, converted by the SS-MIX2 converter (the same code as storage files).

Record key (so a re-sent or updated message replaces what the earlier one produced, like an
SS-MIX2 storage record): ``<patient>/<data kind>/<order>`` where order is ORC-2 (placer order
number) when the message has one, ``-`` for the per-patient master records (ADT-00 patient,
ADT-61 allergy list, PPR-01 diagnosis list: a new one replaces the old one), else MSH-10.
Administration notices (OMP-11/12, ``RAS^O17``) add ``@<RXA-3>`` to the order: each
administration of an order is its own record. Messages that cannot be decoded/parsed get
``msg/<MSH-10>``.

Visit messages (ADT admissions, transfers, discharges, plans: the SS-MIX2 visit kinds) are
folded per patient: the listener keeps them (in receive order) and converts all of a patient's
visit messages together as one record ``<patient>/visits`` (:meth:`MllpConnector.visit_record`),
exactly as the storage connector folds a patient's ADT files — one Encounter per visit, a
discharge closing the open stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field

from connectors._sdk.base import ConnectorConfig
from connectors._sdk.errors import RecordError
from connectors._sdk.records import Conversion, SourceRecord
from connectors.ssmix2.convert import (
    ConvertOptions,
    convert_message,
    convert_visit_messages,
    kind_of,
)
from connectors.ssmix2.encounter import VISIT_KINDS
from connectors.ssmix2.hl7 import Message, decode_message, parse_message

MASTER_KINDS = {"ADT-00", "ADT-61", "PPR-01"}
ADMINISTRATION_KINDS = {"OMP-11", "OMP-12"}  # RAS^O17: one record per administration


class MllpConfig(ConnectorConfig):
    host: str = Field("127.0.0.1", description="Address the listener binds.")
    port: int = Field(2575, description="TCP port the listener binds.")
    facility_code: str = Field("", description="医療機関コード (10 digits), as for SS-MIX2.")
    jp_core_uri_form: str = Field("url", description="'url' (JP Core 1.2) or 'oid' URIs.")
    local_system_base: str = Field(
        "urn:ehr-bridge:ssmix2:local:", description="Prefix of local (99xxx) code systems."
    )


@dataclass(frozen=True, slots=True)
class VisitMessage:
    """One stored visit message of a patient, in receive order (``seq``)."""

    seq: int
    kind: str
    data: bytes
    source_ref: str


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message read off the wire: parsed (or the reason it could not be)."""

    message: Message | None
    kind: str
    error: RecordError | None = None


def read_message(data: bytes) -> Incoming:
    """Decode + parse + data kind (``""`` when MSH-9 is not a type we handle)."""
    try:
        msg = parse_message(decode_message(data))
    except RecordError as exc:
        return Incoming(None, "", exc)
    return Incoming(msg, kind_of(msg))


class MllpConnector:
    name: ClassVar[str] = "mllp"
    Config: ClassVar[type[ConnectorConfig]] = MllpConfig

    def __init__(self, config: MllpConfig | None = None) -> None:
        self.config = config or MllpConfig.model_validate({})
        self.options = ConvertOptions(
            facility_code=self.config.facility_code,
            uri_form="oid" if self.config.jp_core_uri_form == "oid" else "url",
            local_system_base=self.config.local_system_base,
        )

    def _key(self, key: str) -> str:
        fc = self.config.facility_code
        return f"{fc}:{key}" if fc else key

    def record(
        self, data: bytes, incoming: Incoming, control_id: str, peer: str = ""
    ) -> SourceRecord:
        ref = f"mllp:{peer}:{control_id}" if peer else f"mllp:{control_id}"
        fp = SourceRecord.fingerprint_of(data)
        if incoming.message is None:
            err = incoming.error or RecordError("unreadable message", "MSH")
            return SourceRecord(self._key(f"msg/{control_id}"), err, ref, "", fp)
        msg, kind = incoming.message, incoming.kind
        pid = self.patient_of(incoming)
        if kind in MASTER_KINDS:
            order = "-"
        else:
            orc = msg.first("ORC")
            order = (orc.comp(2, 1) if orc is not None else "") or f"msg-{control_id}"
            if kind in ADMINISTRATION_KINDS:
                # an order is administered many times, one RAS^O17 each: the administration
                # time keeps a later notice from replacing the earlier ones (a re-sent or
                # corrected notice of the same administration still replaces it)
                rxa = msg.first("RXA")
                order += f"@{rxa.comp(3, 1) if rxa is not None else control_id}"
        key = self._key(f"{pid or '?'}/{kind}/{order}")
        return SourceRecord(key, (kind, msg), ref, "", fp)

    @staticmethod
    def is_visit(incoming: Incoming) -> bool:
        return incoming.message is not None and incoming.kind in VISIT_KINDS

    @staticmethod
    def patient_of(incoming: Incoming) -> str:
        """PID-3 (else PID-2) of a parsed message; "" when absent."""
        pid_seg = incoming.message.first("PID") if incoming.message is not None else None
        return (pid_seg.comp(3, 1) or pid_seg.comp(2, 1)) if pid_seg is not None else ""

    def visit_key(self, patient: str) -> str:
        return self._key(f"{patient}/visits")

    def visit_record(self, patient: str, messages: list[VisitMessage]) -> SourceRecord:
        """All visit messages of ``patient`` received so far, as one record."""
        fp = SourceRecord.fingerprint_of(*(m.data for m in messages))
        ref = messages[-1].source_ref if messages else ""
        return SourceRecord(self.visit_key(patient), ("visits", patient, messages), ref, "", fp)

    def discover(self, since: str | None = None) -> Any:
        return iter(())  # records arrive over the socket, not by discovery

    def reload(self, source_ref: str) -> SourceRecord | None:
        return None  # the sender keeps the message; a NAK makes it resend

    def convert(self, record: SourceRecord) -> Conversion:
        payload = record.payload
        if isinstance(payload, RecordError):
            raise payload
        if payload[0] == "visits":
            _, patient, messages = payload
            events = [(m.kind, f"{m.seq:012d}", m.data, m.source_ref) for m in messages]
            return convert_visit_messages(
                events, patient_id=patient, options=self.options, record_key=record.key
            )
        kind, msg = payload
        return convert_message(
            msg,
            kind=kind,
            options=self.options,
            source_ref=record.source_ref,
            record_key=record.key,
        )
