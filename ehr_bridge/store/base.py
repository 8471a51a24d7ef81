"""Shared SQLAlchemy metadata and engine construction for every table of ehr-bridge.

Each concern keeps its tables in its own module (``ehr_bridge/store/tables.py`` for the FHIR
store, ``ehr_bridge/sync/tables.py`` for connector state, ...) on this one ``metadata``, and
its own Alembic revision branch under ``ehr_bridge/store/migrations/versions``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy import create_engine as _sa_create_engine
from sqlalchemy.engine import Engine, make_url

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

SQLITE_CACHE_KIB = 262_144  # 256 MiB page cache per connection
# Memory-mapped reads of the first 2 GiB of the file (SQLite clamps to its compile-time maximum,
# 2 GiB in the usual builds): the OS page cache, shared by all connections, serves B-tree pages
# instead of each connection's own page cache. 1 GiB → 2 GiB: 1M-resource import 4,643 →
# 5,203 resources/s (runs 15 min apart; see benchmarks/RESULTS-store.md for the caveat).
SQLITE_MMAP_BYTES = 1 << 31
SQLITE_WAL_CHECKPOINT_PAGES = 16_384
# Page size of a new SQLite database (an existing one keeps its own; changing it needs VACUUM
# outside WAL mode). 16 KiB instead of 4 KiB: a bulk write dirties index pages all over the
# B-trees and each commit writes every dirty page to the WAL once — with bigger pages fewer,
# larger writes, and ~1.4 kB resources fill pages better. SS-MIX2 sync of a 20k-message tree:
# commit time 0.052 → 0.029 ms per message, total CPU −5 to −8 % (benchmarks/RESULTS-ssmix2.md).
SQLITE_PAGE_SIZE = 16_384


def normalize_db_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_db_url(url)).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> Engine:
    """Engine with the pragmas/settings ehr-bridge relies on (WAL and FKs on SQLite)."""
    url = normalize_db_url(url)
    if is_sqlite(url):
        engine = _sa_create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # takes effect on a new file only
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # A 2 MiB page cache (the default) makes index inserts and searches disk-bound
            # once the store holds a few hundred thousand resources.
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.execute("PRAGMA temp_store=MEMORY")
            # Checkpoint every 64 MiB of WAL instead of every 4 MiB (1,000 pages): a bulk import
            # rewrites the same hot index pages many times between checkpoints, and each
            # checkpoint fsyncs; +16-19 % import throughput on 100k resources. Durability is
            # unchanged (WAL mode with synchronous=NORMAL either way).
            cur.execute(f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}")
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = _sa_create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pg_session(dbapi_conn: Any, _record: Any) -> None:
        # psycopg prepares statements after a few executions and PostgreSQL may then cache a
        # generic plan made while a table was still empty (a sequential scan), which a bulk
        # import keeps using as the table grows. Always plan with the actual parameters.
        # JIT compilation (jit_above_cost) costs 10-15 ms per query and was triggered by
        # over-estimated row counts on searches that then ran in 0.2 ms; the store's queries
        # are short index walks, never long enough for JIT to pay off.
        with dbapi_conn.cursor() as cur:
            cur.execute("SET plan_cache_mode = force_custom_plan")
            cur.execute("SET jit = off")
        dbapi_conn.commit()

    return engine
