"""Shape-cached FHIR validation: full validation's verdict at a fraction of its cost.

Full validation (``fhir_models.validate_resource_full``: pydantic models of ``fhir.resources``)
costs ~0.2 ms per resource. Most of that is the same structural work over and over: which keys
a resource has, whether each is a list or a scalar, which choice type is used, which required
elements are present. Converted resources repeat a small number of such structures.

The *shape* of a resource is its JSON tree with every primitive leaf replaced by its JSON kind
(``str``/``int``/``float``/``bool``/``None``), list lengths and key order kept, and the value of
``resourceType`` kept (it selects the model). Everything the models check besides the leaf
values depends only on the shape:

- unknown keys (``extra="forbid"``), list vs scalar, the JSON kind accepted at each leaf;
- ``_validate_one_of_many`` (choice types) and ``_validate_required_primitive_elements`` (a
  required primitive or its ``_field`` extension) look at which fields are non-``None`` and at
  whether an extension list is empty — presence, kinds and list lengths, all in the shape;
- ``reject_null_complex_elements`` looks for ``None`` in lists — in the shape.

So: the first time a shape is seen, the resource is fully validated; if it passes, the models'
field annotations are walked along the resource to find the FHIR primitive type of every leaf,
and the shape is cached with the leaf checks that type needs (grouped by check). A resource of a
known shape is then checked leaf by leaf. Each fast check accepts only values the model accepts
(same regexes as ``fhir_core``, plus the calendar checks its date parsing does); anything a fast
check does not accept — a real error or merely something unusual, such as a leap second — falls
back to full validation, which then gives the verdict and the exact problem messages. A failing
shape is never cached as passing. Whatever this module cannot map (a JSON string where a model
is expected, a field given by both its name and its alias, a non-JSON value) makes the shape
"always fully validated". Leaf types without a hand-written check are checked by a pydantic
``TypeAdapter`` of the field's own annotation (exact, slower).

The cache holds at most ``MAX_SHAPES`` shapes and is cleared when full (memory stays flat).
"""

from __future__ import annotations

import calendar
import math
import operator
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Le
from fhir_core import constraints as fhir_constraints
from fhir_core.types import Date as FhirDate
from fhir_core.types import DateTime as FhirDateTime
from fhir_core.types import Decimal as FhirDecimal
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from fhir_core.types import Instant as FhirInstant
from fhir_core.types import Time as FhirTime
from pydantic import TypeAdapter

from connectors._sdk.storable import storable_number

__all__ = ["MAX_SHAPES", "cache_clear", "cache_info", "fast_validate"]

MAX_SHAPES = 4096

Check = Callable[[Any], Any]
Getter = Callable[[list[Any]], Any]
Compiled = tuple[tuple[Check, Check | None, Getter], ...]


class _Token:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# Structure tokens of a shape key; never equal to a JSON key or kind (identity equality).
_DICT, _LIST, _END = _Token("{"), _Token("["), _Token("]")
_NONE = type(None)


class _Unsupported(Exception):
    """A value that is not JSON (shape walk) or a structure we do not map (derivation)."""


# ---------------------------------------------------------------------------------------------
# Shape walk: one pass collecting the shape key and the str/int/float leaves, in document order.
# ---------------------------------------------------------------------------------------------


def _walk_dict(node: dict[Any, Any], parts: list[Any], leaves: list[Any]) -> None:
    for k, v in node.items():
        t = type(v)
        parts.append(k)
        if t is str:
            if k == "resourceType":
                parts.append(v)  # the value selects the model: part of the shape
            else:
                parts.append(str)
                leaves.append(v)
        elif t is dict:
            parts.append(_DICT)
            _walk_dict(v, parts, leaves)
            parts.append(_END)
        elif t is list:
            parts.append(_LIST)
            _walk_list(v, parts, leaves)
            parts.append(_END)
        elif t is int or t is float:
            if not storable_number(v):
                raise _Unsupported  # full validation names it (see connectors._sdk.storable)
            parts.append(t)
            leaves.append(v)
        elif t is bool or t is _NONE:
            parts.append(t)
        else:
            raise _Unsupported


