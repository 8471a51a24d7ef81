"""The FHIR store: versioned resources, search indexes and projections, in one transaction per write."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from ehr_bridge.store import write_behind
from ehr_bridge.store.copy_text import copy_text
from ehr_bridge.store.errors import Gone, NotFound, VersionConflict
from ehr_bridge.store.fhirtime import instant_text, now_utc
from ehr_bridge.store.indexing import index_rows
from ehr_bridge.store.projections import Projection
from ehr_bridge.store.tables import INDEX_TABLES, history_table, resource_table

_CHUNK = 500
# resources written together by upsert_many: all looked up first (_CHUNK ids per IN list), then
# written, so a sync batch's inserts all follow its reads (ehr_bridge.store.write_behind)
_UPSERT_CHUNK = 20_000

# One index probe per id on PostgreSQL. ``type = ? AND id IN (500 ids)`` was planned as a
# bitmap scan over every row of the type whenever the statistics were stale — always, during
# a bulk load into a fresh table (autovacuum had not analyzed fhir_resource once by 600k
# rows): 360 ms per chunk at 600k Observations, growing with the table. The LATERAL ... LIMIT 1
# cannot be flattened into a hash join, so each id is a probe of uq_fhir_resource_type_id
# whatever the estimates (9 ms for 500 ids at the same size).
_PG_EXISTING = text(
    "SELECT r.pk, r.id, r.version_id, r.content_hash, r.deleted, r.content, r.last_updated "
    "FROM unnest(CAST(:ids AS text[])) AS k(id) CROSS JOIN LATERAL "
    "(SELECT * FROM fhir_resource x WHERE x.resource_type = :t AND x.id = k.id LIMIT 1) AS r"
)


def canonical_json(resource: dict[str, Any]) -> bytes:
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)


def content_hash(resource: dict[str, Any]) -> str:
    """Hash of the content that matters for change detection (meta.versionId/lastUpdated excluded)."""
    meta = resource.get("meta")
    if isinstance(meta, dict) and ("versionId" in meta or "lastUpdated" in meta):
        stripped_meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        resource = {**resource}
        if stripped_meta:
            resource["meta"] = stripped_meta
        else:
            resource.pop("meta")
    return hashlib.sha1(canonical_json(resource)).hexdigest()


def _with_meta(resource: dict[str, Any], version: int, last_updated: str) -> dict[str, Any]:
    """The resource with ``meta.versionId`` and ``meta.lastUpdated`` (FHIR instant text)."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = last_updated
    return {**resource, "meta": meta}


@dataclass
class UpsertStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    by_type: Counter[str] = field(default_factory=Counter)

    def add(self, other: UpsertStats) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.by_type.update(other.by_type)


