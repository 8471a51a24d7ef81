"""The connector protocol and the entry-point registry.

A connector is one class with:

- ``name``: registry name (``ehr-bridge connectors list``);
- ``Config``: a pydantic model; every field has a ``description`` (``connectors describe``);
- ``__init__(config)``;
- ``discover(since)``: yields :class:`SourceRecord` s — all I/O happens here;
- ``convert(record)``: pure, returns :class:`Conversion`; raises ``RecordError`` for a record
  that cannot be converted (it is quarantined);
- ``reload(source_ref)``: re-reads one record by its ``source_ref`` (``quarantine retry``).

Connectors are found through the ``ehr_bridge.connectors`` entry-point group (built-ins are
registered the same way in ehr-bridge's own ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from connectors._sdk.records import Conversion, SourceRecord

ENTRY_POINT_GROUP = "ehr_bridge.connectors"


class ConnectorConfig(BaseModel):
    """Base of connector configurations (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")


@runtime_checkable
class Connector(Protocol):
    name: ClassVar[str]
    Config: ClassVar[type[ConnectorConfig]]

    def discover(self, since: str | None = None) -> Iterator[SourceRecord]: ...

    def convert(self, record: SourceRecord) -> Conversion: ...

    def reload(self, source_ref: str) -> SourceRecord | None: ...


def available_connectors() -> dict[str, Any]:
    """name → entry point (not loaded) for every registered connector."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_connector_class(name: str) -> Any:
    eps = available_connectors()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none"
        raise KeyError(f"unknown connector {name!r} (registered: {known})")
    return eps[name].load()


def config_fields(cls: Any) -> list[tuple[str, str, str, str]]:
    """(field, type, default, description) of a connector's Config, for ``describe``."""
    out = []
    for fname, f in cls.Config.model_fields.items():
        ann = getattr(f.annotation, "__name__", None) or str(f.annotation)
        default = "(required)" if f.is_required() else repr(f.default)
        out.append((fname, ann.replace("typing.", ""), default, f.description or ""))
    return out
