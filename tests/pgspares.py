"""Fresh PostgreSQL databases made ahead and dropped behind, on a thread of their own.

``CREATE DATABASE … TEMPLATE`` takes about 70 ms and ``DROP DATABASE`` about 30 ms on this
kind of machine, most of it PostgreSQL writing and syncing files. Done in the fixture, that
was a tenth of a second of every PostgreSQL test's own time; done here, it overlaps the tests
that run meanwhile. Each database is still a fresh copy of the migrated template, used by one
test and dropped.

The copies commit without waiting for their WAL to reach the disk (``synchronous_commit =
off``, set on each copy alone): a test database is never read back after a server crash, and
the flush on every commit made PostgreSQL's side of the 40-round answer race take 13.9 s
where it now takes 10.8 s.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import uuid

AHEAD = 2  # copies kept ready: one for the next test, one being made


async def create_database(conn: object, name: str, template: str | None = None) -> None:
    """Create database ``name`` (a copy of ``template``, if given) over the admin connection
    ``conn``, committing without waiting for the disk (see above)."""
    import asyncpg

    assert isinstance(conn, asyncpg.Connection)
    copy = f' TEMPLATE "{template}"' if template else ""
    await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


class Spares:
    """Copies of ``template`` on the server at ``dsn``: ``take()`` one, ``give_back()`` it
    when the test is done, ``close()`` at the end of the session."""

    def __init__(self, dsn: str, template: str) -> None:
        self._dsn = dsn
        self._template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        # (priority, order, job): a copy a test may be waiting for comes before a drop,
        # and both before the stop.
        self._jobs: queue.PriorityQueue[tuple[int, int, str | None]] = queue.PriorityQueue()
        self._order = itertools.count()
        for _ in range(AHEAD):
            self._job(0, "")
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()

    def _job(self, priority: int, job: str | None) -> None:
        self._jobs.put((priority, next(self._order), job))

    def take(self, timeout: float = 60.0) -> str:
        """A fresh copy's name; raises what stopped the thread from making one."""
        got = self._ready.get(timeout=timeout)
        if isinstance(got, BaseException):
            self._ready.put(got)  # every later take fails the same way
            raise got
        self._job(0, "")
        return got

    def give_back(self, name: str) -> None:
        self._job(1, name)

    def close(self) -> None:
        self._job(2, None)
        self._thread.join(timeout=60)

    async def _serve(self) -> None:
        import asyncpg

        try:
            conn = await asyncpg.connect(self._dsn, timeout=5)
        except (OSError, asyncpg.PostgresError) as error:
            self._ready.put(error)
            return
        try:
            await self._work(conn)
        finally:
            while not self._ready.empty():  # made ahead, never taken
                left = self._ready.get()
                if isinstance(left, str):
                    await conn.execute(f'DROP DATABASE IF EXISTS "{left}" WITH (FORCE)')
            await conn.close()

    async def _work(self, conn: object) -> None:
        import asyncpg

        assert isinstance(conn, asyncpg.Connection)
        while True:
            _, _, job = self._jobs.get()  # this thread has nothing else to do meanwhile
            if job is None:
                return
            if job:
                await conn.execute(f'DROP DATABASE IF EXISTS "{job}" WITH (FORCE)')
                continue
            name = f"studybot_{uuid.uuid4().hex[:12]}"
            try:
                await create_database(conn, name, self._template)
            except (OSError, asyncpg.PostgresError) as error:
                self._ready.put(error)
                return
            self._ready.put(name)
