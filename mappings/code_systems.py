"""Code-system URIs and their aliases (JP Core 1.2 URLs ↔ legacy OIDs).

Real Japanese data names the same code system in several ways: JP Core 1.2 URLs
(``http://medis.or.jp/CodeSystem/master-JLAC10-17digits``) and the legacy OIDs that
JP-CLINS still uses (``urn:oid:1.2.392.200119.4.504``). Everything that compares systems
(search indexing, nl2query term linking, connectors) goes through :func:`canonical_system`,
so a token search matches whichever form the data used. The table is data:
``mappings/data/code_system_aliases.tsv``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

JLAC10 = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits"
JLAC11 = "http://medis.or.jp/CodeSystem/master-JLAC11"
ICD10_JP = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full"
YJ = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code"
HOT9 = "http://medis.or.jp/CodeSystem/master-HOT9"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(alias → canonical, canonical → preferred OID)."""
    text = resources.files("mappings").joinpath("data/code_system_aliases.tsv").read_text("utf-8")
    to_canonical: dict[str, str] = {}
    to_oid: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        canonical, alias = line.split("\t")[:2]
        to_canonical.setdefault(alias, canonical)
        to_canonical.setdefault(canonical, canonical)
        to_oid.setdefault(canonical, alias)
    # Aliases of aliases (two URLs sharing one OID) resolve to the first canonical named.
    return to_canonical, to_oid


def canonical_system(system: str | None) -> str:
    """The canonical URI of ``system`` ("" for none). Unknown systems are returned unchanged."""
    if not system:
        return ""
    return _tables()[0].get(system.strip(), system.strip())


def same_system(a: str | None, b: str | None) -> bool:
    return canonical_system(a) == canonical_system(b)


def system_forms(system: str) -> set[str]:
    """Every URI known to denote the same code system as ``system`` (itself included)."""
    canonical = canonical_system(system)
    forms = {canonical, system}
    for alias, target in _tables()[0].items():
        if target == canonical:
            forms.add(alias)
    return forms


def system_uri(canonical: str, form: Literal["url", "oid"]) -> str:
    """The URI to write for ``canonical`` in the chosen JP Core form (connectors' setting)."""
    canonical = canonical_system(canonical)
    if form == "oid":
        return _tables()[1].get(canonical, canonical)
    return canonical