def _walk_list(node: list[Any], parts: list[Any], leaves: list[Any]) -> None:
    for v in node:
        t = type(v)
        if t is dict:
            parts.append(_DICT)
            _walk_dict(v, parts, leaves)
            parts.append(_END)
        elif t is str:
            parts.append(t)
            leaves.append(v)
        elif t is int or t is float:
            if not storable_number(v):
                raise _Unsupported
            parts.append(t)
            leaves.append(v)
        elif t is list:
            parts.append(_LIST)
            _walk_list(v, parts, leaves)
            parts.append(_END)
        elif t is bool or t is _NONE:
            parts.append(t)
        else:
            raise _Unsupported


# ---------------------------------------------------------------------------------------------
# Leaf checks. Each returns truthy only for values the model accepts for that FHIR type.
# ---------------------------------------------------------------------------------------------

# fhir_core's String: pattern "[ \r\n\t\S]+" searched (unanchored) by pydantic's Rust regex,
# i.e. at least one character that is not Unicode White_Space or is space/CR/LF/TAB. Python's
# \s covers every Unicode White_Space character, so a Python \S is a Rust \S (tested).
_string_ok = re.compile(r"[ \r\n\t\S]").search
# fhir_core's Code: ^[^\s]+(\s[^\s]+)*$ (Rust). Python's \s being the wider class, a Python
# full match implies a Rust match (tested).
_code_ok = re.compile(r"[^\s]+(?:\s[^\s]+)*").fullmatch
_oid_ok = re.compile(r"urn:oid:[0-2](?:\.(?:0|[1-9][0-9]*))+").fullmatch
_DEFAULT_ID = (fhir_constraints.TYPES_ID_MAX_LENGTH, fhir_constraints.TYPES_ID_PATTERN)
_id_ok = re.compile(r"[A-Za-z0-9\-.]{1,255}").fullmatch
_decimal_re = FhirDecimal.pattern
_date_re = FhirDate.pattern
_datetime_re = FhirDateTime.pattern
_instant_re = FhirInstant.pattern
_time_re = FhirTime.pattern


def _decimal_ok(v: Any) -> bool:
    try:
        return _decimal_re.fullmatch(str(v)) is not None
    except ValueError:  # int too large to convert to str: fhir_core fails the same way
        return False


def _day_ok(v: str) -> bool:
    """A full date's day exists in its month (the date parser's check; partial dates skip it)."""
    if len(v) < 10:
        return True
    day = int(v[8:10])
    return day <= 28 or day <= calendar.monthrange(int(v[0:4]), int(v[5:7]))[1]


def _time_part_ok(v: str) -> bool:
    """Fast-accept only what the datetime parser surely takes: no leap second, <= 6 fraction
    digits (both are valid in FHIR and may pass; they go to full validation)."""
    t = v.find("T")
    if t < 0:
        return True
    if v[t + 7 : t + 9] == "60":
        return False
    dot = v.find(".", t)
    if dot < 0:
        return True
    end = dot + 1
    while end < len(v) and v[end].isdigit():
        end += 1
    return end - dot - 1 <= 6


def _date_ok(v: str) -> bool:
    return _date_re.fullmatch(v) is not None and _day_ok(v)


def _datetime_ok(v: str) -> bool:
    return _datetime_re.fullmatch(v) is not None and _day_ok(v) and _time_part_ok(v)


def _instant_ok(v: str) -> bool:
    return _instant_re.fullmatch(v) is not None and _day_ok(v) and _time_part_ok(v)


def _time_ok(v: str) -> bool:
    return _time_re.fullmatch(v) is not None and _time_part_ok("T" + v)


