"""FHIR date/dateTime/instant values as half-open UTC ranges ``[start, end)``.

A value carries its own precision: ``2026`` is the whole year, ``2026-09-12`` the whole day,
``2026-09-12T06:00:00+09:00`` that second. Values without a time zone (dates, and dateTimes
written without an offset) are read as Japan time (+09:00): ehr-bridge runs inside a Japanese
hospital, and JP Core data is in JST. Index columns hold naive UTC datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

JST = timezone(timedelta(hours=9), "JST")
MIN_TIME = datetime(1, 1, 2)
MAX_TIME = datetime(9999, 12, 30)

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<frac>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class FhirDateError(ValueError):
    """A date/dateTime string that is not valid FHIR syntax."""


def _add_months(dt: datetime, months: int) -> datetime:
    total = dt.year * 12 + (dt.month - 1) + months
    return dt.replace(year=total // 12, month=total % 12 + 1)


def _tz(text: str | None) -> timezone:
    if text is None:
        return JST
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@lru_cache(maxsize=65536)
def parse_range(value: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in naive UTC for a FHIR date/dateTime/instant string.

    Memoised (bounded): bulk loads index the same dates and times over and over."""
    match = _DATE_RE.match(value.strip())
    if not match:
        raise FhirDateError("not a FHIR date/dateTime")
    g = match.groupdict()
    try:
        tz = _tz(g["tz"])
        year = int(g["y"])
        if g["m"] is None:
            start = datetime(year, 1, 1, tzinfo=tz)
            end = start.replace(year=year + 1)
        elif g["d"] is None:
            start = datetime(year, int(g["m"]), 1, tzinfo=tz)
            end = _add_months(start, 1)
        elif g["H"] is None:
            start = datetime(year, int(g["m"]), int(g["d"]), tzinfo=tz)
            end = start + timedelta(days=1)
        else:
            second = int(g["S"] or 0)
            micro = int(float(g["frac"]) * 1_000_000) if g["frac"] else 0
            start = datetime(
                year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), second, micro, tzinfo=tz
            )
            if g["frac"]:
                end = start + timedelta(microseconds=1)
            elif g["S"] is not None:
                end = start + timedelta(seconds=1)
            else:
                end = start + timedelta(minutes=1)
    except ValueError as exc:
        raise FhirDateError("date out of range") from exc
    return to_naive_utc(start), to_naive_utc(end)


def to_naive_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=JST)
    return dt.astimezone(UTC).replace(tzinfo=None)


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def instant_text(naive_utc: datetime) -> str:
    """FHIR instant text (JST offset) for a naive UTC datetime."""
    aware = naive_utc.replace(tzinfo=UTC).astimezone(JST)
    return aware.isoformat(timespec="milliseconds")
