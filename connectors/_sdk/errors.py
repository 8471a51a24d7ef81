"""Connector errors say what the caller does next.

- :class:`RetriableError`: a transient problem (source unreachable, file locked): back off, retry.
- :class:`FatalError`: configuration or source is unusable: disable the job and alert.
- :class:`RecordError`: this one record cannot be converted: quarantine it, carry on.

Messages must never contain patient data (names, dates of birth, values): name the record key,
the segment/field (``location``) and the kind of problem only.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class of connector errors."""


class RetriableError(ConnectorError):
    """Transient failure; the sync loop backs off and retries later."""


class FatalError(ConnectorError):
    """Unrecoverable failure of the connector (bad configuration, source gone)."""


class RecordError(ConnectorError):
    """One record cannot be converted; it is quarantined with ``reason`` and ``location``."""

    def __init__(self, reason: str, location: str = "") -> None:
        super().__init__(f"{location}: {reason}" if location else reason)
        self.reason = reason
        self.location = location
