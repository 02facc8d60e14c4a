"""SQLite statements in one trip to the database thread instead of three or four.

aiosqlite runs each sqlite3 call on its own thread, and SQLAlchemy's adapter makes a call
for each step of a statement: open a cursor, execute, fetch the rows, close the cursor. Each
call is a round trip through a queue to that thread and back through the event loop, which
under load costs more than the statement itself (an answer was 34-45 such trips). Here a
statement is one function run on the thread: it opens a cursor, executes, fetches every row
and closes the cursor, and the adapter keeps what it returned (rows, description, rowcount,
lastrowid). Results are the same; only the number of trips changes. Server-side (streamed)
cursors keep SQLAlchemy's own adapter.

It reaches into ``aiosqlite.Connection._execute`` (run a function on the connection's thread)
and ``_conn`` (its sqlite3 connection): private, but stable across the aiosqlite versions
pyproject allows, and tests/store cover every statement kind through it.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import Connection
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Result = tuple[Any, list[Any], int, int | None]
_T = TypeVar("_T")


def run_inline(dbapi_connection: Any, on: bool) -> None:
    """Run this connection's statements right here on the event loop (``on``) or on its
    thread. bot/store/db.py turns it on for the connection holding this process's write
    transaction once BEGIN IMMEDIATE has the lock, and off before COMMIT (which may
    checkpoint): in between no statement can wait for a lock, and a small statement in WAL
    mode takes tens of microseconds, less than the trip to the thread and back, which under
    load also waits for the GIL."""
    if isinstance(dbapi_connection, OneTripConnection):
        dbapi_connection.inline = on


def driver(connection: Connection | None) -> tuple[sqlite3.Connection, bool] | None:
    """The sqlite3 connection under ``connection``, and whether it runs inline (it holds
    this process's write transaction); None for any other database."""
    if connection is None or connection.closed or connection.invalidated:
        return None
    raw = connection.connection.dbapi_connection
    if isinstance(raw, OneTripConnection):
        sqlite: sqlite3.Connection = raw._connection._conn
        return sqlite, raw.inline
    return None


class Busy(Exception):
    """Another process holds a lock this statement would have had to wait for."""


def without_waiting(conn: sqlite3.Connection, call: Callable[[], _T]) -> _T:
    """``call()`` with SQLite's busy timeout at zero: done at once, or ``Busy`` (instead
    of the event loop's thread sleeping in SQLite's busy handler); the timeout is put back."""
    (timeout,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute("PRAGMA busy_timeout=0")
    try:
        return call()
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
            raise Busy from exc
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={timeout}")


def _never_waits(operation: str) -> bool:
    """Statements that neither wait for a lock nor write: a read's BEGIN (WAL: a snapshot,
    taken at once) and the busy timeout's setting. They run where they are, with no trip."""
    return operation == "BEGIN" or operation.startswith("PRAGMA busy_timeout=")


def _begin_now(conn: sqlite3.Connection) -> bool:
    """BEGIN IMMEDIATE if SQLite's write lock is free this instant (nearly always: this
    process's writers take turns before they get here); False if another process holds it,
    and then BEGIN IMMEDIATE goes to the thread to wait with the busy timeout."""
    try:
        without_waiting(conn, lambda: conn.execute("BEGIN IMMEDIATE"))
    except Busy:
        return False
    return True


_BEGUN: _Result = (None, [], -1, None)


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Result:
    """On the database thread: the whole statement, its rows and what the cursor knew."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No cursor is opened here: each statement opens and closes its own on the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._soft_closed_memoized = EMPTY_DICT
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None  # the rows are already here and the cursor closed

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._one_trip(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._one_trip(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _one_trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: Any = self._connection  # an aiosqlite.Connection
        async with self._adapt_connection._execute_mutex:
            if getattr(self._adapt_connection, "inline", False) or _never_waits(operation):
                result = _run(connection._conn, operation, parameters, many)
            elif operation == "BEGIN IMMEDIATE" and _begin_now(connection._conn):
                result = _BEGUN
            else:
                result = await connection._execute(
                    _run, connection._conn, operation, parameters, many
                )
        self._description, rows, self._rowcount, self._lastrowid = result
        self._rows = collections.deque(rows)

    def nextset(self) -> None:
        raise NotImplementedError("SQLite has no further result sets")


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("inline",)
    inline: bool

    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def rollback(self) -> None:
        """Here, not on the thread: ROLLBACK waits for no lock and writes nothing (WAL), and
        the pool calls it each time a connection comes back, mostly with nothing to undo."""
        if self._connection._connection:
            try:
                self._connection._conn.rollback()
            except Exception as error:
                self._handle_exception(error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI adapter, handing out connections whose cursors make one trip."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        connection = OneTripConnection(self, adapted._connection)
        connection.inline = False
        return connection


def dbapi() -> OneTripDBAPI:
    import aiosqlite

    module: ModuleType = sqlite3
    return OneTripDBAPI(aiosqlite, module)
