"""Timed work on APScheduler 3.x: drivers, trigger maths and exactly-once claims.

The database is the truth: jobs are rebuilt from it at start-up and after every change, under
stable ids. Every instance runs the same jobs; a claim row decides which one does the work.

Two drivers run jobs: ``APSchedulerDriver`` (production: ``AsyncIOScheduler`` with its
in-memory job store) and ``ManualDriver`` (tests and the console's ``--sim-clock``), which
runs everything that falls due, in order, when told to advance a ManualClock.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.ports import Clock, ManualClock
from bot.store import sql
from bot.store.schema import fires

log = logging.getLogger(__name__)

JobFunc = Callable[[datetime], Awaitable[None]]  # called with the time the job was due


class Driver(Protocol):
    def put(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        """Add or replace a job under a stable id."""
        ...

    def remove(self, job_id: str) -> None: ...

    def job_ids(self) -> set[str]: ...

    def next_run(self, job_id: str) -> datetime | None: ...

    def start(self) -> None: ...

    def shutdown(self) -> None: ...


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first fire time after ``after``, in UTC.

    Cursors are handed to APScheduler in UTC: given a local time on the second pass of an
    autumn DST hour (fold=1), CronTrigger 3.x loses the fold and returns the same instant
    forever.
    """
    nxt: datetime | None = trigger.get_next_fire_time(
        None, after.astimezone(UTC) + timedelta(seconds=1)
    )
    return None if nxt is None else nxt.astimezone(UTC)


def fire_times(trigger: BaseTrigger, after: datetime, until: datetime) -> list[datetime]:
    """Every time the trigger fires in (after, until], in order, in UTC."""
    out: list[datetime] = []
    cursor = after
    while (nxt := next_fire(trigger, cursor)) is not None and nxt <= until:
        out.append(nxt)
        cursor = nxt
    return out


def last_fire(trigger: BaseTrigger, at: datetime, *, lookback: timedelta) -> datetime | None:
    """The latest fire time at or before ``at`` (what a job that just ran was due for)."""
    times = fire_times(trigger, at - lookback, at)
    return times[-1] if times else None


# Timed work running at once, at most: a thousand schedules at 09:00 queue for these instead
# of all holding database connections and outbound slots together. Fewer than the PostgreSQL
# pool's connections (bot/store/db.py), so members' presses always find one.
FIRE_WORKERS = 8


@dataclass
class APSchedulerDriver:
    """Production driver: APScheduler's AsyncIOScheduler with the in-memory job store; the
    jobs it starts take turns for ``FIRE_WORKERS`` workers."""

    clock: Clock
    grace: timedelta
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone=UTC))
    _triggers: dict[str, BaseTrigger] = field(default_factory=dict)
    _workers: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(FIRE_WORKERS))

    def put(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        self._triggers[job_id] = trigger

        async def run() -> None:
            if isinstance(trigger, DateTrigger):
                due = trigger.run_date
            elif isinstance(trigger, IntervalTrigger):  # the sync tick: no fire time to key on
                due = self.clock.now()
            else:
                due = last_fire(trigger, self.clock.now(), lookback=self.grace + timedelta(days=8))
            async with self._workers:
                await func(due or self.clock.now())

        self.scheduler.add_job(
            run,
            trigger=trigger,
            id=job_id,
            replace_existing=True,
            misfire_grace_time=int(self.grace.total_seconds()),
            coalesce=True,
            max_instances=1,
        )

    def remove(self, job_id: str) -> None:
        self._triggers.pop(job_id, None)
        if self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)

    def job_ids(self) -> set[str]:
        return {job.id for job in self.scheduler.get_jobs()}

    def next_run(self, job_id: str) -> datetime | None:
        trigger = self._triggers.get(job_id)
        return None if trigger is None else next_fire(trigger, self.clock.now())

    def start(self) -> None:
        if not self.scheduler.running:
            self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


@dataclass
class _ManualJob:
    trigger: BaseTrigger
    func: JobFunc
    cursor: datetime  # fire times after this are still to run


