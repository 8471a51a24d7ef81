"""Numbers the FHIR store can hold.

The store writes resources as JSON with orjson, which holds integers of at most 64 bits (it
raises on larger ones) and writes NaN/Infinity as ``null``. FHIR's own models accept both
(``decimal`` has no size limit), so without this check one message with a 20-digit dispense
amount passed validation and then made the store's write fail for the whole batch. Validation
(``fhir_models.validate_resource_full``, the sync's structural check) rejects such resources
instead, so they are quarantined with the element named, and converters leave such values out.
"""

from __future__ import annotations

import math
from typing import Any

MAX_STORABLE_INT = 2**63 - 1
UNSTORABLE = "number too large to store (beyond 64-bit integers) or not finite"


def storable_number(value: int | float) -> bool:
    if type(value) is int:
        return -MAX_STORABLE_INT <= value <= MAX_STORABLE_INT
    return math.isfinite(value)


def unstorable_number_path(resource: dict[str, Any]) -> str:
    """The element path of the first number the store cannot hold ("" when none)."""
    stack: list[tuple[str, Any]] = [(str(resource.get("resourceType", "")), resource)]
    while stack:
        path, v = stack.pop()
        t = type(v)
        if t is dict:
            stack.extend((f"{path}.{k}", x) for k, x in v.items())
        elif t is list:
            stack.extend((path, x) for x in v)
        elif (t is int or t is float) and not storable_number(v):
            return path
    return ""