# First-try checks in C (one regex each): fhir_core's date/time patterns narrowed to what needs
# no further check — days that exist in every year (no 29 Feb), seconds 00-59, at most 6
# fraction digits. What they miss is tried by the Python checks above.
_YEAR = r"(?:[0-9](?:[0-9](?:[0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
)
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_ZONE = r"(?:Z|[+\-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_date_fast = re.compile(rf"{_YEAR}(?:-(?:0[1-9]|1[0-2])|-{_MONTH_DAY})?").fullmatch
_datetime_fast = re.compile(
    rf"{_YEAR}(?:-(?:0[1-9]|1[0-2])|-{_MONTH_DAY}(?:T{_CLOCK}{_ZONE})?)?"
).fullmatch
_instant_fast = re.compile(rf"{_YEAR}-{_MONTH_DAY}T{_CLOCK}{_ZONE}").fullmatch
_time_fast = re.compile(_CLOCK).fullmatch


def _int_range(lo: int, hi: int) -> Check:
    def ok(v: int) -> bool:
        return lo <= v <= hi

    return ok


# A leaf check: ``first`` (C-level where possible) accepts the common case; what it does not
# accept is given to ``second`` (None: nothing more to try); what neither accepts goes to full
# validation. Both only accept values the model accepts.
Checks = tuple[Check, Check | None]

# FHIR type of a str leaf → checks; None: the model accepts every string there
# (uri/url/canonical/markdown/xhtml: fhir_core's patterns \S*, \s*(\S|\s)* match any string).
_STR_CHECKS: dict[str, Checks | None] = {
    "string": (_string_ok, None),
    "code": (_code_ok, None),
    "uri": None,
    "url": None,
    "canonical": None,
    "markdown": None,
    "xhtml": None,
    "oid": (_oid_ok, None),
    "date": (_date_fast, _date_ok),
    "dateTime": (_datetime_fast, _datetime_ok),
    "instant": (_instant_fast, _instant_ok),
    "time": (_time_fast, _time_ok),
}
if _DEFAULT_ID == (255, r"^[A-Za-z0-9\-.]+$"):  # otherwise patched: TypeAdapter checks ids
    _STR_CHECKS["id"] = (_id_ok, None)
# decimal: fhir_core matches its pattern against str(value); str() of a finite float always
# matches, of an int too (unless it has too many digits to convert).
_DECIMAL_CHECKS: dict[type, Checks] = {
    float: (math.isfinite, None),
    int: (_decimal_ok, None),
    str: (_decimal_re.fullmatch, None),
}
_INTEGER_KINDS = ("integer", "unsignedInt", "positiveInt", "integer64")


# ---------------------------------------------------------------------------------------------
# Field specs from the models' annotations.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prim:
    kind: str  # FHIR primitive type name (fhir_core __visit_name__), "boolean", "str"
    annotation: Any  # the element annotation, for the exact TypeAdapter check

    def checks(self, pytype: type) -> Checks | None:
        """Checks of a leaf of JSON kind ``pytype``; None: every value is accepted."""
        if pytype is str and self.kind in _STR_CHECKS:
            return _STR_CHECKS[self.kind]
        if pytype is str and self.kind == "str":
            return None
        if pytype is int and self.kind in _INTEGER_KINDS:
            return (_int_range(*_bounds(self.annotation)), None)
        if self.kind == "decimal" and pytype in _DECIMAL_CHECKS:
            return _DECIMAL_CHECKS[pytype]
        return (_adapter_check(self.annotation), None)


@dataclass(frozen=True)
class _Model:
    cls: Any


@dataclass(frozen=True)
class _AnyResource:
    pass


@dataclass(frozen=True)
class _Field:
    name: str
    is_list: bool
    inner: _Prim | _Model | _AnyResource
    str_or_list: bool = False  # fhir_comments: str | list[str]


def _bounds(annotation: Any) -> tuple[int, int]:
    lo, hi = -(2**31), 2**31 - 1
    for meta in typing.get_args(annotation)[1:]:
        for m in meta if isinstance(meta, typing.Iterable) else (meta,):
            if isinstance(m, Ge):
                lo = max(lo, int(m.ge))  # type: ignore[call-overload]
            elif isinstance(m, Le):
                hi = min(hi, int(m.le))  # type: ignore[call-overload]
    return lo, hi


