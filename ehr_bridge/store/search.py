"""FHIR search over the index tables: parse parameters, build one SQL query, page, include.

Semantics follow FHIR R4 search: repeated parameters AND, comma-separated values OR; token
``[system]|[code]`` (system aliases folded; ``:not``, and ``:below`` as code-prefix match), string prefix match (``:exact``, ``:contains``),
date and quantity prefixes (eq ne lt gt le ge sa eb ap) over half-open ranges, references as
``[Type/]id``; ``_id``, ``_lastUpdated``, ``_sort``, ``_count``/``_offset``, ``_include``,
``_revinclude``, ``_summary=count``, ``_total=none``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import ColumnElement, and_, distinct, exists, func, not_, or_, select
from sqlalchemy.sql.util import ClauseAdapter

from ehr_bridge.store.errors import BadRequest, UnknownParameter
from ehr_bridge.store.fhirtime import FhirDateError, parse_range
from ehr_bridge.store.indexing import fold_text
from ehr_bridge.store.search_params import (
    COMMON_PARAMS,
    CONTROL_PARAMS,
    SearchParam,
    params_for,
)
from ehr_bridge.store.tables import (
    idx_date,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    resource_table,
)
from mappings.code_systems import canonical_system

if TYPE_CHECKING:
    from ehr_bridge.store.repository import FhirStore

DEFAULT_COUNT = 50
TOTAL_CAP = 1000  # `total` is exact up to this many matches unless _total=accurate
MAX_COUNT = 1000
_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap")
_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]+$")


@dataclass
class SearchResult:
    resource_type: str
    matches: list[dict[str, Any]]
    included: list[dict[str, Any]]
    total: int | None
    offset: int
    count: int
    params: list[tuple[str, str]]
    ignored: list[str] = field(default_factory=list)
    summary_count: bool = False
    more: bool = False  # a row beyond this page exists

    @property
    def has_next(self) -> bool:
        if self.total is not None:
            return self.offset + self.count < self.total
        return self.more


def _split_prefix(value: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2] in _PREFIXES and (value[2].isdigit() or value[2] in "-+."):
        return value[:2], value[2:]
    return "eq", value


def _split_values(raw: str) -> list[str]:
    """Comma-separated OR values; ``\\,`` escapes a comma."""
    parts, buf, escape = [], [], False
    for ch in raw:
        if escape:
            buf.append(ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


# Most selective first: the index condition that drives the query (the others are EXISTS
# probes per candidate row). A heuristic, since SQLite does not reorder IN/EXISTS subqueries.
_DRIVE_RANK = {
    "fhir_idx_reference": 0,
    "fhir_idx_token": 1,
    "fhir_idx_string": 2,
    "fhir_idx_quantity": 3,
    "fhir_idx_date": 4,
}
# Token parameters over a handful of values (status, class, gender ...) match a large share of
# all resources: they drive only ahead of a date (an open date range scans every earlier row of
# the date index, which is worse).
_LOW_CARDINALITY = {
    "status",
    "class",
    "gender",
    "category",
    "clinical-status",
    "verification-status",
}


@dataclass(frozen=True)
class _IndexCond:
    """One search parameter as a condition on an index table (``negate`` for ``:not``)."""

    rtype: str
    table: Any
    param: str
    cond: ColumnElement[bool]
    negate: bool = False

    def negated(self) -> _IndexCond:
        return _IndexCond(self.rtype, self.table, self.param, self.cond, not self.negate)

    @property
    def rank(self) -> float:
        if self.param in _LOW_CARDINALITY:
            return 3.5
        return _DRIVE_RANK.get(self.table.name, 9)

    def _on(self, alias: Any) -> list[ColumnElement[bool]]:
        return [
            alias.c.resource_type == self.rtype,
            alias.c.param == self.param,
            ClauseAdapter(alias).traverse(self.cond),
        ]

    def exists_for(self, pk_col: Any) -> ColumnElement[bool]:
        """EXISTS (or NOT EXISTS) of a matching index row for the resource ``pk_col``."""
        alias = self.table.alias()
        clause = exists().where(alias.c.res_pk == pk_col, *self._on(alias))
        return not_(clause) if self.negate else clause

    def driving(self) -> tuple[Any, ColumnElement[bool]]:
        """(alias, conditions) to drive a query from this index."""
        alias = self.table.alias()
        return alias, and_(*self._on(alias))


class _Builder:
    def __init__(self, rtype: str) -> None:
        self.rtype = rtype
        self.r = resource_table

    def _in_index(self, table: Any, param: str, cond: ColumnElement[bool]) -> _IndexCond:
        return _IndexCond(self.rtype, table, param, cond)

    def token(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        if modifier not in ("", "not", "below"):
            raise BadRequest(f"modifier :{modifier} is not supported on token parameter {sp.name}")
        t = idx_token

        def code_is(code: str) -> ColumnElement[bool]:
            # :below on the hierarchical code systems served here (ICD-10, YJ, JLAC10) means
            # the code starts with the given one (E11 ⊃ E11.9; YJ 7-char ingredient part).
            if modifier == "below":
                return t.c.code.startswith(code, autoescape=True)
            return t.c.code == code

        ors = []
        for value in values:
            if "|" in value:
                system, code = value.split("|", 1)
                conds = []
                if system:
                    conds.append(t.c.system == canonical_system(system))
                else:
                    conds.append(t.c.system == "")
                if code:
                    conds.append(code_is(code))
                ors.append(and_(*conds))
            else:
                ors.append(code_is(value))
        clause = self._in_index(t, sp.name, or_(*ors))
        return clause.negated() if modifier == "not" else clause

    def string(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        t = idx_string
        ors = []
        for value in values:
            folded = fold_text(value)
            if not folded:
                raise BadRequest(f"empty value for string parameter {sp.name}")
            if modifier == "exact":
                ors.append(t.c.value == folded)
            elif modifier == "contains":
                ors.append(t.c.value.contains(folded, autoescape=True))
            elif modifier == "":
                ors.append(and_(t.c.value >= folded, t.c.value < folded + "\U0010ffff"))
            else:
                raise BadRequest(
                    f"modifier :{modifier} is not supported on string parameter {sp.name}"
                )
        return self._in_index(t, sp.name, or_(*ors))

    @staticmethod
    def date_condition(start_col: Any, end_col: Any, raw: str, name: str) -> ColumnElement[bool]:
        prefix, text = _split_prefix(raw)
        try:
            s, e = parse_range(text)
        except FhirDateError as exc:
            raise BadRequest(
                f"{name}: {raw!r} is not a FHIR date (e.g. 2026-09, ge2026-09-01)"
            ) from exc
        cond: ColumnElement[bool]
        if prefix == "eq":
            cond = and_(start_col >= s, end_col <= e)
        elif prefix == "ne":
            cond = not_(and_(start_col >= s, end_col <= e))
        elif prefix == "lt":
            cond = start_col < s
        elif prefix == "gt":
            cond = end_col > e
        elif prefix == "ge":
            cond = end_col > s
        elif prefix == "le":
            cond = start_col < e
        elif prefix == "sa":
            cond = start_col >= e
        elif prefix == "eb":
            cond = end_col <= s
        else:  # ap: overlaps the given range
            cond = and_(start_col < e, end_col > s)
        return cond

    def date(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        if modifier:
            raise BadRequest(f"modifier :{modifier} is not supported on date parameter {sp.name}")
        t = idx_date
        ors = [self.date_condition(t.c.start, t.c.end, v, sp.name) for v in values]
        return self._in_index(t, sp.name, or_(*ors))

    def reference(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        t = idx_reference
        ors = []
        for value in values:
            value = value.rstrip("/")
            parts = value.split("/")
            if len(parts) >= 2:
                ttype, tid = parts[-2], parts[-1]
                ors.append(and_(t.c.target_type == ttype, t.c.target_id == tid))
            elif modifier and _TYPE_RE.match(modifier):
                ors.append(and_(t.c.target_type == modifier, t.c.target_id == value))
            elif modifier:
                raise BadRequest(
                    f"modifier :{modifier} is not supported on reference parameter {sp.name}"
                )
            else:
                ors.append(t.c.target_id == value)
        return self._in_index(t, sp.name, or_(*ors))

    def quantity(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        if modifier:
            raise BadRequest(
                f"modifier :{modifier} is not supported on quantity parameter {sp.name}"
            )
        t = idx_quantity
        ors = []
        for raw in values:
            number, system, code = (raw.split("|") + ["", ""])[:3]
            prefix, text = _split_prefix(number)
            try:
                dec = Decimal(text)
            except InvalidOperation as exc:
                raise BadRequest(
                    f"{sp.name}: {raw!r} is not a quantity (e.g. ge7.0, 7.0|http://unitsofmeasure.org|%)"
                ) from exc
            v = float(dec)
            exponent = dec.as_tuple().exponent
            half = 0.5 * 10 ** (exponent if isinstance(exponent, int) else 0)
            col = t.c.value
            cond = {
                "eq": and_(col >= v - half, col < v + half),
                "ap": and_(col >= v * 0.9, col <= v * 1.1)
                if v >= 0
                else and_(col <= v * 0.9, col >= v * 1.1),
                "ne": or_(col < v - half, col >= v + half),
                "lt": col < v,
                "le": col <= v,
                "gt": col > v,
                "ge": col >= v,
                "sa": col > v,
                "eb": col < v,
            }[prefix]
            conds = [cond]
            if system:
                conds.append(t.c.system == canonical_system(system))
            if code:
                conds.append(t.c.code == code)
            ors.append(and_(*conds))
        return self._in_index(t, sp.name, or_(*ors))

    def common(self, name: str, modifier: str, values: list[str]) -> ColumnElement[bool]:
        if modifier:
            raise BadRequest(f"modifier :{modifier} is not supported on {name}")
        if name == "_id":
            return self.r.c.id.in_(values)
        ors = [
            self.date_condition(self.r.c.last_updated, self.r.c.last_updated, v, name)
            for v in values
        ]
        return or_(*ors)


def _int_param(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, got {raw!r}") from exc
    if value < lo:
        raise BadRequest(f"{name} must be ≥ {lo}")
    return min(value, hi)


def _parse_include(raw: str, name: str) -> tuple[str, SearchParam, str | None]:
    parts = raw.split(":")
    if len(parts) not in (2, 3):
        raise BadRequest(f"{name}={raw!r}: expected SourceType:param[:TargetType]")
    src, pname = parts[0], parts[1]
    sp = params_for(src).get(pname)
    if sp is None or sp.type != "reference":
        raise BadRequest(f"{name}={raw!r}: {src} has no reference search parameter {pname!r}")
    target = parts[2] if len(parts) == 3 else None
    return src, sp, target


def run_search(
    store: FhirStore,
    rtype: str,
    params: Sequence[tuple[str, str]],
    *,
    lenient: bool = False,
    default_count: int = DEFAULT_COUNT,
    max_count: int = MAX_COUNT,
) -> SearchResult:
    if not _TYPE_RE.match(rtype):
        raise BadRequest(f"{rtype!r} is not a resource type")
    known = params_for(rtype)
    builder = _Builder(rtype)
    r = resource_table
    where: list[ColumnElement[bool]] = [r.c.resource_type == rtype, r.c.deleted.is_(False)]
    count, offset = default_count, 0
    sort: list[str] = []
    includes: list[tuple[str, SearchParam, str | None]] = []
    revincludes: list[tuple[str, SearchParam, str | None]] = []
    summary_count = False
    total_mode = "estimate"
    ignored: list[str] = []
    index_conds: list[_IndexCond] = []
    for raw_name, raw_value in params:
        name, _, modifier = raw_name.partition(":")
        if name in CONTROL_PARAMS:
            if name == "_count":
                count = _int_param("_count", raw_value, 0, max_count)
            elif name == "_offset":
                offset = _int_param("_offset", raw_value, 0, 10**9)
            elif name == "_sort":
                sort.extend(s for s in raw_value.split(",") if s)
            elif name == "_include":
                includes.append(_parse_include(raw_value, "_include"))
            elif name == "_revinclude":
                revincludes.append(_parse_include(raw_value, "_revinclude"))
            elif name == "_summary":
                if raw_value == "count":
                    summary_count = True
                elif raw_value not in ("false",):
                    if not lenient:
                        raise BadRequest(f"_summary={raw_value} is not supported (count, false)")
                    ignored.append(f"_summary={raw_value}")
            elif name == "_total":
                if raw_value not in ("none", "estimate", "accurate"):
                    raise BadRequest(
                        f"_total={raw_value} is not supported (none, estimate, accurate)"
                    )
                total_mode = raw_value
            continue
        values = _split_values(raw_value)
        if any(v == "" for v in values):
            raise BadRequest(f"parameter {raw_name} has an empty value")
        if name in COMMON_PARAMS:
            where.append(builder.common(name, modifier, values))
            continue
        sp = known.get(name)
        if sp is None:
            if lenient:
                ignored.append(raw_name)
                continue
            supported = ", ".join(sorted([*known, *COMMON_PARAMS])) or "_id, _lastUpdated"
            raise UnknownParameter(
                f"unknown search parameter {raw_name!r} for {rtype} (supported: {supported})"
            )
        index_conds.append(getattr(builder, sp.type)(sp, modifier, values))

    # One positive index condition drives (pk IN its rows); the others are EXISTS probes.
    positive = sorted((c for c in index_conds if not c.negate), key=lambda c: c.rank)
    drive = positive[0] if positive else None
    probes = [c for c in index_conds if c is not drive]
    if drive is not None:
        d, d_cond = drive.driving()
        where.append(r.c.pk.in_(select(d.c.res_pk).where(d_cond)))
    where.extend(c.exists_for(r.c.pk) for c in probes)
    condition = and_(*where)
    total: int | None = None
    with store.engine.connect() as conn:
        if summary_count or total_mode == "accurate":
            total = int(
                conn.execute(_count_statement(drive, probes, where, condition)).scalar_one()
            )
        elif total_mode == "estimate":
            # Counting every match of a broad search costs more than the page itself; count up
            # to TOTAL_CAP and leave `total` out above it (FHIR allows that; paging still works,
            # and `_total=accurate` asks for the exact figure).
            capped = select(r.c.pk).where(condition).limit(TOTAL_CAP + 1).subquery()
            n = int(conn.execute(select(func.count()).select_from(capped)).scalar_one())
            total = n if n <= TOTAL_CAP else None
        if summary_count:
            return SearchResult(rtype, [], [], total, 0, 0, list(params), ignored, True)
        stmt = select(r.c.pk, r.c.content).where(condition)
        stmt = stmt.order_by(*_order_by(rtype, sort, known, lenient, ignored), r.c.pk)
        stmt = stmt.limit(count + 1).offset(offset)
        rows = conn.execute(stmt).all() if count > 0 else []
        more = len(rows) > count
        rows = rows[:count]
        matches = [orjson.loads(row.content) for row in rows]
        pks = [row.pk for row in rows]
        included = _included(conn, rtype, pks, matches, includes, revincludes)
    return SearchResult(
        rtype, matches, included, total, offset, count, list(params), ignored, more=more
    )


def _count_statement(drive: Any, probes: list[Any], where: list[Any], condition: Any) -> Any:
    r = resource_table
    if drive is not None and len(where) == 3 + len(probes):
        # Only index conditions: count on the index tables alone (they hold rows of
        # current, non-deleted resources only), without touching fhir_resource.
        d, d_cond = drive.driving()
        return select(func.count(distinct(d.c.res_pk))).where(
            d_cond, *(c.exists_for(d.c.res_pk) for c in probes)
        )
    return select(func.count()).select_from(r).where(condition)


def _order_by(
    rtype: str, sort: list[str], known: dict[str, SearchParam], lenient: bool, ignored: list[str]
) -> list[Any]:
    r = resource_table
    order: list[Any] = []
    for key in sort:
        desc = key.startswith("-")
        name = key.lstrip("-")
        if name == "_lastUpdated":
            col: Any = r.c.last_updated
        elif name == "_id":
            col = r.c.id
        else:
            sp = known.get(name)
            if sp is None or sp.type != "date":
                if lenient:
                    ignored.append(f"_sort={key}")
                    continue
                raise BadRequest(
                    f"_sort={key}: {rtype} cannot be sorted by {name!r} "
                    f"(sortable: _id, _lastUpdated, "
                    f"{', '.join(n for n, p in known.items() if p.type == 'date')})"
                )
            agg = func.max(idx_date.c.start) if desc else func.min(idx_date.c.start)
            col = (
                select(agg)
                .where(idx_date.c.res_pk == r.c.pk, idx_date.c.param == name)
                .scalar_subquery()
            )
        order.append(col.desc() if desc else col.asc())
    return order


def _included(
    conn: Any,
    rtype: str,
    pks: list[int],
    matches: list[dict[str, Any]],
    includes: list[tuple[str, SearchParam, str | None]],
    revincludes: list[tuple[str, SearchParam, str | None]],
) -> list[dict[str, Any]]:
    if not pks:
        return []
    r = resource_table
    seen = {(m["resourceType"], m["id"]) for m in matches}
    out: list[dict[str, Any]] = []

    def add(rows: Any) -> None:
        for row in rows:
            res = orjson.loads(row.content)
            key = (res["resourceType"], res["id"])
            if key not in seen:
                seen.add(key)
                out.append(res)

    ref = idx_reference
    for src, sp, target in includes:
        if src != rtype:
            continue
        cond = [ref.c.res_pk.in_(pks), ref.c.param == sp.name]
        if target:
            cond.append(ref.c.target_type == target)
        targets = conn.execute(
            select(ref.c.target_type, ref.c.target_id).where(*cond).distinct()
        ).all()
        by_type: dict[str, list[str]] = {}
        for ttype, tid in targets:
            by_type.setdefault(ttype, []).append(tid)
        for ttype, ids in by_type.items():
            add(
                conn.execute(
                    select(r.c.content).where(
                        r.c.resource_type == ttype, r.c.id.in_(ids), r.c.deleted.is_(False)
                    )
                )
            )
    for src, sp, target in revincludes:
        if target and target != rtype:
            continue
        ids = [m["id"] for m in matches]
        sub = select(ref.c.res_pk).where(
            ref.c.resource_type == src,
            ref.c.param == sp.name,
            ref.c.target_type == rtype,
            ref.c.target_id.in_(ids),
        )
        add(conn.execute(select(r.c.content).where(r.c.pk.in_(sub), r.c.deleted.is_(False))))
    return out
