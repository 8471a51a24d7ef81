"""Every fast leaf check accepts only what the model's own annotation accepts.

Checked against a pydantic ``TypeAdapter`` of the fhir.resources annotation (the very schema the
models use), with hypothesis-generated values around each FHIR type's format and, for the
whitespace rules, every character of the Basic Multilingual Plane.
"""

from __future__ import annotations

import sys
from typing import Any

from fhir.resources.R4B import fhirtypes as ft
from fhir_core.types import Date, DateTime, Instant, Time
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from connectors._sdk import fast_validate as fv

ADAPTERS = {
    name: TypeAdapter(getattr(ft, f"{name[0].upper()}{name[1:]}Type"))
    for name in (
        "string",
        "code",
        "id",
        "uri",
        "url",
        "canonical",
        "markdown",
        "oid",
        "date",
        "dateTime",
        "instant",
        "time",
        "decimal",
        "integer",
        "unsignedInt",
        "positiveInt",
    )  # fmt: skip
}


def model_accepts(kind: str, v: Any) -> bool:
    try:
        ADAPTERS[kind].validate_python(v)
    except Exception:  # noqa: BLE001
        return False
    return True


def fast_accepts(kind: str, v: Any) -> bool:
    if type(v) is bool:
        return False  # as in the derivation: a bool leaf outside a boolean is never cached
    prim = fv._Prim(kind, ADAPTERS[kind]._type)  # type: ignore[attr-defined]
    checks = prim.checks(type(v))
    if checks is None:
        return True
    first, second = checks
    return bool(first(v)) or (second is not None and bool(second(v)))


def agree(kind: str, v: Any) -> None:
    if fast_accepts(kind, v):
        assert model_accepts(kind, v), (kind, v)


def test_whitespace_rules_every_bmp_character() -> None:
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        for v in (c, f"a{c}", f"a{c}b", f"{c}a"):
            agree("string", v)
            agree("code", v)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
def test_text_against_string_code_id_oid(v: str) -> None:
    for kind in ("string", "code", "id", "oid", "uri", "url", "canonical", "markdown"):
        agree(kind, v)


DATEISH = st.one_of(
    st.from_regex(DateTime.pattern, fullmatch=True),
    st.from_regex(Instant.pattern, fullmatch=True),
    st.from_regex(Date.pattern, fullmatch=True),
    st.from_regex(Time.pattern, fullmatch=True),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})?",
        fullmatch=True,
    ),  # fmt: skip
    st.from_regex(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?", fullmatch=True),
    st.dates().map(str),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)


@settings(max_examples=1500, deadline=None)
@given(DATEISH)
def test_dates_and_times(v: str) -> None:
    for kind in ("date", "dateTime", "instant", "time"):
        agree(kind, v)


def test_calendar_edges() -> None:
    for y in (1, 4, 100, 400, 1900, 2000, 2020, 2021, 9999):
        for m in range(1, 13):
            for d in range(26, 33):
                date = f"{y:04d}-{m:02d}-{d:02d}"
                for v in (date, f"{date}T23:59:59Z", f"{date}T00:00:00.123456+14:00"):
                    for kind in ("date", "dateTime", "instant"):
                        agree(kind, v)
                        # and the slow path agrees both ways for valid-format values
                        if model_accepts(kind, v) and fv._STR_CHECKS[kind] is not None:
                            assert fast_accepts(kind, v), (kind, v)


NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**31) - 2, max_value=2**31 + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.from_regex(r"-?[0-9]{1,5}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.booleans(),
)


@settings(max_examples=800, deadline=None)
@given(NUMBERS)
def test_numbers(v: Any) -> None:
    for kind in ("decimal", "integer", "unsignedInt", "positiveInt"):
        agree(kind, v)


def test_integer_bounds_and_huge_decimal() -> None:
    for kind, lo, hi in (("integer", -(2**31), 2**31 - 1), ("unsignedInt", 0, 2**31 - 1),
                         ("positiveInt", 1, 2**31 - 1)):  # fmt: skip
        for v in (lo - 1, lo, hi, hi + 1):
            assert fast_accepts(kind, v) == model_accepts(kind, v) == (lo <= v <= hi)
    huge = 10 ** (sys.get_int_max_str_digits() + 1)
    assert not fast_accepts("decimal", huge)
