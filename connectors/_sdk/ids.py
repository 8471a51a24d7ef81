"""The one resource-id function of ehr-bridge connectors.

Rule: ``id = UUIDv5(NAMESPACE, "<connector>|<resource type>|<natural key parts joined by |>")``.
The natural key is what identifies the thing in the source (for SS-MIX2: facility + patient ID
for a Patient, facility + patient ID + data kind + order number + item for orders/results, as in
the JAMI SS-MIX2→FHIR logical-id rules that derive ids from those same fields). UUIDs keep ids
within FHIR's 64-character limit and free of patient IDs (ids appear in URLs and logs). The same
key always yields the same id, so re-runs update instead of duplicating.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("6f0c3c1e-5b7a-4f4e-9a55-2f1f3c0e8b11")


def resource_id(connector: str, resource_type: str, *key: object) -> str:
    """Deterministic id for a resource of ``resource_type`` with natural ``key``."""
    name = "|".join([connector, resource_type, *("" if k is None else str(k) for k in key)])
    return str(uuid.uuid5(NAMESPACE, name))


def reference(resource_type: str, rid: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{rid}"}
