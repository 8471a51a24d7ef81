"""Connector SDK: protocol, records, ids, errors, FHIR model import point, test harness."""

from connectors._sdk.base import (
    ENTRY_POINT_GROUP,
    Connector,
    ConnectorConfig,
    available_connectors,
    config_fields,
    load_connector_class,
)
from connectors._sdk.canonical import canonical_json
from connectors._sdk.errors import ConnectorError, FatalError, RecordError, RetriableError
from connectors._sdk.ids import reference, resource_id
from connectors._sdk.records import Checkpoint, Conversion, Issue, SourceRecord

__all__ = [
    "Checkpoint",
    "ENTRY_POINT_GROUP",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "Conversion",
    "FatalError",
    "Issue",
    "RecordError",
    "RetriableError",
    "SourceRecord",
    "available_connectors",
    "canonical_json",
    "config_fields",
    "load_connector_class",
    "reference",
    "resource_id",
]
