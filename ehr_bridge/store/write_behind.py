"""Write-behind COPY on PostgreSQL: the database inserts one batch while we convert the next.

A bulk ingest on PostgreSQL alternates two kinds of work: ours (read, parse, convert, index)
and the server's (insert rows, update B-tree indexes, write WAL). Done in turn, each waits for
the other: a third of the wall time was spent waiting for the server, most of it in ``COPY ...
finish`` (py-spy, benchmarks/RESULTS-ssmix2.md).
Inside :func:`write_behind`, :func:`~ehr_bridge.store.repository.insert_values` formats its rows
into a COPY payload and hands it to one background thread, which streams the payloads to the
server in order on the same connection and transaction, while the caller goes on converting.

The connection is never used by both threads at once: every statement the caller executes
through SQLAlchemy first waits until all handed-over COPYs are done (a ``before_cursor_execute``
hook), so reads see the rows written before them and statements run in the order they were
issued; code that uses the driver directly calls :func:`drain` first. Leaving the block waits
for the last COPY (and raises its error, if any) before the caller commits; on an exception the
remaining COPYs are dropped and the thread is idle before the transaction rolls back. An error
in a COPY surfaces at the next statement or at the end of the block, with the same exception
the COPY raised, and the transaction is lost as it would have been without write-behind.

Only PostgreSQL: on SQLite the database works in our own thread anyway, and the block does
nothing.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_KEY = "ehr_bridge.write_behind"
# While a write-behind thread is active, the interpreter hands the GIL to a thread that wants
# it after this many seconds (default 5 ms): the COPY thread wakes each time the server has
# read the data it was sent, and a 5 ms wait each time would starve the server.
_SWITCH_INTERVAL = 0.0005
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


class WriteBehind:
    """COPY payloads streamed in order by one background thread on one connection."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ehr-bridge-copy")
        self._pending: list[Future[None]] = []
        self.payload_bytes = 0

    @property
    def pending(self) -> int:
        """COPYs handed over and not yet waited for by :meth:`drain`."""
        return len(self._pending)

    def submit(self, statement: str, payload: bytes) -> None:
        self.payload_bytes += len(payload)
        self._pending.append(self._pool.submit(self._copy, statement, payload))

    def _copy(self, statement: str, payload: bytes) -> None:
        with self._driver.cursor() as cur, cur.copy(statement) as copy:
            copy.write(payload)

    def drain(self) -> None:
        """Wait for every COPY handed over so far; raise the first one's error."""
        pending, self._pending = self._pending, []
        error: BaseException | None = None
        for future in pending:
            exc = future.exception()
            if exc is not None and error is None:
                error = exc
        if error is not None:
            raise error

    def abandon(self) -> None:
        """Drop the COPYs not started yet and wait until the thread leaves the connection."""
        self._pending = []
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def active(conn: Connection) -> WriteBehind | None:
    """The write-behind of ``conn``'s current block, if any."""
    wb: WriteBehind | None = conn.info.get(_KEY)
    return wb


def drain(conn: Connection) -> None:
    """Wait for ``conn``'s handed-over COPYs (no-op outside :func:`write_behind`)."""
    wb = active(conn)
    if wb is not None:
        wb.drain()


def _before_execute(conn: Connection, *_args: Any) -> None:
    drain(conn)


def _hook(engine: Engine) -> None:
    if not event.contains(engine, "before_cursor_execute", _before_execute):
        event.listen(engine, "before_cursor_execute", _before_execute)


def _faster_gil_handoff(on: bool) -> None:
    global _switch_users, _switch_saved
    with _switch_lock:
        if on:
            if _switch_users == 0:
                _switch_saved = sys.getswitchinterval()
                sys.setswitchinterval(_SWITCH_INTERVAL)
            _switch_users += 1
        else:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


@contextmanager
def write_behind(conn: Connection) -> Iterator[WriteBehind | None]:
    """Within the block, bulk inserts on ``conn`` (PostgreSQL) are written behind; see the
    module's docstring. Yields the :class:`WriteBehind`, or None where it does not apply."""
    if conn.dialect.name != "postgresql" or active(conn) is not None:
        yield None
        return
    _hook(conn.engine)
    wb = WriteBehind(conn.connection.driver_connection)
    conn.info[_KEY] = wb
    _faster_gil_handoff(True)
    try:
        yield wb
    except BaseException:
        wb.abandon()
        raise
    else:
        try:
            wb.drain()
        finally:
            wb.close()
    finally:
        conn.info.pop(_KEY, None)
        _faster_gil_handoff(False)
