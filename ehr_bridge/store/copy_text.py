"""Rows to PostgreSQL's COPY text format, formatted ahead of the COPY.

psycopg formats a COPY row by row while the COPY is open. Formatting a whole batch into one
payload first lets :mod:`ehr_bridge.store.write_behind` send it from a background thread that
needs almost no Python (and so almost no GIL) while the caller goes on. Values are written the
way psycopg's text dumpers write them; a value of another type raises ``TypeError`` and the
caller falls back to psycopg's own COPY. Compiled with the native build (``mappings/_native``).
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Sequence
from typing import Any

# COPY text format escapes (what psycopg's text formatter escapes)
_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}
)
_SPECIAL = ("\\", "\t", "\n", "\r", "\b", "\v", "\f")


def copy_field(value: Any) -> str:
    """One value as a COPY text field (``\\N`` for NULL)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        for ch in _SPECIAL:
            if ch in value:
                return value.translate(_ESCAPES)
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return "NaN" if value.is_nan() else str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def copy_text(rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> bytes:
    """``rows`` as one COPY text payload (one line per row, tab-separated)."""
    lines: list[str] = []
    for row in rows:
        lines.append("\t".join([copy_field(v) for v in row]))
    lines.append("")
    return "\n".join(lines).encode(encoding)