@dataclass
class WriteOutcome:
    resource: dict[str, Any]
    created: bool
    changed: bool


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (dicts) fast, straight through the driver in the caller's transaction.

    PostgreSQL: COPY (psycopg's executemany sends one statement per row). SQLite: one
    ``executemany`` of plain tuples (SQLAlchemy's per-row parameter processing costs more than
    SQLite's insert itself). Other dialects: SQLAlchemy's executemany. An autoincrement primary
    key is written when the rows carry it (see :func:`insert_resources`), else left to the
    database.
    """
    if not rows:
        return
    columns = [
        c
        for c in table.columns
        if not (c.primary_key and c.autoincrement is True and c.name not in rows[0])
    ]
    defaults = {
        c.name: getattr(c.default, "arg", None)
        for c in columns
        if c.default is not None and getattr(c.default, "is_scalar", False)
    }
    names = [c.name for c in columns]
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    insert_values(conn, table, names, _row_values(rows, names))


def insert_values(
    conn: Connection, table: Table, names: list[str] | None, values: Sequence[Sequence[Any]]
) -> None:
    """Insert rows given as value tuples in ``names`` order (``None``: every column of the
    table, in table order), the way :func:`bulk_insert` does."""
    if not values:
        return
    columns = list(table.columns) if names is None else [table.c[n] for n in names]
    names = [c.name for c in columns]
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):
        conn.execute(insert(table), [dict(zip(names, v, strict=True)) for v in values])
        return
    preparer = conn.dialect.identifier_preparer
    target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(n) for n in names)})"
    driver = conn.connection.driver_connection
    assert driver is not None
    if dialect == "postgresql":
        behind = write_behind.active(conn)
        if behind is not None:
            try:
                payload = copy_text(values, driver.info.encoding)  # type: ignore[attr-defined]
            except TypeError:  # a value psycopg formats and copy_text does not: COPY it now
                behind.drain()
            else:
                behind.submit(f"COPY {target} FROM STDIN", payload)
                return
        with driver.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:  # type: ignore[attr-defined]
            write = copy.write_row
            for value in values:
                write(value)
        return
    dates = [i for i, c in enumerate(columns) if isinstance(c.type, DateTime | Date)]
    if dates:  # only DATETIME columns need converting; the same instants recur (memoised)
        text_of: dict[Any, Any] = {}
        rows = [list(v) for v in values]
        for i in dates:
            for v in rows:
                x = v[i]
                t = text_of.get(x)
                if t is None:
                    t = text_of[x] = sqlite_datetime_text(x)
                v[i] = t
        values = rows  # type: ignore[assignment]
    placeholders = ", ".join("?" for _ in names)
    driver.executemany(f"INSERT INTO {target} VALUES ({placeholders})", values)  # type: ignore[attr-defined]


def insert_resources(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert new ``fhir_resource`` rows; their primary keys, in row order.

    No second lookup by (type, id): PostgreSQL allocates the keys from the table's sequence
    in one round trip (``nextval`` over ``generate_series``; safe with concurrent writers, a
    sequence never hands out a value twice) and COPYs them with the rows. SQLite assigns
    ``max(rowid) + 1`` to each row of the one ``executemany``, all under the write lock the
    transaction takes with its first insert, so the keys are the ``len(rows)`` consecutive
    values ending at ``last_insert_rowid()``; checked on the first and last row (one indexed
    probe), with a lookup as the fallback.
    """
    if not rows:
        return []
    dialect = conn.dialect.name
    t = resource_table
    if dialect == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        write_behind.drain(conn)
        with driver.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence('fhir_resource', 'pk')) "
                "FROM generate_series(1, %s)",
                (len(rows),),
            )
            pks = [int(r[0]) for r in cur.fetchall()]
        for row, pk in zip(rows, pks, strict=True):
            row["pk"] = pk
        bulk_insert(conn, t, rows)
        return pks
    bulk_insert(conn, t, rows)
    if dialect == "sqlite":
        last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        first = last - len(rows) + 1
        got = {
            row.pk: (row.resource_type, row.id)
            for row in conn.execute(
                select(t.c.pk, t.c.resource_type, t.c.id).where(t.c.pk.in_([first, last]))
            )
        }
        ends = [
            (rows[0]["resource_type"], rows[0]["id"]),
            (rows[-1]["resource_type"], rows[-1]["id"]),
        ]
        if [got.get(first), got.get(last)] == ends:
            return list(range(first, last + 1))
    return _lookup_pks(conn, [(row["resource_type"], row["id"]) for row in rows])


def _lookup_pks(conn: Connection, keys: list[tuple[str, str]]) -> list[int]:
    t = resource_table
    by_type: dict[str, list[str]] = {}
    for rtype, rid in keys:
        by_type.setdefault(rtype, []).append(rid)
    pk_of: dict[tuple[str, str], int] = {}
    for rtype, ids in by_type.items():
        for i in range(0, len(ids), _CHUNK):
            stmt = select(t.c.pk, t.c.id).where(
                t.c.resource_type == rtype, t.c.id.in_(ids[i : i + _CHUNK])
            )
            for row in conn.execute(stmt):
                pk_of[(rtype, row.id)] = row.pk
    return [pk_of[key] for key in keys]


def _row_values(rows: list[dict[str, Any]], names: list[str]) -> list[Any]:
    """Each row's values in ``names`` order (None for a key a row lacks)."""
    if len(names) > 1:
        get = itemgetter(*names)
        try:
            return [get(row) for row in rows]
        except KeyError:
            pass
    return [tuple(map(row.get, names)) for row in rows]


