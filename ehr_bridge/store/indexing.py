"""Extract search-index rows from a FHIR resource (pure; no database access).

String values are folded with :func:`fold_text` (NFKC, case-fold, hiragana → katakana, no
spaces) on both sides of a search, so 「さかもと」, 「ｻｶﾓﾄ」 and 「サカモト」 all match the kana
name. Token systems are stored in canonical form (JP Core URL ↔ OID aliases folded), so a
search matches whichever URI form the data used.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ehr_bridge.store.fhirtime import MAX_TIME, MIN_TIME, FhirDateError, parse_range
from ehr_bridge.store.search_params import SearchParam, params_for
from mappings.code_systems import canonical_system

_HIRA_TO_KATA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
MAX_STRING = 255


def fold_text(text: str) -> str:
    """Normal form for string search: NFKC, case-folded, katakana, no white space."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_HIRA_TO_KATA)
    return "".join(folded.split())[:MAX_STRING]


def _walk(node: Any, steps: list[str]) -> Iterator[Any]:
    if node is None:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, steps)
        return
    if not steps:
        yield node
        return
    if isinstance(node, dict):
        yield from _walk(node.get(steps[0]), steps[1:])


def values_at(resource: dict[str, Any], param: SearchParam) -> Iterator[Any]:
    for steps in param.paths:
        yield from _walk(resource, steps)


def token_values(value: Any) -> Iterator[tuple[str, str]]:
    """(canonical system, code) pairs of a code/Coding/CodeableConcept/Identifier/ContactPoint."""
    if isinstance(value, bool):
        yield "", "true" if value else "false"
    elif isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        if "coding" in value:
            for coding in value.get("coding") or []:
                yield from token_values(coding)
        elif "code" in value:
            yield canonical_system(value.get("system")), str(value["code"])
        elif "value" in value and isinstance(value["value"], str):
            yield canonical_system(value.get("system")), value["value"]


def string_values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield fold_text(value)
    elif isinstance(value, dict):
        parts: list[str] = []
        for key in (
            "text",
            "family",
            "given",
            "prefix",
            "suffix",
            "line",
            "city",
            "district",
            "state",
            "postalCode",
            "country",
        ):
            item = value.get(key)
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, list):
                parts.extend(x for x in item if isinstance(x, str))
        for part in parts:
            yield fold_text(part)
        family, given = value.get("family"), value.get("given")
        if isinstance(family, str) and isinstance(given, list) and given:
            yield fold_text(family + "".join(str(g) for g in given))


def date_values(value: Any) -> Iterator[tuple[datetime, datetime]]:
    try:
        if isinstance(value, str):
            yield parse_range(value)
        elif isinstance(value, dict) and ("start" in value or "end" in value):
            start = parse_range(value["start"])[0] if value.get("start") else MIN_TIME
            end = parse_range(value["end"])[1] if value.get("end") else MAX_TIME
            yield start, end
    except FhirDateError:
        return  # invalid dates are rejected by validation; the index just skips them


def reference_values(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and "/" in ref:
            parts = ref.rstrip("/").split("/")
            if len(parts) >= 4 and parts[-2] == "_history":
                parts = parts[:-2]
            yield parts[-2], parts[-1]


def quantity_values(value: Any) -> Iterator[tuple[float, str, str]]:
    if isinstance(value, dict) and isinstance(value.get("value"), int | float):
        code = value.get("code") or value.get("unit") or ""
        yield float(value["value"]), canonical_system(value.get("system")), str(code)[:64]


def index_rows(resource: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Index rows by index kind ("token", "string", ...), without ``res_pk``."""
    rtype = resource["resourceType"]
    rows: dict[str, list[dict[str, Any]]] = {}
    for param in params_for(rtype).values():
        seen: set[tuple[Any, ...]] = set()
        for value in values_at(resource, param):
            keyed: list[dict[str, Any]] = []
            if param.type == "token":
                keyed = [{"system": s[:255], "code": c[:255]} for s, c in token_values(value)]
            elif param.type == "string":
                keyed = [{"value": v} for v in string_values(value) if v]
            elif param.type == "date":
                keyed = [{"start": s, "end": e} for s, e in date_values(value)]
            elif param.type == "reference":
                keyed = [{"target_type": t, "target_id": i} for t, i in reference_values(value)]
            elif param.type == "quantity":
                keyed = [{"value": v, "system": s, "code": c} for v, s, c in quantity_values(value)]
            for row in keyed:
                key = tuple(row.values())
                if key in seen:
                    continue
                seen.add(key)
                row["resource_type"] = rtype
                row["param"] = param.name
                rows.setdefault(param.type, []).append(row)
    return rows
