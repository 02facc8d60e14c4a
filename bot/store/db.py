"""Engine creation and start-up migrations."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store import onetrip

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # 20 connections: timed work uses at most FIRE_WORKERS (bot/scheduler.py) of them,
        # members' presses the rest; past that a press waits its turn (POOL_WAIT seconds).
        # All 20 are kept once opened: with 5 kept and 15 on demand, each burst of presses
        # opened (a server process forked, types introspected) and closed 15 connections.
        return create_async_engine(
            url, pool_pre_ping=True, pool_size=20, max_overflow=0, pool_timeout=POOL_WAIT
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        # check_same_thread: a write transaction's statements run on the event loop's
        # thread (onetrip.run_inline); every use of a connection is still one at a time.
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        module=onetrip.dbapi(),
    )
    _control_transactions(engine)
    return _GatedEngine(engine.sync_engine)


MAX_GROUP = 64  # write transactions committed together at most


class _Batch:
    """One SQLite transaction shared by consecutive writers, each in its own savepoint."""

    def __init__(self, conn: AsyncConnection, dbapi: Any) -> None:
        self.conn = conn
        self.dbapi = dbapi
        self.members = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done.add_done_callback(lambda f: f.exception())  # nobody may be left to ask


class _Group:
    """A pool's writers: the turn, how many wait for it, and the transaction they share."""

    def __init__(self) -> None:
        self.gate = asyncio.Lock()
        self.waiting = 0
        self.batch: _Batch | None = None


_GROUPS: weakref.WeakKeyDictionary[Any, _Group] = weakref.WeakKeyDictionary()


class _GatedEngine(AsyncEngine):
    """A SQLite engine whose write transactions (``begin()``) take turns inside the process
    and are committed in groups.

    Turns: SQLite has one writer at a time anyway; queueing here (in order, on the event
    loop) replaces its busy handler's sleep-and-retry polling, which left a burst of presses
    waiting up to a second for a lock that was free most of the time. Other processes are
    still kept out by SQLite's own lock and busy timeout.

    Group commit: a writer that finishes while others wait for their turn leaves the
    transaction open for them (its work is in a savepoint, released), and the last of the
    group, or the 64th, commits for all. Each writer's ``begin()`` returns only once that
    commit is done, so nothing is acknowledged before it is durable, and a failed commit is
    every member's failure (none of them saved anything). A writer whose block raises rolls
    back its own savepoint and leaves the others' work alone (the first of a group needs no
    savepoint: its failure rolls back a transaction holding nothing else). Alone, a writer
    commits at once, as before. One BEGIN IMMEDIATE and one COMMIT serve a burst instead of
    one each."""

    @property
    def _group(self) -> _Group:
        pool = self.sync_engine.pool  # shared by execution_options() copies
        group = _GROUPS.get(pool)
        if group is None:
            group = _GROUPS[pool] = _Group()
        return group

    def execution_options(self, **opt: Any) -> AsyncEngine:
        return _GatedEngine(self.sync_engine.execution_options(**opt))

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        # Writers in this process queue here however long it takes (in order, never
        # failing); LOCK_WAIT still bounds the wait for another process's lock in SQLite.
        group = self._group
        group.waiting += 1
        try:
            await group.gate.acquire()
        finally:
            group.waiting -= 1
        try:
            batch = group.batch or await self._open(group)
            first = batch.members == 0  # nothing to protect yet: no savepoint needed
            try:
                if first:
                    yield batch.conn
                else:
                    async with batch.conn.begin_nested():
                        yield batch.conn
                batch.members += 1
            except BaseException:
                if first:  # the transaction holds only this writer's work: roll it all back
                    await self._close(group, batch)
                raise
            finally:
                if group.batch is batch and (batch.members >= MAX_GROUP or not group.waiting):
                    await self._close(group, batch)
        finally:
            group.gate.release()
        await asyncio.shield(batch.done)

    async def _open(self, group: _Group) -> _Batch:
        conn = await super().connect()
        try:
            await conn.begin()
            raw = await conn.get_raw_connection()
        except BaseException:
            await conn.close()
            raise
        group.batch = _Batch(conn, raw.dbapi_connection)
        onetrip.run_inline(group.batch.dbapi, True)  # the lock is ours: no statement waits
        return group.batch

    @staticmethod
    async def _close(group: _Group, batch: _Batch) -> None:
        group.batch = None
        onetrip.run_inline(batch.dbapi, False)  # COMMIT may checkpoint: on the thread
        try:
            if batch.members:
                await batch.conn.commit()
            else:
                await batch.conn.rollback()
        except BaseException as exc:
            batch.done.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            # Whatever state the failure left the connection in, it is not reused: closing
            # it for good makes SQLite roll back anything still open.
            await batch.conn.invalidate()
            raise
        finally:
            await batch.conn.close()
        batch.done.set_result(None)


POOL_WAIT = 60  # seconds a PostgreSQL transaction may wait for a free connection
BUSY_TIMEOUT_S = 30  # how long a writer waits for another to commit before giving up
# Execution option: seconds a write that may be skipped waits for SQLite's lock, e.g.
# ``engine.execution_options(sqlite_lock_wait=0.2).begin()`` (ignored on PostgreSQL).
LOCK_WAIT = "sqlite_lock_wait"


def _control_transactions(engine: AsyncEngine) -> None:
    """SQLite transactions that begin where the code says, taking the write lock up front.

    Left to itself, Python's sqlite3 starts a transaction only at the first INSERT/UPDATE, so a
    SELECT before it (is the drop still open?) reads outside the transaction and a reveal can
    commit in between. Here the driver's own handling is off and every transaction begins
    explicitly: ``engine.begin()`` (a write) with ``BEGIN IMMEDIATE``, which waits for any other
    writer and then holds the lock, so an answer and a reveal are strictly ordered; a read on
    ``engine.connect()`` with a plain ``BEGIN``: a consistent snapshot that never waits (WAL).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "before_execute")
    def _note_autobegin(conn: Connection, *_args: Any, **_kwargs: Any) -> None:
        if not conn.in_transaction():  # engine.connect(): the statement will autobegin
            conn.info["read_snapshot"] = True

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.info.pop("read_snapshot", False):
            conn.exec_driver_sql("BEGIN")
            return
        wait = conn.get_execution_options().get(LOCK_WAIT)
        if wait is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # Bookkeeping that may be skipped: wait briefly for the lock, then give up.
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config  # only when there is migrating to do: it is slow to import

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str:
    """The newest migration's revision id: by convention, its file name's number prefix."""
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _upgrade(connection: Connection, revision: str) -> None:
    if revision == "head" and _current(connection) == head_revision():
        return  # already there (most start-ups): alembic is not even imported
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; several instances starting at once take turns."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        await conn.run_sync(_upgrade, revision)
