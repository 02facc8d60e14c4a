"""When mock rounds happen: a weekly round per workspace, and a notice the day before."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import select

from bot.claims import LEASE, claim_local, claim_once, left_behind, resume_left, settle
from bot.context import Context, workspace_tz
from bot.features.mocks.policy import notice_job_id, round_job_id
from bot.features.mocks.rounds import NOW_JOB, load_settings, notice, round_now, run_round
from bot.handlers import Planned
from bot.scheduler import cron_trigger
from bot.store.schema import mock_settings
from bot.timespec import DAYS


async def planned(ctx: Context, _now: datetime) -> list[Planned]:
    """The round at the workspace's day and time, and its notice a day earlier."""
    async with ctx.engine.connect() as conn:
        scopes = (
            await conn.execute(select(mock_settings.c.platform, mock_settings.c.workspace_id))
        ).all()
        found = {
            (p, w): (await load_settings(conn, p, w), (await workspace_tz(conn, p, w)).key)
            for p, w in scopes
        }
    jobs = []
    for scope, (settings, zone) in found.items():
        if settings is None:
            continue
        hour, minute = (int(x) for x in settings.time.split(":"))
        day = settings.weekday
        before = DAYS[(DAYS.index(day) - 1) % 7]
        jobs.append(
            Planned(
                round_job_id(*scope),
                f"{day} {settings.time}|{zone}",
                cron_trigger(f"{minute} {hour} * * {day}", zone),
                partial(_round, ctx, *scope),
            )
        )
        jobs.append(
            Planned(
                notice_job_id(*scope),
                f"{before} {settings.time}|{zone}",
                cron_trigger(f"{minute} {hour} * * {before}", zone),
                partial(_notice, ctx, *scope),
            )
        )
    return jobs


async def _round(ctx: Context, platform: str, workspace_id: str, due: datetime) -> None:
    """The weekly round, under a leased claim: if this instance dies mid-round, another
    takes the claim over and finishes what was left (see ``resume``)."""
    job = round_job_id(platform, workspace_id)
    fire_id = await claim_local(
        ctx,
        job=job,
        platform=platform,
        workspace_id=workspace_id,
        due=due,
        status="claimed",
        lease=LEASE,
    )
    if fire_id is None:
        return
    await run_round(ctx, platform=platform, workspace_id=workspace_id, fire_id=fire_id)
    await settle(ctx, fire_id)


async def resume(ctx: Context) -> None:
    """Rounds whose instance stopped or died mid-delivery: finished inside the grace window
    (a planned round is not matched again, a delivered step is not repeated)."""

    async def again(job: str, due: datetime) -> None:
        _, platform, workspace_id = job.split(":", 2)
        await _round(ctx, platform, workspace_id, due)

    await resume_left(ctx, "mock", again)
    for _id, job, _fire_time, slot in await left_behind(ctx, NOW_JOB, ctx.clock.now()):
        _, platform, workspace_id = job.split(":", 2)
        await round_now(ctx, platform=platform, workspace_id=workspace_id, slot=slot)


async def _notice(ctx: Context, platform: str, workspace_id: str, due: datetime) -> None:
    job = notice_job_id(platform, workspace_id)
    if await claim_once(ctx, job=job, platform=platform, workspace_id=workspace_id, due=due):
        await notice(ctx, platform=platform, workspace_id=workspace_id)
