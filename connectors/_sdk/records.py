"""Records flowing through a connector: what ``discover`` yields and ``convert`` returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One unit of source data.

    - ``key``: stable identity of the record in the source (e.g. the SS-MIX2 4-tuple). The sync
      loop remembers which resources each key produced, so a new version of the record replaces
      them and a tombstone (``payload is None``) deletes them.
    - ``payload``: the data ``convert`` needs (bytes, text, a dict, or a tuple of named parts);
      ``None`` means the record was deleted at the source.
    - ``source_ref``: where it came from (file path, message control id) for quarantine/audit.
    - ``cursor``: an opaque, monotonically growing position the loop saves after the record.
    - ``fingerprint``: content hash; an unchanged fingerprint lets the loop skip the record.
    """

    key: str
    payload: Any
    source_ref: str = ""
    cursor: str = ""
    fingerprint: str = ""

    @staticmethod
    def fingerprint_of(*parts: bytes) -> str:
        h = hashlib.sha1(usedforsecurity=False)
        for p in parts:
            h.update(len(p).to_bytes(8, "big"))
            h.update(p)
        return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A position in the source reached once every record yielded before it is stored.

    Storage connectors yield one after the records of a folder: ``folder`` (relative to the
    scope) and its ``signature``. The sync loop commits it in the same transaction as (or after)
    those records, so an incremental re-run may skip a folder whose signature is unchanged.
    """

    folder: str
    signature: str


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found while converting.

    ``severity="error"`` on an issue with a ``source_ref`` quarantines that source element (e.g.
    one file of a multi-file record) while the rest of the record is stored; ``"warning"`` is
    reported only. ``location`` is a segment/field path such as ``PID-7``. ``reason`` never holds
    patient data.
    """

    severity: Literal["error", "warning"]
    location: str
    reason: str
    source_ref: str = ""


@dataclass(slots=True)
class Conversion:
    """Result of converting one record: resources (FHIR JSON dicts), issues, and the source
    elements that were present but not used (``unconsumed``, e.g. ``"PID-13"``)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    unconsumed: list[str] = field(default_factory=list)
    #: resources stored only when no resource with that type/id exists yet (e.g. a Patient
    #: built from an order message's PID snapshot: the master record must win). They are not
    #: tracked as produced by the record, so a new record version never deletes them.
    if_absent: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Conversion) -> None:
        self.resources.extend(other.resources)
        self.issues.extend(other.issues)
        self.if_absent.extend(other.if_absent)
        for u in other.unconsumed:
            if u not in self.unconsumed:
                self.unconsumed.append(u)
