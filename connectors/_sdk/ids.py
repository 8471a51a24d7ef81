"""The one resource-id function of ehr-bridge connectors.

Rule: ``id = UUIDv5(NAMESPACE, "<connector>|<resource type>|<natural key parts joined by |>")``.
The natural key is what identifies the thing in the source (for SS-MIX2: facility + patient ID
for a Patient, facility + patient ID + data kind + order number + item for orders/results, as in
the JAMI SS-MIX2→FHIR logical-id rules that derive ids from those same fields). UUIDs keep ids
within FHIR's 64-character limit and free of patient IDs (ids appear in URLs and logs). The same
key always yields the same id, so re-runs update instead of duplicating.
"""

from __future__ import annotations

import hashlib
import uuid
from functools import lru_cache

NAMESPACE = uuid.UUID("6f0c3c1e-5b7a-4f4e-9a55-2f1f3c0e8b11")
_NS_BYTES = NAMESPACE.bytes


def resource_id(connector: str, resource_type: str, *key: object) -> str:
    """Deterministic id for a resource of ``resource_type`` with natural ``key``."""
    try:  # the usual case: every key part is a string already
        name = "|".join((connector, resource_type, *key))  # type: ignore[arg-type]
    except TypeError:
        name = "|".join([connector, resource_type, *("" if k is None else str(k) for k in key)])
    return _uuid5(name)


@lru_cache(maxsize=16384)
def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))`` without building UUID objects (a bulk-path hot spot;
    the same keys recur, e.g. every resource's patient reference, hence the bounded cache)."""
    b = bytearray(hashlib.sha1(_NS_BYTES + name.encode("utf-8")).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def reference(resource_type: str, rid: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{rid}"}