def sqlite_datetime_text(value: Any) -> Any:
    """The value as SQLAlchemy's SQLite dialect stores it (DATETIME as fixed-width text)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        # zero-padded year like SQLAlchemy's own format (strftime's %Y gives "1-01-02" for
        # datetime(1, 1, 2)); ~3x faster than strftime
        return value.isoformat(" ", "microseconds")
    return value


class FhirStore:
    """Versioned FHIR resources over SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, projections: Sequence[Projection] = ()) -> None:
        self.engine = engine
        self.projections = list(projections)

    # ----------------------------------------------------------------- transactions
    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as new:
                yield new

    # ----------------------------------------------------------------- writes
    def upsert_many(
        self, resources: Iterable[dict[str, Any]], conn: Connection | None = None
    ) -> UpsertStats:
        """Create or update resources keeping their ids; identical content adds no version.

        Resources without an id get a new UUID. All rows are written in one transaction
        (``conn`` when given).
        """
        stats = UpsertStats()
        batch: list[dict[str, Any]] = []
        with self._conn(conn) as c:
            for resource in resources:
                batch.append(resource)
                if len(batch) >= _UPSERT_CHUNK:
                    stats.add(self._upsert_chunk(c, batch))
                    batch = []
            if batch:
                stats.add(self._upsert_chunk(c, batch))
        return stats

    def _existing(
        self, conn: Connection, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        found: dict[tuple[str, str], Any] = {}
        t = resource_table
        pg = conn.dialect.name == "postgresql"
        for rtype, ids in by_type.items():
            for i in range(0, len(ids), _CHUNK):
                if pg:
                    for row in conn.execute(_PG_EXISTING, {"ids": ids[i : i + _CHUNK], "t": rtype}):
                        found[(rtype, row.id)] = row
                    continue
                rows = conn.execute(
                    select(
                        t.c.pk,
                        t.c.id,
                        t.c.version_id,
                        t.c.content_hash,
                        t.c.deleted,
                        t.c.content,
                        t.c.last_updated,
                    ).where(t.c.resource_type == rtype, t.c.id.in_(ids[i : i + _CHUNK]))
                )
                for row in rows:
                    found[(rtype, row.id)] = row
        return found

    def _upsert_chunk(self, conn: Connection, chunk: list[dict[str, Any]]) -> UpsertStats:
        stats = UpsertStats()
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for resource in chunk:
            if not resource.get("id"):
                resource = {**resource, "id": str(uuid.uuid4())}
            latest[(resource["resourceType"], str(resource["id"]))] = resource
        existing = self._existing(conn, latest.keys())
        now = now_utc()
        stamp = instant_text(now)  # one lastUpdated for the whole chunk
        new_rows: list[dict[str, Any]] = []
        new_resources: list[dict[str, Any]] = []
        changed: list[tuple[Any, dict[str, Any]]] = []
        for key, resource in latest.items():
            digest = content_hash(resource)
            old = existing.get(key)
            if old is not None and not old.deleted and old.content_hash == digest:
                stats.unchanged += 1
                continue
            stats.by_type[key[0]] += 1
            if old is None:
                stored = _with_meta(resource, 1, stamp)
                new_rows.append(self._row(stored, 1, now, digest))
                new_resources.append(stored)
                stats.created += 1
            else:
                stored = _with_meta(resource, old.version_id + 1, stamp)
                changed.append((old, stored))
                stats.updated += 1
        # Updates first: their statements would wait for the new rows' COPYs to finish when
        # those are written behind (ehr_bridge.store.write_behind).
        if changed:
            self._archive(conn, [old for old, _ in changed])
            for old, stored in changed:
                conn.execute(
                    update(resource_table)
                    .where(resource_table.c.pk == old.pk)
                    .values(self._row(stored, old.version_id + 1, now, content_hash(stored)))
                )
            self._write_derived(conn, [(old.pk, stored) for old, stored in changed], replace=True)
        if new_rows:
            # INSERT ... RETURNING with sort_by_parameter_order runs row by row on SQLite and
            # is parsed as one huge statement on PostgreSQL; both are several times slower.
            pks = insert_resources(conn, new_rows)
            self._write_derived(conn, list(zip(pks, new_resources, strict=True)), replace=False)
        return stats

    @staticmethod
    def _row(stored: dict[str, Any], version: int, now: datetime, digest: str) -> dict[str, Any]:
        return {
            "resource_type": stored["resourceType"],
            "id": str(stored["id"]),
            "version_id": version,
            "last_updated": now,
            "deleted": False,
            "content_hash": digest,
            "content": canonical_json(stored).decode("utf-8"),
        }

    def _archive(self, conn: Connection, olds: Sequence[Any]) -> None:
        rows = [
            {
                "resource_type": old_type,
                "id": old.id,
                "version_id": old.version_id,
                "last_updated": old.last_updated,
                "deleted": old.deleted,
                "content": old.content,
            }
            for old in olds
            for old_type in [orjson.loads(old.content)["resourceType"]]
        ]
        conn.execute(insert(history_table), rows)

    def _clear_derived(self, conn: Connection, items: Sequence[tuple[int, dict[str, Any]]]) -> None:
        pks = [pk for pk, _ in items]
        for i in range(0, len(pks), _CHUNK):
            part = pks[i : i + _CHUNK]
            for table in INDEX_TABLES.values():
                conn.execute(delete(table).where(table.c.res_pk.in_(part)))
        by_type: dict[str, list[str]] = {}
        for _, resource in items:
            by_type.setdefault(resource["resourceType"], []).append(str(resource["id"]))
        for projection in self.projections:
            for table in projection.tables:
                for rtype, ids in by_type.items():
                    for i in range(0, len(ids), _CHUNK):
                        conn.execute(
                            delete(table).where(
                                table.c.resource_type == rtype,
                                table.c.resource_id.in_(ids[i : i + _CHUNK]),
                            )
                        )

    def _write_derived(
        self, conn: Connection, items: Sequence[tuple[int, dict[str, Any]]], *, replace: bool
    ) -> None:
        if replace:
            self._clear_derived(conn, items)
        index_batches: dict[str, list[tuple[Any, ...]]] = {}
        for pk, resource in items:
            for kind, krows in index_rows(resource, pk).items():
                bucket = index_batches.get(kind)
                if bucket is None:
                    index_batches[kind] = krows
                else:
                    bucket.extend(krows)
        for kind, krows in index_batches.items():
            insert_values(conn, INDEX_TABLES[kind], None, krows)
        for projection in self.projections:
            proj_batches: dict[str, list[dict[str, Any]]] = {}
            for _, resource in items:
                for table_name, rows in projection.project(resource).items():
                    proj_batches.setdefault(table_name, []).extend(rows)
            for table_name, rows in proj_batches.items():
                bulk_insert(conn, projection.table(table_name), rows)

    def create(self, resource: dict[str, Any], conn: Connection | None = None) -> dict[str, Any]:
        """Create with a server-assigned id (any id in the body is replaced)."""
        body = {**resource, "id": str(uuid.uuid4())}
        with self._conn(conn) as c:
            self._upsert_chunk(c, [body])
            stored = self.read(body["resourceType"], body["id"], conn=c)
        assert stored is not None
        return stored

    def update(
        self,
        resource: dict[str, Any],
        *,
        if_match: str | None = None,
        conn: Connection | None = None,
    ) -> WriteOutcome:
        """Update (or create with the client's id); ``if_match`` is a version id to require."""
        rtype, rid = resource["resourceType"], str(resource["id"])
        with self._conn(conn) as c:
            current = self._existing(c, [(rtype, rid)]).get((rtype, rid))
            if if_match is not None and (
                current is None or current.deleted or str(current.version_id) != if_match
            ):
                have = "none" if current is None else str(current.version_id)
                raise VersionConflict(
                    f"{rtype}/{rid}: If-Match version {if_match} does not match current version {have}"
                )
            stats = self._upsert_chunk(c, [resource])
            stored = self.read(rtype, rid, conn=c)
        assert stored is not None
        return WriteOutcome(
            stored, created=current is None or bool(current.deleted), changed=stats.unchanged == 0
        )

    def delete(self, rtype: str, rid: str, conn: Connection | None = None) -> bool:
        """Logical delete (a new, deleted version). False when there was nothing to delete."""
        with self._conn(conn) as c:
            current = self._existing(c, [(rtype, rid)]).get((rtype, rid))
            if current is None or current.deleted:
                return False
            self._archive(c, [current])
            now = now_utc()
            c.execute(
                update(resource_table)
                .where(resource_table.c.pk == current.pk)
                .values(version_id=current.version_id + 1, last_updated=now, deleted=True)
            )
            self._clear_derived(c, [(current.pk, {"resourceType": rtype, "id": rid})])
        return True

    # ----------------------------------------------------------------- reads
    def read(self, rtype: str, rid: str, conn: Connection | None = None) -> dict[str, Any] | None:
        t = resource_table
        stmt = select(t.c.content, t.c.deleted).where(t.c.resource_type == rtype, t.c.id == rid)
        if conn is not None:
            row = conn.execute(stmt).first()
        else:
            with self.engine.connect() as c:
                row = c.execute(stmt).first()
        if row is None or row.deleted:
            return None
        return orjson.loads(row.content)  # type: ignore[no-any-return]

    def read_or_raise(self, rtype: str, rid: str) -> dict[str, Any]:
        t = resource_table
        with self.engine.connect() as c:
            row = c.execute(
                select(t.c.content, t.c.deleted, t.c.version_id).where(
                    t.c.resource_type == rtype, t.c.id == rid
                )
            ).first()
        if row is None:
            raise NotFound(f"{rtype}/{rid} is not known")
        if row.deleted:
            raise Gone(f"{rtype}/{rid} was deleted (version {row.version_id})")
        return orjson.loads(row.content)  # type: ignore[no-any-return]

    def vread(self, rtype: str, rid: str, version: str) -> dict[str, Any]:
        t, h = resource_table, history_table
        with self.engine.connect() as c:
            cur = c.execute(
                select(t.c.content, t.c.version_id, t.c.deleted).where(
                    t.c.resource_type == rtype, t.c.id == rid
                )
            ).first()
            if cur is None:
                raise NotFound(f"{rtype}/{rid} is not known")
            if str(cur.version_id) == version:
                if cur.deleted:
                    raise Gone(f"{rtype}/{rid} version {version} is a deletion")
                return orjson.loads(cur.content)  # type: ignore[no-any-return]
            if not version.isdigit():
                raise NotFound(f"{rtype}/{rid} has no version {version!r}")
            old = c.execute(
                select(h.c.content, h.c.deleted).where(
                    h.c.resource_type == rtype, h.c.id == rid, h.c.version_id == int(version)
                )
            ).first()
        if old is None:
            raise NotFound(f"{rtype}/{rid} has no version {version}")
        if old.deleted:
            raise Gone(f"{rtype}/{rid} version {version} is a deletion")
        return orjson.loads(old.content)  # type: ignore[no-any-return]

    def history(
        self, rtype: str, rid: str
    ) -> list[tuple[int, bool, datetime, dict[str, Any] | None]]:
        """(version, deleted, last_updated, resource or None) newest first."""
        t, h = resource_table, history_table
        with self.engine.connect() as c:
            cur = c.execute(
                select(t.c.version_id, t.c.deleted, t.c.last_updated, t.c.content).where(
                    t.c.resource_type == rtype, t.c.id == rid
                )
            ).first()
            if cur is None:
                raise NotFound(f"{rtype}/{rid} is not known")
            olds = c.execute(
                select(h.c.version_id, h.c.deleted, h.c.last_updated, h.c.content)
                .where(h.c.resource_type == rtype, h.c.id == rid)
                .order_by(h.c.version_id.desc())
            ).all()
        out: list[tuple[int, bool, datetime, dict[str, Any] | None]] = []
        for row in [cur, *olds]:
            out.append(
                (
                    row.version_id,
                    row.deleted,
                    row.last_updated,
                    None if row.deleted else orjson.loads(row.content),
                )
            )
        return out

    def counts(self) -> dict[str, int]:
        t = resource_table
        with self.engine.connect() as c:
            rows = c.execute(
                select(t.c.resource_type, func.count())
                .where(t.c.deleted.is_(False))
                .group_by(t.c.resource_type)
                .order_by(t.c.resource_type)
            ).all()
        return {row[0]: int(row[1]) for row in rows}

    def iter_all(self, rtype: str | None = None, batch: int = 2000) -> Iterator[dict[str, Any]]:
        """Every current resource (of one type), ordered by type and id, streamed in batches."""
        t = resource_table
        last: tuple[str, str] = ("", "")
        while True:
            stmt = select(t.c.resource_type, t.c.id, t.c.content).where(t.c.deleted.is_(False))
            if rtype:
                stmt = stmt.where(t.c.resource_type == rtype, t.c.id > last[1])
            else:
                stmt = stmt.where(
                    (t.c.resource_type > last[0])
                    | ((t.c.resource_type == last[0]) & (t.c.id > last[1]))
                )
            stmt = stmt.order_by(t.c.resource_type, t.c.id).limit(batch)
            with self.engine.connect() as c:
                rows = c.execute(stmt).all()
            if not rows:
                return
            for row in rows:
                yield orjson.loads(row.content)
            last = (rows[-1].resource_type, rows[-1].id)

    def search(
        self, rtype: str, params: Sequence[tuple[str, str]], *, lenient: bool = False
    ) -> Any:
        from ehr_bridge.store.search import run_search

        return run_search(self, rtype, params, lenient=lenient)
