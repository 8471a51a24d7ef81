"""The FHIR store. ``open_store(url)`` is the way in: it migrates the schema and wires projections."""

from __future__ import annotations

from ehr_bridge.store.base import create_engine, normalize_db_url
from ehr_bridge.store.errors import StoreError
from ehr_bridge.store.projections import default_projections
from ehr_bridge.store.repository import FhirStore, UpsertStats

__all__ = ["FhirStore", "StoreError", "UpsertStats", "open_store"]

_OPEN: dict[str, FhirStore] = {}


def open_store(url: str, *, migrate: bool = True, cached: bool = False) -> FhirStore:
    """A store on ``url`` with its schema at the newest revision.

    ``cached=True`` reuses one store (and its connection pool) per URL within the process.
    """
    url = normalize_db_url(url)
    if cached and url in _OPEN:
        return _OPEN[url]
    engine = create_engine(url)
    if migrate:
        from ehr_bridge.store.migrate import upgrade

        upgrade(engine)
    store = FhirStore(engine, default_projections())
    if cached:
        _OPEN[url] = store
    return store
