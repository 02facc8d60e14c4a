"""What runs when: the jobs the features plan from the database, and one-off timers.

``Jobs.refresh()`` asks every feature's job sources what should run (the database is the
truth) and makes the driver's jobs equal that, under the stable ids the features choose.
One-off timers (``schedule_at``) are rows in ``timers`` run by the handler a feature
registered for their kind; each run claims its row first, so several instances run it once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from functools import partial

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select, update

from bot import metrics
from bot.context import Context
from bot.handlers import Planned
from bot.registry import Registry
from bot.scheduler import Driver
from bot.store import sql
from bot.store.schema import fires, timers

log = logging.getLogger(__name__)

TIMER = "timer:"  # the driver's id prefix for one-off timers, which Jobs itself owns
SYNC = "sync"  # the driver's id of the sync tick


class Jobs:
    def __init__(self, driver: Driver, *, registry: Registry) -> None:
        self.driver = driver
        self.registry = registry
        self._signatures: dict[str, str] = {}
        self._ctx: Context | None = None

    def bind(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def ctx(self) -> Context:
        assert self._ctx is not None, "Jobs.bind(ctx) first"
        return self._ctx

    async def start(self) -> None:
        """Catch up (fires missed, or left by a stopped instance), plan, then tick."""
        await self.sync()
        self.driver.start()

    async def sync(self, _due: datetime | None = None) -> None:
        """Bring this instance in step with the database: the features' catch-up hooks, then
        a refresh. Runs at start-up and every ``sync_seconds``, so what another instance
        changed or left takes effect here within that time."""
        for hook in self.registry.on_sync:
            await hook(self.ctx)
        await self.refresh()

    def stop(self) -> None:
        self.driver.shutdown()

    async def release(self) -> None:
        """On a normal stop: hand this instance's fires still in flight to the others now,
        rather than when their lease runs out."""
        now = self.ctx.clock.now()
        async with self.ctx.engine.begin() as conn:
            await conn.execute(
                update(fires)
                .where(
                    fires.c.holder == self.ctx.instance_id,
                    fires.c.status == "claimed",
                    fires.c.lease_until > now,
                )
                .values(lease_until=now)
            )

    # ---- the database is the truth ----------------------------------------------------

    async def refresh(self) -> None:
        """Make the driver's jobs equal what the features' sources say should run."""
        now = self.ctx.clock.now()
        planned: list[Planned] = []
        for source in self.registry.jobs:
            planned.extend(await source(self.ctx, now))
        planned.extend(await self._timers(now))
        every = self.ctx.settings.sync_seconds
        if every:
            # From the core's clock, not the wall clock APScheduler would default to: in
            # simulated time the tick must fall due in simulated time.
            tick = IntervalTrigger(seconds=every, timezone=UTC, start_date=now)
            planned.append(Planned(SYNC, f"every {every}s", tick, self.sync))
        wanted = {p.job_id: p for p in planned if p.trigger is not None}
        known = self.driver.job_ids()  # asked once: refresh runs on every sync tick
        for stale in known - set(wanted):
            self.forget(stale)
        for job in wanted.values():
            self._put(job, known)
        for job in planned:
            if job.trigger is None:  # missed while down: run late rather than never
                await job.run(now)

    def put(self, job: Planned) -> None:
        """Plan one job now (e.g. the reveal of a drop just posted); refresh keeps it."""
        self._put(job, self.driver.job_ids())

    def _put(self, job: Planned, known: set[str]) -> None:
        """Hand ``job`` to the driver unless it already has it with the same signature."""
        assert job.trigger is not None
        if self._signatures.get(job.job_id) == job.signature and job.job_id in known:
            return
        run = metrics.lagging(job.job_id, job.run, self.ctx.clock.now)
        if isinstance(job.trigger, DateTrigger):  # one-shot: forgotten once it has run
            run = partial(self._run_once, job.job_id, job.run)
        self.driver.put(job.job_id, job.trigger, run)
        self._signatures[job.job_id] = job.signature

    async def _run_once(
        self, job_id: str, run: Callable[[datetime], Awaitable[None]], due: datetime
    ) -> None:
        self._signatures.pop(job_id, None)
        await run(due)

    def next_run(self, job_id: str) -> datetime | None:
        return self.driver.next_run(job_id)

    def forget(self, job_id: str) -> None:
        self.driver.remove(job_id)
        self._signatures.pop(job_id, None)

    # ---- one-off timers ---------------------------------------------------------------

    async def _timers(self, now: datetime) -> list[Planned]:
        async with self.ctx.engine.connect() as conn:
            waiting = (
                await conn.execute(
                    select(timers.c.key, timers.c.due_at).where(timers.c.done_at.is_(None))
                )
            ).all()
        return [
            Planned(
                f"{TIMER}{key}",
                str(due_at),
                None if due_at <= now else DateTrigger(due_at),
                partial(self.run_timer, key),
            )
            for key, due_at in waiting
        ]

    async def schedule_at(
        self,
        *,
        key: str,
        when: datetime,
        action: str,
        payload: Mapping[str, object],
        platform: str,
        workspace_id: str,
    ) -> None:
        if action not in self.registry.timers:
            raise KeyError(f"no feature declares a timer of kind {action!r}")
        async with self.ctx.engine.begin() as conn:
            await sql.upsert(
                conn,
                timers,
                {
                    "platform": platform,
                    "workspace_id": workspace_id,
                    "key": key,
                    "action": action,
                    "payload": json.dumps(dict(payload)),
                    "due_at": when,
                    "done_at": None,
                },
                keys=("key",),
                update=("action", "payload", "due_at", "done_at"),
            )
        self.put(
            Planned(f"{TIMER}{key}", str(when), DateTrigger(when), partial(self.run_timer, key))
        )

    async def cancel(self, key: str) -> None:
        async with self.ctx.engine.begin() as conn:
            await conn.execute(delete(timers).where(timers.c.key == key))
        self.forget(f"{TIMER}{key}")

    async def run_timer(self, key: str, _due: datetime) -> None:
        async with self.ctx.engine.begin() as conn:
            won = await conn.execute(
                update(timers)
                .where(timers.c.key == key, timers.c.done_at.is_(None))
                .values(done_at=self.ctx.clock.now())
            )
            if not won.rowcount:
                return
            row = (await conn.execute(select(timers).where(timers.c.key == key))).mappings().one()
        handler = self.registry.timers.get(row["action"])
        if handler is None:
            log.error("timer %s has no handler for %r", key, row["action"])
            return
        await handler(self.ctx, json.loads(row["payload"]))
