"""Write-behind COPY (PostgreSQL): payloads formatted ahead are stored exactly as psycopg's own
COPY stores them, statements see the rows written behind before them, and a failing COPY loses
the transaction instead of being dropped silently."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    select,
    text,
)

from ehr_bridge.store import open_store
from ehr_bridge.store.base import create_engine
from ehr_bridge.store.copy_text import copy_field, copy_text
from ehr_bridge.store.repository import insert_values
from ehr_bridge.store.write_behind import write_behind

JST = dt.timezone(dt.timedelta(hours=9))

ROWS = [
    (1, "plain", None, True, 0.1, decimal.Decimal("12.50"), dt.datetime(2024, 1, 2, 3, 4, 5),
     dt.datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=JST), dt.date(2024, 2, 29)),
    (2, "tab\tnew\nline\rcr\\back\bbs\vvt\fff 日本語 ｶﾅ", "", False, float("nan"),
     decimal.Decimal("NaN"), dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
     dt.datetime(2024, 6, 1, tzinfo=dt.UTC), dt.date(1, 1, 1)),
    (3, "\\N", "\\", None, float("inf"), decimal.Decimal("-0.000001"), None, None, None),
    (9_223_372_036_854_775_807, '{"a": "b\\"c"}', "x" * 3000, True, -1e-300,
     decimal.Decimal("1E+20"), dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, tzinfo=JST),
     dt.date(2024, 12, 31)),
]  # fmt: skip


def _table(md: MetaData, name: str) -> Table:
    return Table(
        name, md,
        Column("n", BigInteger, primary_key=True, autoincrement=False),
        Column("s", Text), Column("v", String(4000)), Column("b", Boolean), Column("f", Float),
        Column("d", Numeric), Column("ts", DateTime), Column("tz", DateTime(timezone=True)),
        Column("day", Date),
    )  # fmt: skip


def test_copy_field_escapes_like_copy_text_format() -> None:
    assert copy_field(None) == "\\N"
    assert copy_field("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"
    assert copy_field("\\N") == "\\\\N"  # a literal backslash-N is not NULL
    assert copy_field(True) == "t" and copy_field(False) == "f"
    assert copy_field(float("-inf")) == "-Infinity"
    assert copy_field(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=JST)) == "2024-01-02T03:04:05+09:00"
    assert copy_text([(1, "a"), (None, "b\tc")]) == b"1\ta\n\\N\tb\\tc\n"
    with pytest.raises(TypeError, match="dict"):
        copy_field({"a": 1})


def _pg(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("write-behind applies to PostgreSQL (EHR_BRIDGE_TEST_DB)")


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal) and a.is_nan():
        return b.is_nan()
    return a == b


def test_payload_stores_what_psycopg_copy_stores(db_url: str) -> None:
    _pg(db_url)
    engine = create_engine(db_url)
    md = MetaData()
    by_psycopg, behind = _table(md, "wb_psycopg"), _table(md, "wb_behind")
    md.create_all(engine)
    with engine.begin() as conn:
        insert_values(conn, by_psycopg, None, ROWS)
        with write_behind(conn) as wb:
            assert wb is not None
            insert_values(conn, behind, None, ROWS)
            assert wb.payload_bytes > 3000
    with engine.connect() as conn:
        want = conn.execute(select(by_psycopg).order_by(by_psycopg.c.n)).all()
        got = conn.execute(select(behind).order_by(behind.c.n)).all()
    assert len(want) == len(ROWS)
    for w, g in zip(want, got, strict=True):
        assert all(_same(a, b) for a, b in zip(w, g, strict=True)), (w, g)
    engine.dispose()


def test_statements_see_rows_written_behind_and_errors_surface(db_url: str) -> None:
    _pg(db_url)
    engine = create_engine(db_url)
    md = MetaData()
    t = _table(md, "wb_order")
    md.create_all(engine)
    with engine.begin() as conn, write_behind(conn) as wb:
        assert wb is not None
        for start in range(1, 2001, 500):
            insert_values(conn, t, ["n", "s"], [(i, f"r{i}") for i in range(start, start + 500)])
        assert wb.pending == 4
        # the next statement first waits for the COPYs: it sees all their rows
        assert conn.execute(select(func.count()).select_from(t)).scalar_one() == 2000
        assert wb.pending == 0
        conn.execute(t.delete().where(t.c.n > 1000))
        insert_values(conn, t, ["n", "s"], [(i, "again") for i in range(1001, 1501)])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t)).scalar_one() == 1500

    # a duplicate key: the COPY fails in the background; the next statement raises its error
    # and the whole transaction is lost
    with engine.connect() as conn:
        txn = conn.begin()
        with write_behind(conn):
            insert_values(conn, t, ["n", "s"], [(5000, "new")])
            insert_values(conn, t, ["n", "s"], [(1, "dup")])
            with pytest.raises(Exception, match="duplicate key"):
                conn.execute(text("SELECT 1"))
        txn.rollback()
    # ... and at the end of the block when no statement follows
    with (
        pytest.raises(Exception, match="duplicate key"),
        engine.begin() as conn,
        write_behind(conn),
    ):
        insert_values(conn, t, ["n", "s"], [(5001, "new"), (2, "dup")])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t)).scalar_one() == 1500
        assert conn.execute(select(func.count()).where(t.c.n >= 5000)).scalar_one() == 0

    # an error of the caller's own: the pending COPYs are dropped, the transaction rolls back,
    # and the pooled connection works afterwards
    with pytest.raises(RuntimeError, match="caller"), engine.begin() as conn, write_behind(conn):
        insert_values(conn, t, ["n", "s"], [(6000, "new")])
        raise RuntimeError("caller")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(t.c.n == 6000)).scalar_one() == 0
    engine.dispose()


def test_values_without_a_copy_text_form_fall_back_in_order(db_url: str) -> None:
    """A value type the formatter does not know is COPYed by psycopg right away, after the
    COPYs handed over before it."""
    _pg(db_url)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE wb_arr (n integer primary key, tags text[])"))
    t = Table("wb_arr", MetaData(), autoload_with=engine)
    with engine.begin() as conn, write_behind(conn):
        insert_values(conn, t, None, [(1, None)])
        insert_values(conn, t, None, [(2, ["a", "b"])])  # a list: psycopg formats it
    with engine.connect() as conn:
        assert conn.execute(select(t.c.n, t.c.tags).order_by(t.c.n)).all() == [
            (1, None),
            (2, ["a", "b"]),
        ]
    engine.dispose()


def test_sqlite_has_no_write_behind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with store.begin() as conn, write_behind(conn) as wb:
        assert wb is None
