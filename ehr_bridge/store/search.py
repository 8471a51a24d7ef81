"""FHIR search over the index tables: parse parameters, build one SQL query, page, include.

Semantics follow FHIR R4 search: repeated parameters AND, comma-separated values OR; token
``[system]|[code]`` (system aliases folded; ``:not``, and ``:below`` as code-prefix match), string prefix match (``:exact``, ``:contains``),
date and quantity prefixes (eq ne lt gt le ge sa eb ap) over half-open ranges, references as
``[Type/]id``; ``_id``, ``_lastUpdated``, ``_sort``, ``_count``/``_offset``, ``_include``,
``_revinclude``, ``_summary=count``, ``_total`` (none, estimate, accurate).

``total`` without ``_total``: given when it costs nothing — on the last (or only) page it is the
offset plus the page — and for ``_count=0``; left out on the earlier pages of a larger result
(FHIR lets the server decide). ``_total=estimate`` counts on every page, exactly up to
``TOTAL_CAP`` matches (left out above); ``_total=accurate`` always counts exactly. Counting the
matches of a broad search costs several times the page itself, so the default does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select

from ehr_bridge.store.errors import BadRequest, UnknownParameter
from ehr_bridge.store.fhirtime import FhirDateError, parse_range
from ehr_bridge.store.indexing import fold_text
from ehr_bridge.store.repository import sqlite_datetime_text
from ehr_bridge.store.search_params import (
    COMMON_PARAMS,
    CONTROL_PARAMS,
    SearchParam,
    params_for,
)
from ehr_bridge.store.tables import idx_reference, resource_table
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


class _Sql:
    """Bind values of one search, named in the driver's own paramstyle.

    Searches are written as SQL text and run through the driver (``exec_driver_sql``): building
    and compiling SQLAlchemy expressions (aliases, clause adaptation, cache keys) cost ~1 ms
    per search, several times the SQL of a selective search itself.
    """

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.values: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        if not self.pg and isinstance(value, datetime):
            value = sqlite_datetime_text(value)  # as SQLAlchemy's SQLite DATETIME
        self.values[name] = value
        return f"%({name})s" if self.pg else f":{name}"

    def in_list(self, values: Sequence[Any]) -> str:
        return "(" + ", ".join(self.bind(v) for v in values) + ")"


def _like_prefix(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(f"({p})" for p in parts) + ")"


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
    """One search parameter as a condition on an index table (``negate`` for ``:not``).

    ``cond`` is SQL text over the index table's columns with ``{a}`` for the table alias.
    """

    table: str
    param_bind: str
    param: str
    cond: str
    rtype_bind: str
    negate: bool = False
    single: bool = False  # at most one index row per resource can match (no DISTINCT needed)

    def negated(self) -> _IndexCond:
        return _IndexCond(
            self.table, self.param_bind, self.param, self.cond, self.rtype_bind, not self.negate
        )

    @property
    def rank(self) -> float:
        if self.param in _LOW_CARDINALITY:
            return 3.5
        return _DRIVE_RANK.get(self.table, 9)

    def on(self, alias: str) -> str:
        return (
            f"{alias}.resource_type = {self.rtype_bind} AND {alias}.param = {self.param_bind} "
            f"AND {self.cond.format(a=alias)}"
        )

    def exists_for(self, pk_col: str, alias: str) -> str:
        """EXISTS (or NOT EXISTS) of a matching index row for the resource ``pk_col``."""
        clause = (
            f"EXISTS (SELECT 1 FROM {self.table} {alias} "
            f"WHERE {alias}.res_pk = {pk_col} AND {self.on(alias)})"
        )
        return f"NOT {clause}" if self.negate else clause


class _Builder:
    def __init__(self, rtype: str, sql: _Sql) -> None:
        self.rtype = rtype
        self.sql = sql
        self.rtype_bind = sql.bind(rtype)

    def _in_index(self, table: str, param: str, cond: str, single: bool = False) -> _IndexCond:
        return _IndexCond(table, self.sql.bind(param), param, cond, self.rtype_bind, single=single)

    def token(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        if modifier not in ("", "not", "below"):
            raise BadRequest(f"modifier :{modifier} is not supported on token parameter {sp.name}")
        b = self.sql.bind

        def code_is(code: str) -> str:
            # :below on the hierarchical code systems served here (ICD-10, YJ, JLAC10) means
            # the code starts with the given one (E11 ⊃ E11.9; YJ 7-char ingredient part).
            if modifier == "below":
                return f"{{a}}.code LIKE {b(_like_prefix(code) + '%')} ESCAPE '/'"
            return f"{{a}}.code = {b(code)}"

        ors = []
        for value in values:
            if "|" in value:
                system, code = value.split("|", 1)
                conds = [f"{{a}}.system = {b(canonical_system(system) if system else '')}"]
                if code:
                    conds.append(code_is(code))
                ors.append(" AND ".join(conds))
            else:
                ors.append(code_is(value))
        # Index rows are unique per (param, system, code) within a resource.
        system, _, code = values[0].partition("|")
        single = len(values) == 1 and modifier == "" and bool(system) and bool(code)
        clause = self._in_index("fhir_idx_token", sp.index_name, _or(ors), single)
        return clause.negated() if modifier == "not" else clause

    def string(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        b = self.sql.bind
        ors = []
        for value in values:
            folded = fold_text(value)
            if not folded:
                raise BadRequest(f"empty value for string parameter {sp.name}")
            if modifier == "exact":
                ors.append(f"{{a}}.value = {b(folded)}")
            elif modifier == "contains":
                ors.append(f"{{a}}.value LIKE {b('%' + _like_prefix(folded) + '%')} ESCAPE '/'")
            elif modifier == "":
                ors.append(
                    f"{{a}}.value >= {b(folded)} AND {{a}}.value < {b(folded + chr(0x10FFFF))}"
                )
            else:
                raise BadRequest(
                    f"modifier :{modifier} is not supported on string parameter {sp.name}"
                )
        return self._in_index("fhir_idx_string", sp.index_name, _or(ors))

    def date_condition(self, start_col: str, end_col: str, raw: str, name: str) -> str:
        prefix, text = _split_prefix(raw)
        try:
            s, e = parse_range(text)
        except FhirDateError as exc:
            raise BadRequest(
                f"{name}: {raw!r} is not a FHIR date (e.g. 2026-09, ge2026-09-01)"
            ) from exc
        b = self.sql.bind
        if prefix == "eq":
            return f"{start_col} >= {b(s)} AND {end_col} <= {b(e)}"
        if prefix == "ne":
            return f"NOT ({start_col} >= {b(s)} AND {end_col} <= {b(e)})"
        if prefix == "lt":
            return f"{start_col} < {b(s)}"
        if prefix == "gt":
            return f"{end_col} > {b(e)}"
        if prefix == "ge":
            return f"{end_col} > {b(s)}"
        if prefix == "le":
            return f"{start_col} < {b(e)}"
        if prefix == "sa":
            return f"{start_col} >= {b(e)}"
        if prefix == "eb":
            return f"{end_col} <= {b(s)}"
        # ap: overlaps the given range
        return f"{start_col} < {b(e)} AND {end_col} > {b(s)}"

    def date(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        if modifier:
            raise BadRequest(f"modifier :{modifier} is not supported on date parameter {sp.name}")
        ors = [self.date_condition("{a}.start", '{a}."end"', v, sp.name) for v in values]
        return self._in_index("fhir_idx_date", sp.index_name, _or(ors))

    def reference(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        b = self.sql.bind
        ors = []
        for value in values:
            value = value.rstrip("/")
            parts = value.split("/")
            if len(parts) >= 2:
                ttype, tid = parts[-2], parts[-1]
                ors.append(f"{{a}}.target_type = {b(ttype)} AND {{a}}.target_id = {b(tid)}")
            elif modifier and _TYPE_RE.match(modifier):
                ors.append(f"{{a}}.target_type = {b(modifier)} AND {{a}}.target_id = {b(value)}")
            elif modifier:
                raise BadRequest(
                    f"modifier :{modifier} is not supported on reference parameter {sp.name}"
                )
            else:
                ors.append(f"{{a}}.target_id = {b(value)}")
        single = len(values) == 1 and "/" in values[0].rstrip("/")
        return self._in_index("fhir_idx_reference", sp.index_name, _or(ors), single)

    def quantity(self, sp: SearchParam, modifier: str, values: list[str]) -> _IndexCond:
        if modifier:
            raise BadRequest(
                f"modifier :{modifier} is not supported on quantity parameter {sp.name}"
            )
        b = self.sql.bind
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
            col = "{a}.value"
            if prefix == "eq":
                cond = f"{col} >= {b(v - half)} AND {col} < {b(v + half)}"
            elif prefix == "ap":
                lo, hi = (v * 0.9, v * 1.1) if v >= 0 else (v * 1.1, v * 0.9)
                cond = f"{col} >= {b(lo)} AND {col} <= {b(hi)}"
            elif prefix == "ne":
                cond = f"({col} < {b(v - half)} OR {col} >= {b(v + half)})"
            else:
                op = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "sa": ">", "eb": "<"}[prefix]
                cond = f"{col} {op} {b(v)}"
            conds = [cond]
            if system:
                conds.append(f"{{a}}.system = {b(canonical_system(system))}")
            if code:
                conds.append(f"{{a}}.code = {b(code)}")
            ors.append(" AND ".join(conds))
        return self._in_index("fhir_idx_quantity", sp.index_name, _or(ors))

    def common(self, name: str, modifier: str, values: list[str]) -> str:
        if modifier:
            raise BadRequest(f"modifier :{modifier} is not supported on {name}")
        if name == "_id":
            return f"r.id IN {self.sql.in_list(values)}"
        return _or(
            [self.date_condition("r.last_updated", "r.last_updated", v, name) for v in values]
        )


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
    sql = _Sql(store.engine.dialect.name)
    builder = _Builder(rtype, sql)
    where: list[str] = [f"r.resource_type = {builder.rtype_bind}", f"r.deleted = {sql.bind(False)}"]
    count, offset = default_count, 0
    sort: list[str] = []
    includes: list[tuple[str, SearchParam, str | None]] = []
    revincludes: list[tuple[str, SearchParam, str | None]] = []
    summary_count = False
    total_mode = "auto"  # see the module doc
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
    only_index = drive is not None and len(where) == 2
    if drive is not None:
        # The other index conditions probe the driving index rows (d.res_pk), so the planner
        # can discard non-matches before fetching any fhir_resource row.
        driven = f"{drive.on('d')}{_probe_sql(probes, 'd.res_pk')}"
        where.append(f"r.pk IN (SELECT d.res_pk FROM {drive.table} d WHERE {driven})")
    else:
        where.extend(c.exists_for("r.pk", f"x{i}") for i, c in enumerate(probes))
    condition = " AND ".join(where)
    order = _order_by(rtype, sort, known, lenient, ignored, sql)
    total: int | None = None
    with store.engine.connect() as conn:

        def scalar(statement: str) -> int:
            return int(conn.exec_driver_sql(statement, sql.values).scalar_one())

        if summary_count or total_mode == "accurate":
            total = scalar(_count_statement(drive, probes, condition, only_index))
        if summary_count:
            return SearchResult(rtype, [], [], total, 0, 0, list(params), ignored, True)
        rows: list[Any] = []
        if count > 0:
            if drive is not None and only_index and not order:
                # The page is decided on the index tables alone (they hold rows of current
                # resources only): the driving index's rows for one code come out in res_pk
                # order (ix_fhir_idx_token_lookup_pk), the other conditions probe them, and the
                # scan stops after the page; only the page's resources are then fetched.
                # Written as `pk IN (...) ORDER BY pk LIMIT`, PostgreSQL collected,
                # de-duplicated and sorted every match first (Observation code + value at 1M:
                # 31 -> 0.5 ms; Condition code + clinical-status 44 -> ~3 ms).
                distinct = "" if drive.single else "DISTINCT "
                stmt = (
                    f"SELECT r.pk, r.content FROM fhir_resource r JOIN "
                    f"(SELECT {distinct}d.res_pk FROM {drive.table} d WHERE {driven} "
                    f"ORDER BY d.res_pk LIMIT {count + 1} OFFSET {offset}) p ON r.pk = p.res_pk "
                    f"ORDER BY r.pk"
                )
            else:
                stmt = (
                    f"SELECT r.pk, r.content FROM fhir_resource r WHERE {condition} "
                    f"ORDER BY {', '.join([*order, 'r.pk'])} LIMIT {count + 1} OFFSET {offset}"
                )
            rows = list(conn.exec_driver_sql(stmt, sql.values).all())
        more = len(rows) > count
        rows = rows[:count]
        if total_mode in ("estimate", "auto"):
            if not more and (rows or offset == 0) and count > 0:
                total = offset + len(rows)  # the last page: no count query needed
            elif total_mode == "estimate" or count == 0:
                # Counting every match of a broad search costs more than the page itself;
                # count up to TOTAL_CAP and leave `total` out above it (FHIR allows that;
                # paging still works, and `_total=accurate` asks for the exact figure).
                n = scalar(_capped_count_statement(drive, probes, condition, only_index))
                total = n if n <= TOTAL_CAP else None
        matches = [orjson.loads(row[1]) for row in rows]
        pks = [row[0] for row in rows]
        included = _included(conn, rtype, pks, matches, includes, revincludes)
    return SearchResult(
        rtype, matches, included, total, offset, count, list(params), ignored, more=more
    )


def _probe_sql(probes: list[_IndexCond], pk_col: str) -> str:
    return "".join(f" AND {c.exists_for(pk_col, f'x{i}')}" for i, c in enumerate(probes))


def _count_statement(
    drive: _IndexCond | None, probes: list[_IndexCond], condition: str, only_index: bool
) -> str:
    if drive is not None and only_index:
        # Only index conditions: count on the index tables alone (they hold rows of
        # current, non-deleted resources only), without touching fhir_resource.
        counted = "d.res_pk" if drive.single else "DISTINCT d.res_pk"
        return (
            f"SELECT count({counted}) FROM {drive.table} d "
            f"WHERE {drive.on('d')}{_probe_sql(probes, 'd.res_pk')}"
        )
    return f"SELECT count(*) FROM fhir_resource r WHERE {condition}"


def _capped_count_statement(
    drive: _IndexCond | None, probes: list[_IndexCond], condition: str, only_index: bool
) -> str:
    cap = TOTAL_CAP + 1
    if drive is not None and only_index:
        distinct = "" if drive.single else "DISTINCT "
        return (
            f"SELECT count(*) FROM (SELECT {distinct}d.res_pk FROM {drive.table} d "
            f"WHERE {drive.on('d')}{_probe_sql(probes, 'd.res_pk')} LIMIT {cap}) s"
        )
    return (
        f"SELECT count(*) FROM (SELECT r.pk FROM fhir_resource r WHERE {condition} LIMIT {cap}) s"
    )


def _order_by(
    rtype: str,
    sort: list[str],
    known: dict[str, SearchParam],
    lenient: bool,
    ignored: list[str],
    sql: _Sql,
) -> list[str]:
    order: list[str] = []
    for key in sort:
        desc = key.startswith("-")
        name = key.lstrip("-")
        if name == "_lastUpdated":
            col = "r.last_updated"
        elif name == "_id":
            col = "r.id"
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
            agg = "max" if desc else "min"
            col = (
                f"(SELECT {agg}(s.start) FROM fhir_idx_date s "
                f"WHERE s.res_pk = r.pk AND s.param = {sql.bind(sp.index_name)})"
            )
        order.append(f"{col} DESC" if desc else f"{col} ASC")
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
        cond = [ref.c.res_pk.in_(pks), ref.c.param == sp.index_name]
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
            ref.c.param == sp.index_name,
            ref.c.target_type == rtype,
            ref.c.target_id.in_(ids),
        )
        add(conn.execute(select(r.c.content).where(r.c.pk.in_(sub), r.c.deleted.is_(False))))
    return out