@dataclass
class ManualDriver:
    """Runs jobs when a ManualClock is advanced: every due fire, in time order."""

    clock: ManualClock
    jobs: dict[str, _ManualJob] = field(default_factory=dict)
    ran: list[tuple[datetime, str]] = field(default_factory=list)

    def put(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        cursor = self.clock.now()
        if isinstance(trigger, DateTrigger):
            cursor = min(cursor, trigger.run_date - timedelta(seconds=1))
        self.jobs[job_id] = _ManualJob(trigger, func, cursor)

    def remove(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)

    def job_ids(self) -> set[str]:
        return set(self.jobs)

    def next_run(self, job_id: str) -> datetime | None:
        job = self.jobs.get(job_id)
        if job is None:
            return None
        if isinstance(job.trigger, DateTrigger):
            run_date: datetime = job.trigger.run_date
            return run_date
        return next_fire(job.trigger, job.cursor)

    def _due(self, until: datetime) -> tuple[datetime, str] | None:
        best: tuple[datetime, int, str] | None = None
        for job_id in self.jobs:
            when = self.next_run(job_id)
            if when is None or when > until:
                continue
            # At the same instant, reveals and timers run before new drops.
            rank = 0 if not job_id.startswith("schedule:") else 1
            if best is None or (when, rank, job_id) < best:
                best = (when, rank, job_id)
        return None if best is None else (best[0], best[2])

    def next_due(self) -> datetime | None:
        times = [t for job_id in self.jobs if (t := self.next_run(job_id)) is not None]
        return min(times, default=None)

    async def advance_to(self, until: datetime) -> list[tuple[datetime, str]]:
        """Move the clock to ``until``, running each job as its time comes."""
        done: list[tuple[datetime, str]] = []
        while (due := self._due(until)) is not None:
            when, job_id = due
            job = self.jobs[job_id]
            if when > self.clock.now():
                self.clock.current = when
            if isinstance(job.trigger, DateTrigger):
                del self.jobs[job_id]
            else:
                job.cursor = when
            done.append((when, job_id))
            self.ran.append((when, job_id))
            await job.func(when)
        if until > self.clock.now():
            self.clock.current = until
        return done

    def start(self) -> None:
        return None

    def shutdown(self) -> None:
        return None


def local_key(due: datetime, zone: tzinfo) -> str:
    """A firing's wall-clock time in its zone: the claim key that survives the DST fold."""
    return due.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


async def claim(
    conn: AsyncConnection,
    *,
    platform: str,
    workspace_id: str,
    job: str,
    fire_time: datetime,
    local_time: str,
    now: datetime,
    status: str = "claimed",
    holder: str | None = None,
    lease: timedelta | None = None,
) -> int | None:
    """Claim one firing; the claim's id if this instance won it, else None.

    The first instance inserts the claim. With a ``lease``, the claim says who holds it and
    until when; a claim still ``claimed`` whose lease has run out (its holder died, stopped,
    or backs off after a transient failure) is taken over here instead.
    """
    this = (fires.c.job == job, fires.c.local_time == local_time)
    lease_until = now + lease if lease is not None else None
    won = await sql.insert_ignore(
        conn,
        fires,
        {
            "platform": platform,
            "workspace_id": workspace_id,
            "job": job,
            "fire_time": fire_time,
            "local_time": local_time,
            "status": status,
            "claimed_at": now,
            "holder": holder,
            "lease_until": lease_until,
        },
        keys=("job", "local_time"),
    )
    if not won:
        if lease is None:
            return None
        taken = await conn.execute(
            update(fires)
            .where(*this, fires.c.status == "claimed", fires.c.lease_until <= now)
            .values(holder=holder, lease_until=lease_until, attempts=fires.c.attempts + 1)
        )
        if not taken.rowcount:
            return None
    claim_id = await conn.scalar(fires.select().with_only_columns(fires.c.id).where(*this))
    return int(claim_id) if claim_id is not None else None


@functools.lru_cache(maxsize=4096)
def cron_trigger(cron: str, timezone: str) -> CronTrigger:
    """A trigger from our stored five-field cron (weekdays as names, crontab meaning)."""
    minute, hour, day, month, day_of_week = cron.split()
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=timezone
    )


class PacedDriver:
    """Runs jobs on a clock that moves by itself (``ScaledClock``): a task checks every
    ``tick`` seconds what fell due and runs it, in time order, as ``ManualDriver`` does."""

    def __init__(self, clock: Clock, *, tick: float = 0.02) -> None:
        self.clock = clock
        self.tick = tick
        self.inner = ManualDriver(ManualClock(clock.now()))
        self._task: asyncio.Task[None] | None = None

    def put(self, job_id: str, trigger: BaseTrigger, func: JobFunc) -> None:
        self.inner.clock.current = max(self.inner.clock.current, self.clock.now())
        self.inner.put(job_id, trigger, func)

    def remove(self, job_id: str) -> None:
        self.inner.remove(job_id)

    def job_ids(self) -> set[str]:
        return self.inner.job_ids()

    def next_run(self, job_id: str) -> datetime | None:
        return self.inner.next_run(job_id)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            try:
                await self.inner.advance_to(self.clock.now())
            except Exception:  # one job's failure must not stop time
                log.exception("a timed job failed")
            await asyncio.sleep(self.tick)

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
