"""Scheduled drops firing: each schedule's cron becomes a job; a fire is claimed, then posted.

Fires missed while no instance ran are posted once if still inside the grace window, else
recorded as missed so admins see it in /schedule list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import RowMapping, func, select, update

from bot import bank
from bot.chat import Place
from bot.claims import LEASE, resume_left
from bot.context import Context
from bot.features import drops as drops_feature
from bot.features import reveal
from bot.handlers import Planned
from bot.ports import PlatformError
from bot.scheduler import claim, cron_trigger, fire_times, local_key, next_fire
from bot.store.schema import fires, schedules

log = logging.getLogger(__name__)

MAX_CATCH_UP = 100  # fires looked at per schedule after downtime
BACKOFF_MINUTES = (1, 2, 4, 8, 16)  # waits between attempts after a transient failure


def job_id(schedule_id: int) -> str:
    return f"schedule:{schedule_id}"


@dataclass(frozen=True)
class Schedule:
    """A schedule as the firing path reads it."""

    id: int
    place: Place
    cron: str
    timezone: str
    filters: bank.Filters
    reveal_minutes: int | None
    paused: bool
    updated_at: datetime

    @property
    def trigger(self) -> BaseTrigger:
        return cron_trigger(self.cron, self.timezone)

    @property
    def signature(self) -> str:
        """What its planned job depends on: a change re-plans it on every instance."""
        return f"{self.cron}|{self.timezone}"

    @classmethod
    def of(cls, row: RowMapping) -> Schedule:
        return cls(
            id=int(row["id"]),
            place=Place(row["platform"], row["workspace_id"], row["channel_id"]),
            cron=row["cron"],
            timezone=row["timezone"],
            filters=bank.Filters(
                topic=row["topic"], difficulty=row["difficulty"], kind=row["kind"]
            ),
            reveal_minutes=row["reveal_minutes"],
            paused=bool(row["paused"]),
            updated_at=row["updated_at"],
        )


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


async def _active(ctx: Context) -> list[Schedule]:
    async with ctx.engine.connect() as conn:
        query = select(schedules).where(schedules.c.paused.is_(False))
        return [Schedule.of(row) for row in (await conn.execute(query)).mappings().all()]


async def planned(ctx: Context, _now: datetime) -> list[Planned]:
    """One cron job per active schedule, re-planned when its cron or zone changes."""
    return [
        Planned(
            job_id(schedule.id),
            schedule.signature,
            schedule.trigger,
            partial(fire_schedule, ctx, schedule.id, planned_as=schedule.signature),
        )
        for schedule in await _active(ctx)
    ]


async def catch_up(ctx: Context) -> None:
    """Fires missed while no instance ran: post once inside the grace window, else record
    them as missed. Also fills gaps inside the window: a fire whose instance died before
    claiming it, while the other instance only planned the schedule after that time and has
    posted later fires since."""
    now = ctx.clock.now()
    floor = now - timedelta(minutes=ctx.settings.grace_minutes)
    active = await _active(ctx)
    latest, recent = await _fired(ctx, [job_id(s.id) for s in active], floor)

    async def again(job: str, due: datetime) -> None:
        await fire_schedule(ctx, int(job.split(":", 1)[1]), due)

    await resume_left(ctx, "schedule", again)
    for schedule in active:
        job = job_id(schedule.id)
        since = max(schedule.updated_at, latest.get(job) or schedule.updated_at)
        for due in fire_times(schedule.trigger, since, now)[-MAX_CATCH_UP:]:
            if due >= floor:
                await fire_schedule(ctx, schedule.id, due)
            else:
                await _record(ctx, schedule, due, status="missed", detail="the bot was not running")
        start = max(schedule.updated_at, floor)
        for due in fire_times(schedule.trigger, start, since)[-MAX_CATCH_UP:]:
            if (job, due) not in recent:
                await fire_schedule(ctx, schedule.id, due)


async def _fired(
    ctx: Context, jobs: list[str], floor: datetime
) -> tuple[dict[str, datetime], set[tuple[str, datetime]]]:
    """Each job's latest fire, and its fires inside the grace window (index seeks)."""
    async with ctx.engine.connect() as conn:
        latest = dict(
            (
                await conn.execute(
                    select(fires.c.job, func.max(fires.c.fire_time))
                    .where(fires.c.job.in_(jobs))
                    .group_by(fires.c.job)
                )
            ).all()
        )
        recent = (
            await conn.execute(
                select(fires.c.job, fires.c.fire_time).where(
                    fires.c.job.in_(jobs), fires.c.fire_time >= floor
                )
            )
        ).all()
    return latest, {(job, when) for job, when in recent}


