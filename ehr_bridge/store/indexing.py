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
from functools import cache, lru_cache
from typing import Any

from ehr_bridge.store.fhirtime import MAX_TIME, MIN_TIME, FhirDateError, parse_range
from ehr_bridge.store.search_params import params_for
from mappings.code_systems import canonical_system

_HIRA_TO_KATA = {code: code + 0x60 for code in range(0x3041, 0x3097)}
MAX_STRING = 255


@lru_cache(maxsize=65536)
def fold_text(text: str) -> str:
    """Normal form for string search: NFKC, case-folded, katakana, no white space (memoised,
    bounded: names and addresses recur in bulk loads)."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_HIRA_TO_KATA)
    return "".join(folded.split())[:MAX_STRING]


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


@cache
def _plan(rtype: str) -> tuple[tuple[str, str, tuple[tuple[str, ...], ...]], ...]:
    """(param name, type, paths) of ``rtype``, built once per type."""
    return tuple(
        (p.name, p.type, tuple(tuple(steps) for steps in p.paths))
        for p in params_for(rtype).values()
        if not p.index_as  # its values are indexed under the parameter it shares rows with
    )


def _values(resource: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> list[Any]:
    """Values at ``paths`` (alternative element paths; lists are flattened at every step)."""
    out: list[Any] = []
    for steps in paths:
        nodes: list[Any] = [resource]
        for step in steps:
            nxt: list[Any] = []
            for node in nodes:
                if type(node) is dict:
                    v = node.get(step)
                    if v is None:
                        continue
                    if type(v) is list:
                        nxt.extend(v)
                    else:
                        nxt.append(v)
            nodes = nxt
            if not nodes:
                break
        out.extend(nodes)
    return out


def _keyed(ptype: str, value: Any) -> list[tuple[Any, ...]]:
    """The index values of one element, in the index table's column order after ``param``."""
    if ptype == "token":
        return [(s[:255], c[:255]) for s, c in token_values(value)]
    if ptype == "reference":
        return list(reference_values(value))
    if ptype == "date":
        return list(date_values(value))
    if ptype == "string":
        return [(v,) for v in string_values(value) if v]
    if ptype == "quantity":
        return list(quantity_values(value))
    return []


def index_rows(resource: dict[str, Any], pk: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Index rows by index kind ("token", "string", ...), each a tuple in its table's column
    order: ``(res_pk, resource_type, param, *values)`` (``res_pk`` is ``pk``)."""
    rtype = resource["resourceType"]
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for name, ptype, paths in _plan(rtype):
        values = _values(resource, paths)
        if not values:
            continue
        seen: set[tuple[Any, ...]] = set()
        for value in values:
            for key in _keyed(ptype, value):
                if key in seen:
                    continue
                seen.add(key)
                bucket = rows.get(ptype)
                if bucket is None:
                    bucket = rows[ptype] = []
                bucket.append((pk, rtype, name, *key))
    return rows