_ADAPTERS: dict[Any, Check] = {}


def _adapter_check(annotation: Any) -> Check:
    """Exact check by the field's own annotation (for leaf types without a fast check)."""
    key = repr(annotation)
    chk = _ADAPTERS.get(key)
    if chk is None:
        adapter = TypeAdapter(annotation)

        def chk(v: Any) -> bool:
            try:
                adapter.validate_python(v)
            except Exception:  # noqa: BLE001 - any failure: let full validation judge
                return False
            return True

        _ADAPTERS[key] = chk
    return chk


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not _NONE]
        if len(args) == 1:
            return args[0]
    return annotation


def _inner_spec(annotation: Any) -> _Prim | _Model | _AnyResource:
    if annotation is bool:
        return _Prim("boolean", bool)
    if annotation is str:
        return _Prim("str", str)
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        model = annotation.get_model_klass()
        if issubclass(annotation, FhirElementOrResourceBase):
            if model.__name__ != "Resource":
                raise _Unsupported
            return _AnyResource()
        return _Model(model)
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            name = getattr(meta, "__visit_name__", None)
            if isinstance(name, str):
                return _Prim(name, annotation)
        return _Prim("other", annotation)
    return _Prim("other", annotation)  # e.g. uuid: checked by TypeAdapter


def _field_spec(name: str, annotation: Any) -> _Field | None:
    ann = _strip_optional(annotation)
    args = typing.get_args(ann)
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        if set(args) - {_NONE} == {str, typing.List[str]}:  # noqa: UP006 - as annotated
            return _Field(name, False, _Prim("str", str), str_or_list=True)
        return None
    if typing.get_origin(ann) is list:
        item = _strip_optional(args[0])
        return _Field(name, True, _inner_spec(item))
    return _Field(name, False, _inner_spec(ann))


_FIELD_MAPS: dict[Any, dict[str, _Field | None]] = {}


def _field_map(cls: Any) -> dict[str, _Field | None]:
    """JSON key (alias, or field name: ``populate_by_name``) → field spec; None: unmappable."""
    fmap = _FIELD_MAPS.get(cls)
    if fmap is None:
        fmap = {}
        for name, info in cls.model_fields.items():
            try:
                spec = _field_spec(name, info.annotation)
            except _Unsupported:
                spec = None
            fmap[name] = spec
            if info.alias:
                fmap[info.alias] = spec
        _FIELD_MAPS[cls] = fmap
    return fmap


# ---------------------------------------------------------------------------------------------
# Derivation: the check for every leaf of a (fully validated) resource, in walk order.
# ---------------------------------------------------------------------------------------------


def _derive_dict(cls: Any, node: dict[Any, Any], out: list[Checks | None]) -> None:
    fmap = _field_map(cls)
    seen: set[str] = set()
    for k, v in node.items():
        if k == "resourceType" and type(v) is str:
            if not cls.has_resource_base() or v != cls.__resource_type__:
                raise _Unsupported
            continue
        spec = fmap.get(k)
        if spec is None or spec.name in seen:
            raise _Unsupported
        seen.add(spec.name)
        if spec.str_or_list:
            items = v if type(v) is list else [v]
            for item in items:
                if type(item) is not str:
                    raise _Unsupported
                out.append(None)
        elif spec.is_list:
            if type(v) is not list:
                raise _Unsupported
            for item in v:
                _derive_item(spec.inner, item, out)
        else:
            _derive_item(spec.inner, v, out)


def _derive_item(inner: _Prim | _Model | _AnyResource, v: Any, out: list[Checks | None]) -> None:
    t = type(v)
    if t is _NONE:
        return  # accepted by the full validation of this shape; not a leaf
    if isinstance(inner, _Prim):
        if t is bool:
            if inner.kind != "boolean":
                raise _Unsupported  # bool where e.g. an integer is expected: always full
            return
        if t not in (str, int, float):
            raise _Unsupported
        out.append(inner.checks(t))
        return
    if t is not dict:
        raise _Unsupported  # e.g. a JSON string given for a model
    if isinstance(inner, _Model):
        _derive_dict(inner.cls, v, out)
        return
    rtype = v.get("resourceType")
    if type(rtype) is not str:
        raise _Unsupported
    from connectors._sdk.fhir_models import model_class

    cls = model_class(rtype)
    if not cls.has_resource_base():
        raise _Unsupported
    _derive_dict(cls, v, out)