async def _record(
    ctx: Context, schedule: Schedule, due: datetime, *, status: str, detail: str = ""
) -> int | None:
    async with ctx.engine.begin() as conn:
        claim_id = await claim(
            conn,
            platform=schedule.place.platform,
            workspace_id=schedule.place.workspace_id,
            job=job_id(schedule.id),
            fire_time=due,
            local_time=local_key(due, ZoneInfo(schedule.timezone)),
            now=ctx.clock.now(),
            status=status,
            holder=ctx.instance_id,
            lease=LEASE if status == "claimed" else None,
        )
        if claim_id is not None and detail:
            await conn.execute(update(fires).where(fires.c.id == claim_id).values(detail=detail))
    return claim_id


async def fire_schedule(
    ctx: Context, schedule_id: int, due: datetime, *, planned_as: str | None = None
) -> None:
    """Claim this firing; if won, post the drop and plan its reveal. A run planned from an
    older version of the schedule (``planned_as``, its cron and zone) is dropped."""
    async with ctx.engine.connect() as conn:
        query = select(schedules).where(schedules.c.id == schedule_id)
        row = (await conn.execute(query)).mappings().first()
    if row is None or row["paused"]:
        return
    schedule = Schedule.of(row)
    if planned_as is not None and planned_as != schedule.signature:
        return  # planned from a schedule since edited (on another instance, not yet synced)
    claim_id = await _record(ctx, schedule, due, status="claimed")
    if claim_id is None:
        return  # another instance (or an earlier run) has this firing
    outcome = await _landed(ctx, claim_id) or await _post(ctx, schedule, due, claim_id)
    async with ctx.engine.begin() as conn:
        await conn.execute(update(fires).where(fires.c.id == claim_id).values(**outcome))


async def _landed(ctx: Context, claim_id: int) -> dict[str, object] | None:
    """A fire retried or taken over after its drop was recorded: what to record, without a
    second card. A drop whose post was never confirmed is posted again under the same key,
    which returns the message if the first attempt landed after all."""
    async with ctx.engine.connect() as conn:
        drop_id = await conn.scalar(select(fires.c.drop_id).where(fires.c.id == claim_id))
        drop = None if drop_id is None else await drops_feature.load(conn, int(drop_id))
    if drop is None:
        return None
    message_id = drop.message_id
    if message_id is None:
        try:
            message_id = (await drops_feature.repost(ctx, drop)).message_id
        except PlatformError as exc:
            return await _after_failure(ctx, claim_id, drop.posted_at, exc)
    return {"status": "posted", "drop_id": drop.id, "message_id": message_id, "lease_until": None}


async def _post(
    ctx: Context, schedule: Schedule, due: datetime, claim_id: int
) -> dict[str, object]:
    """Post the scheduled drop; what to record on the fire. A transient failure leaves the
    fire claimed with a lease that runs out after a back-off, so the next sync on any
    instance tries again while the grace window lasts."""
    reveal_at = reveal_time(schedule.trigger, due, schedule.reveal_minutes)
    try:
        posted = await drops_feature.post_drop(
            ctx,
            place=schedule.place,
            filters=schedule.filters,
            posted_by=job_id(schedule.id),
            schedule_id=schedule.id,
            reveal_at=reveal_at,
            fire_id=claim_id,
        )
    except PlatformError as exc:
        return await _after_failure(ctx, claim_id, due, exc)
    if posted is None:
        return {"status": "empty", "detail": "no question matches the filters"}
    ctx.jobs.put(reveal.timer(ctx, posted.drop_id, reveal_at))
    return {
        "status": "posted",
        "drop_id": posted.drop_id,
        "message_id": posted.message_id,
        "lease_until": None,
    }


async def _after_failure(
    ctx: Context, claim_id: int, due: datetime, exc: PlatformError
) -> dict[str, object]:
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        attempts = int(
            await conn.scalar(select(fires.c.attempts).where(fires.c.id == claim_id)) or 1
        )
    wait = timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])
    transient = exc.retry_after is not None or exc.ambiguous
    grace = timedelta(minutes=ctx.settings.grace_minutes)
    if transient and now + wait - due <= grace:
        log.warning("scheduled drop %s failed (%s); trying again in %s", claim_id, exc, wait)
        return {"status": "claimed", "lease_until": now + wait, "detail": f"retrying: {exc}"}
    return {"status": "failed", "detail": str(exc), "lease_until": None}
