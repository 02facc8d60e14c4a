"""Claims on one firing of a recurring job: the instance that inserts the row does the work.

A firing is keyed by the local wall-clock time in the workspace's zone, so the autumn DST
hour still gives one claim.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.context import Context, workspace_tz
from bot.scheduler import claim, local_key
from bot.store import sql
from bot.store.schema import deliveries, fires

LEASE = timedelta(minutes=2)  # how long a claim is held before another instance may take it


async def claim_local(
    ctx: Context,
    *,
    job: str,
    platform: str,
    workspace_id: str,
    due: datetime,
    status: str,
    lease: timedelta | None = None,
) -> int | None:
    """Claim a firing keyed by local time in the workspace's zone; the id if won. With a
    ``lease`` the claim names this instance and may be taken over once the lease runs out."""
    async with ctx.engine.begin() as conn:
        tz = await workspace_tz(conn, platform, workspace_id)
        return await claim(
            conn,
            platform=platform,
            workspace_id=workspace_id,
            job=job,
            fire_time=due,
            local_time=local_key(due, tz),
            now=ctx.clock.now(),
            status=status,
            holder=ctx.instance_id,
            lease=lease,
        )


async def claim_once(
    ctx: Context, *, job: str, platform: str, workspace_id: str, due: datetime
) -> bool:
    """Claim a firing whose work is done in one step (recorded as posted at once)."""
    won = await claim_local(
        ctx, job=job, platform=platform, workspace_id=workspace_id, due=due, status="posted"
    )
    return won is not None


async def settle(ctx: Context, claim_id: int, status: str = "posted") -> None:
    """Record a leased claim's work as finished (``status``) and drop the lease."""
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(fires).where(fires.c.id == claim_id).values(status=status, lease_until=None)
        )


async def renew(ctx: Context, claim_id: int) -> bool:
    """Extend this instance's lease on a claim during long work; False if another instance
    took it over meanwhile (then stop: the work is theirs now)."""
    async with ctx.engine.begin() as conn:
        kept = await conn.execute(
            update(fires)
            .where(
                fires.c.id == claim_id,
                fires.c.status == "claimed",
                fires.c.holder == ctx.instance_id,
            )
            .values(lease_until=ctx.clock.now() + LEASE)
        )
    return bool(kept.rowcount)


async def left_behind(
    ctx: Context, prefix: str, now: datetime
) -> list[tuple[int, str, datetime, str]]:
    """Claims of ``prefix:`` jobs still claimed but whose lease ran out by ``now`` (their
    instance died or stopped, or is backing off): (id, job, fire_time, local_time) each."""
    async with ctx.engine.connect() as conn:
        rows = await conn.execute(
            select(fires.c.id, fires.c.job, fires.c.fire_time, fires.c.local_time).where(
                fires.c.status == "claimed",
                fires.c.lease_until <= now,
                fires.c.job.like(f"{prefix}:%"),
            )
        )
        return [(int(i), str(job), at, str(local)) for i, job, at, local in rows.all()]


async def take_over_left(ctx: Context, prefix: str) -> list[tuple[int, str]]:
    """Take over every ``prefix:`` claim whose lease ran out; the (claim id, job) won. Each
    takeover is one conditional UPDATE, so two instances never both win a claim."""
    now = ctx.clock.now()
    won = []
    for claim_id, job, _fire_time, _local_time in await left_behind(ctx, prefix, now):
        async with ctx.engine.begin() as conn:
            taken = await conn.execute(
                update(fires)
                .where(
                    fires.c.id == claim_id, fires.c.status == "claimed", fires.c.lease_until <= now
                )
                .values(
                    holder=ctx.instance_id, lease_until=now + LEASE, attempts=fires.c.attempts + 1
                )
            )
        if taken.rowcount:
            won.append((claim_id, job))
    return won


async def resume_left(
    ctx: Context, prefix: str, run: Callable[[str, datetime], Awaitable[None]]
) -> None:
    """Claims of ``prefix:`` jobs whose lease ran out (their instance died or stopped, or is
    backing off): ``run(job, fire_time)`` again inside the grace window, else failed."""
    now = ctx.clock.now()
    for fire_id, job, fire_time, _local_time in await left_behind(ctx, prefix, now):
        if now - fire_time <= timedelta(minutes=ctx.settings.grace_minutes):
            await run(job, fire_time)
            continue
        async with ctx.engine.begin() as conn:
            await conn.execute(
                update(fires)
                .where(fires.c.id == fire_id, fires.c.status == "claimed")
                .values(status="failed", detail="not done within the grace window")
            )


# ---- steps of a resumable delivery ------------------------------------------------------------


async def is_done(ctx: Context, key: str) -> bool:
    async with ctx.engine.connect() as conn:
        found = await conn.scalar(select(deliveries.c.key).where(deliveries.c.key == key))
    return found is not None


async def record_done(
    conn: AsyncConnection, key: str, *, platform: str, workspace_id: str, now: datetime
) -> None:
    await sql.insert_ignore(
        conn,
        deliveries,
        {"key": key, "platform": platform, "workspace_id": workspace_id, "done_at": now},
        keys=("key",),
    )


async def step_once(
    ctx: Context,
    key: str,
    *,
    platform: str,
    workspace_id: str,
    send: Callable[[], Awaitable[object]],
) -> None:
    """One outbound step of a delivery held under a leased claim: skipped if recorded as
    done, else sent and recorded. Only the claim's holder delivers, so a step repeats only
    if its instance dies between sending and recording (posts then carry ``key``)."""
    if await is_done(ctx, key):
        return
    await send()
    async with ctx.engine.begin() as conn:
        await record_done(
            conn, key, platform=platform, workspace_id=workspace_id, now=ctx.clock.now()
        )