def _one(i: int) -> Callable[[list[Any]], tuple[Any]]:
    def get(leaves: list[Any]) -> tuple[Any]:
        return (leaves[i],)

    return get


def _compile(resource: dict[str, Any], n_leaves: int) -> Compiled | None:
    """The grouped leaf checks of a fully validated resource; None: shape not mappable."""
    from connectors._sdk.fhir_models import model_class

    out: list[Checks | None] = []
    try:
        _derive_dict(model_class(resource["resourceType"]), resource, out)
    except (_Unsupported, KeyError):
        return None
    if len(out) != n_leaves:  # defensive: derivation and walk disagree
        return None
    groups: dict[Checks, list[int]] = {}
    for i, chks in enumerate(out):
        if chks is not None:
            groups.setdefault(chks, []).append(i)
    return tuple(
        (first, second, operator.itemgetter(*idx) if len(idx) > 1 else _one(idx[0]))
        for (first, second), idx in groups.items()
    )


# ---------------------------------------------------------------------------------------------
# The validator.
# ---------------------------------------------------------------------------------------------

_FULL_ALWAYS = _Token("full")  # a shape this module cannot map: always fully validated
_CACHE: dict[tuple[Any, ...], Compiled | _Token] = {}
_STATS = {"hits": 0, "misses": 0, "fallbacks": 0, "unmappable": 0, "clears": 0}
_full: Callable[[dict[str, Any]], list[str]] | None = None


def _full_validate(resource: dict[str, Any]) -> list[str]:
    global _full
    if _full is None:
        from connectors._sdk.fhir_models import validate_resource_full

        _full = validate_resource_full
    return _full(resource)


def fast_validate(resource: dict[str, Any]) -> list[str]:
    """Validation problems of a resource as ``path: message`` strings ([] when valid).

    Same verdict and, for invalid resources, the same messages as
    ``fhir_models.validate_resource_full`` (which produces them); never quotes values.
    """
    if type(resource) is not dict:
        return _full_validate(resource)
    parts: list[Any] = []
    leaves: list[Any] = []
    try:
        _walk_dict(resource, parts, leaves)
    except _Unsupported:
        _STATS["unmappable"] += 1
        return _full_validate(resource)
    key = tuple(parts)
    compiled = _CACHE.get(key)
    if compiled is not None:
        if compiled is _FULL_ALWAYS:
            _STATS["unmappable"] += 1
            return _full_validate(resource)
        _STATS["hits"] += 1
        for first, second, get in compiled:  # type: ignore[union-attr]
            values = get(leaves)
            if not all(map(first, values)) and (second is None or not all(map(second, values))):
                _STATS["fallbacks"] += 1
                return _full_validate(resource)
        return []
    _STATS["misses"] += 1
    problems = _full_validate(resource)
    if problems:
        return problems  # never cache a failing shape
    if len(_CACHE) >= MAX_SHAPES:
        _CACHE.clear()
        _STATS["clears"] += 1
    built = _compile(resource, len(leaves))
    _CACHE[key] = _FULL_ALWAYS if built is None else built
    return []


def cache_info() -> dict[str, int]:
    """Counters since the last :func:`cache_clear`: ``hits`` (known shape, leaf-checked),
    ``misses`` (new shape, fully validated), ``fallbacks`` (hits whose leaf check failed, so
    fully validated), ``unmappable`` (always fully validated), ``clears``, ``size``."""
    return {**_STATS, "size": len(_CACHE)}


def cache_clear() -> None:
    """Forget every shape and reset the counters."""
    _CACHE.clear()
    for k in _STATS:
        _STATS[k] = 0
