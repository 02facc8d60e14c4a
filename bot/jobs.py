"""What runs when: scheduled drops, reveal timers, weekly digests and one-off timers.

``Jobs.refresh()`` rebuilds the driver's jobs from the database (the truth) under stable ids:
``schedule:<id>``, ``reveal:<drop id>``, ``digest:<platform>:<workspace>:<channel>`` and
``timer:<key>``. Each run claims its firing first, so several instances post once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import RowMapping, delete, func, select, update

from bot import bank
from bot.chat import Place
from bot.context import Context, workspace_tz
from bot.ports import PlatformError
from bot.scheduler import Driver, claim, cron_trigger, fire_times, next_fire
from bot.store import ops
from bot.store.schema import drops, fires, mock_settings, schedules, timers
from bot.timespec import DAYS

log = logging.getLogger(__name__)

TimerHandler = Callable[[Context, Mapping[str, object]], Awaitable[None]]
MAX_CATCH_UP = 100  # fires looked at per schedule after downtime
DIGEST_CRON = "0 9 * * mon"  # Monday 09:00 in the workspace's time zone


def reveal_time(trigger: BaseTrigger, due: datetime, minutes: int | None) -> datetime:
    """When a scheduled drop is revealed: after ``minutes`` if set, else just before the
    next drop and at most 24 h later, never sooner than 5 minutes."""
    if minutes:
        return due + timedelta(minutes=minutes)
    latest = due + timedelta(hours=24)
    upcoming = next_fire(trigger, due)
    if upcoming is not None:
        latest = min(latest, upcoming - timedelta(minutes=1))
    return max(latest, due + timedelta(minutes=5))


class Jobs:
    def __init__(self, driver: Driver, *, grace: timedelta) -> None:
        self.driver = driver
        self.grace = grace
        self.handlers: dict[str, TimerHandler] = {}
        self._signatures: dict[str, str] = {}
        self._ctx: Context | None = None

    def bind(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def ctx(self) -> Context:
        assert self._ctx is not None, "Jobs.bind(ctx) first"
        return self._ctx

    def on(self, action: str, handler: TimerHandler) -> None:
        self.handlers[action] = handler

    async def start(self) -> None:
        await self.catch_up()
        await self.refresh()
        self.driver.start()

    def stop(self) -> None:
        self.driver.shutdown()

    # ---- the database is the truth ----------------------------------------------------

    async def refresh(self) -> None:
        """Make the driver's jobs equal what the database says should run."""
        wanted: dict[str, tuple[str, BaseTrigger, Callable[[datetime], Awaitable[None]]]] = {}
        overdue: list[Callable[[datetime], Awaitable[None]]] = []
        now = self.ctx.clock.now()
        async with self.ctx.engine.connect() as conn:
            active = (
                (await conn.execute(select(schedules).where(schedules.c.paused.is_(False))))
                .mappings()
                .all()
            )
            pending = (
                await conn.execute(
                    select(drops.c.id, drops.c.reveal_at).where(
                        drops.c.reveal_at.is_not(None), drops.c.revealed_at.is_(None)
                    )
                )
            ).all()
            waiting = (
                await conn.execute(
                    select(timers.c.key, timers.c.due_at).where(timers.c.done_at.is_(None))
                )
            ).all()
            mock_rounds_due = (await conn.execute(select(mock_settings))).mappings().all()
            zones: dict[tuple[str, str], ZoneInfo] = {}
            for row in [*active, *mock_rounds_due]:
                scope = (row["platform"], row["workspace_id"])
                if scope not in zones:
                    zones[scope] = await workspace_tz(conn, *scope)
        for row in active:
            job = f"schedule:{row['id']}"
            signature = f"{row['cron']}|{row['timezone']}"
            trigger = cron_trigger(row["cron"], row["timezone"])
            wanted[job] = (signature, trigger, partial(self.fire_schedule, int(row["id"])))
            zone = zones[(row["platform"], row["workspace_id"])]
            digest = f"digest:{row['platform']}:{row['workspace_id']}:{row['channel_id']}"
            wanted[digest] = (
                f"{DIGEST_CRON}|{zone.key}",
                cron_trigger(DIGEST_CRON, zone.key),
                partial(self.digest, row["platform"], row["workspace_id"], row["channel_id"]),
            )
        run: Callable[[datetime], Awaitable[None]]
        for row in mock_rounds_due:
            scope = (row["platform"], row["workspace_id"])
            mock_zone = zones[scope].key
            hour, minute = (int(x) for x in row["time"].split(":"))
            day = row["weekday"]
            before = DAYS[(DAYS.index(day) - 1) % 7]
            wanted[f"mock:{scope[0]}:{scope[1]}"] = (
                f"{day} {row['time']}|{mock_zone}",
                cron_trigger(f"{minute} {hour} * * {day}", mock_zone),
                partial(self.mock_round, *scope),
            )
            wanted[f"mock-notice:{scope[0]}:{scope[1]}"] = (
                f"{before} {row['time']}|{mock_zone}",
                cron_trigger(f"{minute} {hour} * * {before}", mock_zone),
                partial(self.mock_notice, *scope),
            )
        for drop_id, reveal_at in pending:
            run = partial(self.reveal, int(drop_id))
            if reveal_at <= now:
                overdue.append(run)  # missed while down: reveal late rather than never
            else:
                wanted[f"reveal:{drop_id}"] = (str(reveal_at), DateTrigger(reveal_at), run)
        for key, due_at in waiting:
            run = partial(self.run_timer, key)
            if due_at <= now:
                overdue.append(run)
            else:
                wanted[f"timer:{key}"] = (str(due_at), DateTrigger(due_at), run)
        for job in self.driver.job_ids() - set(wanted):
            self.driver.remove(job)
            self._signatures.pop(job, None)
        for job, (signature, trigger, run) in wanted.items():
            if self._signatures.get(job) != signature or job not in self.driver.job_ids():
                self.driver.put(job, trigger, run)
                self._signatures[job] = signature
        for run in overdue:
            await run(now)

    def next_run(self, job_id: str) -> datetime | None:
        return self.driver.next_run(job_id)

    def forget(self, job_id: str) -> None:
        self.driver.remove(job_id)
        self._signatures.pop(job_id, None)

    async def catch_up(self) -> None:
        """Fires missed while no instance ran: post once if within the grace window,
        else record them as missed so admins see it in /schedule list."""
        now = self.ctx.clock.now()
        async with self.ctx.engine.connect() as conn:
            active = (
                (await conn.execute(select(schedules).where(schedules.c.paused.is_(False))))
                .mappings()
                .all()
            )
            latest = dict(
                (
                    await conn.execute(
                        select(fires.c.job, func.max(fires.c.fire_time)).group_by(fires.c.job)
                    )
                ).all()
            )
        for row in active:
            job = f"schedule:{row['id']}"
            since = max(row["updated_at"], latest.get(job) or row["updated_at"])
            trigger = cron_trigger(row["cron"], row["timezone"])
            for due in fire_times(trigger, since, now)[-MAX_CATCH_UP:]:
                if now - due <= self.grace:
                    await self.fire_schedule(int(row["id"]), due)
                else:
                    await self._record(row, due, status="missed", detail="the bot was not running")

    # ---- the jobs ---------------------------------------------------------------------

    async def _record(
        self, row: RowMapping, due: datetime, *, status: str, detail: str = ""
    ) -> int | None:
        local = due.astimezone(ZoneInfo(row["timezone"])).strftime("%Y-%m-%dT%H:%M")
        async with self.ctx.engine.begin() as conn:
            claim_id = await claim(
                conn,
                platform=row["platform"],
                workspace_id=row["workspace_id"],
                job=f"schedule:{row['id']}",
                fire_time=due,
                local_time=local,
                now=self.ctx.clock.now(),
                status=status,
            )
            if claim_id is not None and detail:
                await conn.execute(
                    update(fires).where(fires.c.id == claim_id).values(detail=detail)
                )
        return claim_id

    async def fire_schedule(self, schedule_id: int, due: datetime) -> None:
        from bot.features import drops as drops_feature

        async with self.ctx.engine.connect() as conn:
            row = (
                (await conn.execute(select(schedules).where(schedules.c.id == schedule_id)))
                .mappings()
                .first()
            )
        if row is None or row["paused"]:
            return
        claim_id = await self._record(row, due, status="claimed")
        if claim_id is None:
            return  # another instance (or an earlier run) has this firing
        trigger = cron_trigger(row["cron"], row["timezone"])
        reveal_at = reveal_time(trigger, due, row["reveal_minutes"])
        place = Place(row["platform"], row["workspace_id"], row["channel_id"])
        filters = bank.Filters(topic=row["topic"], difficulty=row["difficulty"], kind=row["kind"])
        values: dict[str, object]
        try:
            posted = await drops_feature.post_drop(
                self.ctx,
                place=place,
                filters=filters,
                posted_by=f"schedule:{schedule_id}",
                schedule_id=schedule_id,
                reveal_at=reveal_at,
            )
        except PlatformError as exc:
            values = {"status": "failed", "detail": str(exc)}
        else:
            if posted is None:
                values = {"status": "empty", "detail": "no question matches the filters"}
            else:
                values = {
                    "status": "posted",
                    "drop_id": posted.drop_id,
                    "message_id": posted.message_id,
                }
                self.driver.put(
                    f"reveal:{posted.drop_id}",
                    DateTrigger(reveal_at),
                    partial(self.reveal, posted.drop_id),
                )
                self._signatures[f"reveal:{posted.drop_id}"] = str(reveal_at)
        async with self.ctx.engine.begin() as conn:
            await conn.execute(update(fires).where(fires.c.id == claim_id).values(**values))

    async def reveal(self, drop_id: int, _due: datetime) -> None:
        from bot.features import answers

        self._signatures.pop(f"reveal:{drop_id}", None)
        try:
            await answers.reveal(self.ctx, drop_id)
        except PlatformError as exc:
            log.warning("scheduled reveal of drop %s failed: %s", drop_id, exc)

    async def digest(
        self, platform: str, workspace_id: str, channel_id: str, due: datetime
    ) -> None:
        from bot.features import digest

        job = f"digest:{platform}:{workspace_id}:{channel_id}"
        claim_id = await self._claim_local(job, platform, workspace_id, due, status="claimed")
        if claim_id is None:
            return
        status = await digest.post_weekly(
            self.ctx, place=Place(platform, workspace_id, channel_id), due=due
        )
        async with self.ctx.engine.begin() as conn:
            await conn.execute(update(fires).where(fires.c.id == claim_id).values(status=status))

    async def _claim_local(
        self, job: str, platform: str, workspace_id: str, due: datetime, *, status: str
    ) -> int | None:
        """Claim a firing keyed by local time in the workspace's zone; the id if won."""
        async with self.ctx.engine.begin() as conn:
            tz = await workspace_tz(conn, platform, workspace_id)
            return await claim(
                conn,
                platform=platform,
                workspace_id=workspace_id,
                job=job,
                fire_time=due,
                local_time=due.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
                now=self.ctx.clock.now(),
                status=status,
            )

    async def _claim_weekly(
        self, job: str, platform: str, workspace_id: str, due: datetime
    ) -> bool:
        won = await self._claim_local(job, platform, workspace_id, due, status="posted")
        return won is not None

    async def mock_round(self, platform: str, workspace_id: str, due: datetime) -> None:
        from bot.features import mocks

        if await self._claim_weekly(f"mock:{platform}:{workspace_id}", platform, workspace_id, due):
            await mocks.run_round(self.ctx, platform=platform, workspace_id=workspace_id)

    async def mock_notice(self, platform: str, workspace_id: str, due: datetime) -> None:
        from bot.features import mocks

        if await self._claim_weekly(
            f"mock-notice:{platform}:{workspace_id}", platform, workspace_id, due
        ):
            await mocks.notice(self.ctx, platform=platform, workspace_id=workspace_id)

    # ---- one-off timers ---------------------------------------------------------------

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
        if action not in self.handlers:
            raise KeyError(f"no timer handler registered for {action!r}")
        async with self.ctx.engine.begin() as conn:
            await ops.upsert(
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
        self.driver.put(f"timer:{key}", DateTrigger(when), partial(self.run_timer, key))
        self._signatures[f"timer:{key}"] = str(when)

    async def cancel(self, key: str) -> None:
        async with self.ctx.engine.begin() as conn:
            await conn.execute(delete(timers).where(timers.c.key == key))
        self.forget(f"timer:{key}")

    async def run_timer(self, key: str, _due: datetime) -> None:
        self._signatures.pop(f"timer:{key}", None)
        async with self.ctx.engine.begin() as conn:
            won = await conn.execute(
                update(timers)
                .where(timers.c.key == key, timers.c.done_at.is_(None))
                .values(done_at=self.ctx.clock.now())
            )
            if not won.rowcount:
                return
            row = (await conn.execute(select(timers).where(timers.c.key == key))).mappings().one()
        handler = self.handlers.get(row["action"])
        if handler is None:
            log.error("timer %s has no handler for %r", key, row["action"])
            return
        await handler(self.ctx, json.loads(row["payload"]))
