"""Shared fixtures.

The database under test is chosen by ``EHR_BRIDGE_TEST_DB``:
- unset: a fresh SQLite file per test (in pytest's tmp_path);
- a PostgreSQL URL (``postgresql+psycopg://postgres@127.0.0.1:5432/NAME``): each test gets a
  fresh schema in that database (``search_path`` set through the URL), dropped afterwards.
``.ci/run`` runs the whole suite once each way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ehr_bridge.store.base import create_engine, normalize_db_url

TEST_DB = os.environ.get("EHR_BRIDGE_TEST_DB", "").strip()


def _is_pg() -> bool:
    return TEST_DB.startswith("postgres")


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (schema created lazily by whoever opens it)."""
    yield from _fresh_db(tmp_path / "test.db")


@pytest.fixture
def second_db_url(tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same kind, to compare two ways of writing the same data."""
    yield from _fresh_db(tmp_path / "second.db")


def _fresh_db(sqlite_file: Path) -> Iterator[str]:
    if not _is_pg():
        yield f"sqlite:///{sqlite_file}"
        return
    base = normalize_db_url(TEST_DB)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def backend_name() -> str:
    return "postgresql" if _is_pg() else "sqlite"
