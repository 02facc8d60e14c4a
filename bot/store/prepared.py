"""Statements built once, run straight on SQLite's driver inside a write transaction.

An answer is about a dozen small statements. Built once with named parameters
(``bindparam``), SQLAlchemy compiles each once, but still runs each through its execution
machinery: a greenlet, an execution context, events, a result object. That costs about
55 µs a statement on this project's machines, where sqlite3 itself takes 2 to 20 µs. Inside
this process's SQLite write transaction, statements already run on the event loop (see
``onetrip.run_inline``); there a ``Prepared`` statement goes to sqlite3 directly with the
SQL, parameter order and type conversions SQLAlchemy compiled for it, once per shape.

Everywhere else (PostgreSQL, reads outside a write transaction, a shape it cannot run
directly such as an expanding ``IN`` or a column default filled in Python) it is plain
``conn.execute``, so results are the same either way; tests/store/test_prepared.py runs
every kind of statement both ways and compares.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeEngine

from bot.store import onetrip

Params = Mapping[str, Any]
Statement = Select[Any] | UpdateBase
_Convert = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Direct:
    """A statement as sqlite3 runs it: its SQL, its parameters in order with their
    conversions, and its result columns with theirs."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[_Convert, ...]
    keys: tuple[str, ...]
    results: tuple[_Convert, ...]

    def values(self, params: Params) -> tuple[Any, ...]:
        return tuple(
            params[n] if bind is None else bind(params.get(n))
            for n, bind in zip(self.names, self.binds, strict=True)
        )

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            key: value if convert is None else convert(value)
            for key, convert, value in zip(self.keys, self.results, raw, strict=True)
        }


def _direct(statement: Statement, dialect: Dialect, names: Sequence[str]) -> _Direct | None:
    """``statement`` compiled for sqlite3, or None if it needs SQLAlchemy at execution."""
    keys = sorted(names) if isinstance(statement, UpdateBase) else None
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None  # a column default computed in Python
    order: list[str] = []
    binds: list[_Convert] = []
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        if bind.expanding or (name not in names and bind.required):
            return None  # a list to expand, or a value SQLAlchemy would have to find
        convert: _Convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name not in names:  # written into the statement (LIMIT 1, a literal)
            value = bind.effective_value
            convert = _constant(value if convert is None else convert(value))
        order.append(name)
        binds.append(convert)
    columns: list[Any] = list(statement.selected_columns) if isinstance(statement, Select) else []
    if len({c.key for c in columns}) < len(columns):
        return None  # two columns under one key (two counts, say): label them to go direct
    return _Direct(
        sql=compiled.string,
        names=tuple(order),
        binds=tuple(binds),
        keys=tuple(c.key for c in columns),
        results=tuple(_result(c.type, dialect) for c in columns),
    )


def _result(type_: TypeEngine[Any], dialect: Dialect) -> _Convert:
    return type_.dialect_impl(dialect).result_processor(dialect, None)


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda _missing: value


class Prepared:
    """A statement built once (module level), with named parameters.

    A SELECT prepared here must stay small: a row by key, or one member's rows, found
    through an index. On SQLite such a read runs on the event loop too (a WAL read waits
    for no writer; in the rare case it would, it goes to the thread instead), which saves
    a read its trip to the database thread and back."""

    __slots__ = ("_direct", "statement")

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._direct: dict[tuple[str, ...], _Direct | None] = {}

    async def _on_driver(
        self, conn: AsyncConnection, names: tuple[str, ...]
    ) -> tuple[sqlite3.Connection, _Direct, bool] | None:
        """The sqlite3 connection to run on directly, the statement as it runs there, and
        whether it is a read outside the write transaction; None to go through SQLAlchemy."""
        found = onetrip.driver(conn.sync_connection)
        if found is None:
            return None
        sqlite, writing = found
        reading = not writing and isinstance(self.statement, Select)
        if not writing and not reading:
            return None
        if names not in self._direct:
            self._direct[names] = _direct(self.statement, conn.dialect, names)
        direct = self._direct[names]
        if direct is None:
            return None
        if reading and not conn.in_transaction():
            # The snapshot the connection's later reads share: a plain BEGIN (db.py).
            conn.sync_connection.info["read_snapshot"] = True  # type: ignore[union-attr]
            await conn.begin()
        return sqlite, direct, reading

    async def all(self, conn: AsyncConnection, params: Params) -> list[Mapping[Any, Any]]:
        """Every row, as mappings of column keys to values."""
        found = await self._on_driver(conn, tuple(params))
        if found is not None:
            sqlite, direct, reading = found
            values = direct.values(params)

            def fetch() -> list[Any]:
                return sqlite.execute(direct.sql, values).fetchall()

            try:
                raw = _run(
                    direct, (lambda: onetrip.without_waiting(sqlite, fetch)) if reading else fetch
                )
            except onetrip.Busy:
                pass  # another process is in the way: the thread waits for it
            else:
                return [direct.row(r) for r in raw]
        return list((await conn.execute(self.statement, dict(params))).mappings().all())

    async def first(self, conn: AsyncConnection, params: Params) -> Mapping[Any, Any] | None:
        """The first row, as a mapping of column keys to values, or None."""
        rows = await self.all(conn, params)
        return rows[0] if rows else None

    async def scalar(self, conn: AsyncConnection, params: Params) -> Any:
        """The first column of the first row, or None."""
        row = await self.first(conn, params)
        return None if row is None else next(iter(row.values()))

    async def scalars(self, conn: AsyncConnection, params: Params) -> list[Any]:
        """The first column of every row."""
        return [next(iter(row.values())) for row in await self.all(conn, params)]

    async def write(self, conn: AsyncConnection, rows: Params | Sequence[Params]) -> int:
        """Run an INSERT/UPDATE/DELETE for one row of values or many (all with the same
        keys); return how many rows it changed."""
        many = [rows] if isinstance(rows, Mapping) else list(rows)
        if not many:
            return 0
        found = await self._on_driver(conn, tuple(many[0]))
        if found is None:
            arg: Any = dict(many[0]) if len(many) == 1 else [dict(r) for r in many]
            return int((await conn.execute(self.statement, arg)).rowcount)
        sqlite, direct, _reading = found
        if len(many) == 1:
            values = direct.values(many[0])
            return int(_run(direct, lambda: sqlite.execute(direct.sql, values).rowcount))
        table = [direct.values(r) for r in many]
        return int(_run(direct, lambda: sqlite.executemany(direct.sql, table).rowcount))


def _run(direct: _Direct, call: Callable[[], Any]) -> Any:
    """sqlite3's errors as SQLAlchemy raises them (IntegrityError, OperationalError, …)."""
    try:
        return call()
    except sqlite3.Error as error:
        raise exc.DBAPIError.instance(direct.sql, None, error, sqlite3.Error) from error
