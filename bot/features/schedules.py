"""Admin schedules for question drops: add, list, edit, pause, resume, remove, preview;
and /next for members. bot/features/firing.py runs them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, RowMapping, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Card, Field, MemberRef, Place, Reply, Tone, plural
from bot.context import Context, workspace_tz
from bot.features import firing
from bot.features.drops import topic_name
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option, Permission
from bot.options import (
    CHANNEL,
    DIFFICULTY,
    DIFFICULTY_ANY,
    KIND_MIX,
    REVEAL,
    SCHEDULE_ID,
    TOPIC,
    TOPIC_ANY,
    TZ,
    WHEN,
    WHEN_REQUIRED,
)
from bot.scheduler import cron_trigger, next_fire
from bot.store.schema import fires, schedules
from bot.timespec import SpecError, format_duration, parse_duration, parse_spec, parse_timezone

PREVIEW = 5


def local(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M %Z")


def _upcoming(cron: str, zone: str, now: datetime, count: int) -> list[datetime]:
    trigger = cron_trigger(cron, zone)
    out: list[datetime] = []
    cursor = now
    while len(out) < count:
        nxt = next_fire(trigger, cursor)
        if nxt is None:
            break
        out.append(nxt)
        cursor = nxt
    return out


async def _load(conn: AsyncConnection, inv: Invocation, schedule_id: int) -> RowMapping:
    ref = inv.member.ref
    row = (
        (
            await conn.execute(
                select(schedules).where(
                    schedules.c.id == schedule_id,
                    schedules.c.platform == ref.platform,
                    schedules.c.workspace_id == ref.workspace_id,
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise CommandError(
            f"There is no schedule #{schedule_id} here. `/schedule list` shows the ids."
        )
    return row


def _reveal_minutes(inv: Invocation) -> int | None:
    text = inv.get("reveal")
    if text is None or text in ("auto", "default"):
        return None
    return int(parse_duration(text).total_seconds() // 60)


def _describe(row: RowMapping) -> str:
    filters = [topic_name(row["topic"]) if row["topic"] else "any topic"]
    filters.append(row["difficulty"] or "any difficulty")
    filters.append(row["kind"] or "choice and open")
    reveal = (
        f"reveal after {format_duration(timedelta(minutes=row['reveal_minutes']))}"
        if row["reveal_minutes"]
        else "reveal before the next drop (at most 24 h)"
    )
    where = f"{row['spec']} ({row['timezone']}) in <#{row['channel_id']}>"
    return f"{where} · {', '.join(filters)} · {reveal}"


def _values(inv: Invocation, *, partial: bool) -> dict[str, object]:
    """Schedule columns from the command's options; bad input raises before anything is saved."""
    values: dict[str, object] = {}
    try:
        when = inv.get("when")
        if when is not None:
            spec = parse_spec(when)
            values.update(spec=spec.text, cron=spec.cron)
        tz = inv.get("tz")
        if tz is not None:
            values["timezone"] = parse_timezone(tz)
        if "reveal" in inv.options:
            values["reveal_minutes"] = _reveal_minutes(inv)
    except SpecError as exc:
        raise CommandError(str(exc)) from None
    for name in ("topic", "difficulty", "kind"):
        if name in inv.options:
            value = inv.get(name)
            values[name] = None if value in ("any", "mix") else value
    if not partial and "cron" not in values:
        raise CommandError("Say when, e.g. `/schedule add daily 09:00`.")
    return values


async def _check_channel(ctx: Context, place: Place) -> None:
    reason = await ctx.platform.check_channel(place)
    if reason:
        raise CommandError(
            f"I cannot post in <#{place.channel_id}>: {reason}. Invite me there (or pick another "
            "channel) and try again. Nothing was saved."
        )


def _target(inv: Invocation) -> Place:
    channel = inv.get("channel")
    return (
        inv.place if channel is None else Place(inv.place.platform, inv.place.workspace_id, channel)
    )


MAX_SCHEDULES = 200  # per workspace


async def _check_room(conn: AsyncConnection, ref: MemberRef) -> None:
    count = await conn.scalar(
        select(func.count()).where(
            schedules.c.platform == ref.platform, schedules.c.workspace_id == ref.workspace_id
        )
    )
    if (count or 0) >= MAX_SCHEDULES:
        raise CommandError(
            f"This workspace already has {count} schedules, the most it can have. Remove one "
            "you no longer need (`/schedule list` shows them, `/schedule remove ID` removes "
            "one) and add this again."
        )


async def add(ctx: Context, inv: Invocation) -> Reply:
    values = _values(inv, partial=False)
    place = _target(inv)
    await _check_channel(ctx, place)
    now = ctx.clock.now()
    ref = inv.member.ref
    async with ctx.engine.begin() as conn:
        await _check_room(conn, ref)
        zone = values.pop("timezone", None) or (await workspace_tz(conn, *_scope(inv))).key
        result = await conn.execute(
            schedules.insert().values(
                platform=ref.platform,
                workspace_id=ref.workspace_id,
                channel_id=place.channel_id,
                timezone=zone,
                created_by=ref.user_id,
                created_at=now,
                updated_at=now,
                **values,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        schedule_id = int(key[0])
        row = await _load(conn, inv, schedule_id)
    await ctx.jobs.refresh()
    first = _upcoming(row["cron"], row["timezone"], now, 1)
    when = f" First drop: {local(first[0], row['timezone'])}." if first else ""
    return Reply.text(
        f"Schedule #{schedule_id} added: {_describe(row)}.{when}",
        title="Schedule added",
        tone=Tone.GOOD,
    )


def _scope(inv: Invocation) -> tuple[str, str]:
    return inv.member.ref.platform, inv.member.ref.workspace_id


async def _fires_per_job(conn: AsyncConnection, *where: ColumnElement[bool]) -> dict[str, int]:
    query = select(fires.c.job, func.count()).where(*where).group_by(fires.c.job)
    return {job: int(n) for job, n in (await conn.execute(query)).all()}


# Schedules per /schedule list card: well inside Discord's 25 fields and Slack's 50 blocks.
PAGE_SIZE = 10
PAGES = -(-MAX_SCHEDULES // PAGE_SIZE)
PAGE = Option(
    "page", "Which page of the list (10 schedules each)", Kind.INT, minimum=1, maximum=PAGES
)


async def list_schedules(ctx: Context, inv: Invocation) -> Reply:
    """The workspace's schedules, ``PAGE_SIZE`` to a card, oldest first."""
    platform, workspace_id = _scope(inv)
    page = int(inv.options.get("page", 1))
    here = (schedules.c.platform == platform, schedules.c.workspace_id == workspace_id)
    async with ctx.engine.connect() as conn:
        total = int(await conn.scalar(select(func.count()).where(*here)) or 0)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:
            raise CommandError(
                f"There is no page {page}: {plural(total, 'schedule')} fit on "
                f"{plural(pages, 'page')}. "
                f"Try `/schedule list page:{pages}`."
            )
        query = select(schedules).where(*here).order_by(schedules.c.id)
        rows = (
            (await conn.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
            .mappings()
            .all()
        )
        jobs = fires.c.job.in_([firing.job_id(row["id"]) for row in rows])
        missed = await _fires_per_job(conn, jobs, fires.c.status.in_(("missed", "failed", "empty")))
        pending = await _fires_per_job(
            conn, jobs, fires.c.status == "claimed", fires.c.lease_until <= ctx.clock.now()
        )
    if not rows:
        return Reply.text("No schedules yet. Add one with `/schedule add daily 09:00`.")
    fields = tuple(_list_field(ctx, row, missed, pending) for row in rows)
    first = (page - 1) * PAGE_SIZE + 1
    footer = f"Schedules {first}–{first + len(rows) - 1} of {total} · page {page} of {pages}."
    if pages == 1:
        footer = f"{plural(total, 'schedule')}."
    elif page < pages:
        footer += f" Next: `/schedule list page:{page + 1}`."
    return Reply(card=Card(title="Schedules", fields=fields, footer=footer, tone=Tone.INFO))


def _list_field(
    ctx: Context, row: RowMapping, missed: dict[str, int], pending: dict[str, int]
) -> Field:
    """One schedule in the list: its next run (or paused) and anything that went wrong."""
    job = firing.job_id(row["id"])
    if row["paused"]:
        state = "paused"
    else:
        nxt = ctx.jobs.next_run(job)
        state = f"next: {local(nxt, row['timezone'])}" if nxt else "no upcoming run"
    warn = ""
    if problems := missed.get(job, 0):
        warn = f" · {problems} missed or failed (see `/schedule preview {row['id']}`)"
    if stuck := pending.get(job, 0):
        warn += f" · {stuck} waiting to be retried or taken over by a running instance"
    return Field(f"#{row['id']} · {state}", _describe(row) + warn)


async def edit(ctx: Context, inv: Invocation) -> Reply:
    schedule_id = int(inv.options["id"])
    values = _values(inv, partial=True)
    if "channel" in inv.options:
        place = _target(inv)
        await _check_channel(ctx, place)
        values["channel_id"] = place.channel_id
    if not values:
        raise CommandError("Say what to change, e.g. `/schedule edit 3 daily 10:00 topic:nlp`.")
    async with ctx.engine.begin() as conn:
        await _load(conn, inv, schedule_id)
        await conn.execute(
            update(schedules)
            .where(schedules.c.id == schedule_id)
            .values(updated_at=ctx.clock.now(), **values)
        )
        row = await _load(conn, inv, schedule_id)
    await ctx.jobs.refresh()
    return Reply.text(f"Schedule #{schedule_id} is now: {_describe(row)}.", tone=Tone.GOOD)


async def _set_paused(ctx: Context, inv: Invocation, paused: bool) -> Reply:
    schedule_id = int(inv.options["id"])
    async with ctx.engine.begin() as conn:
        row = await _load(conn, inv, schedule_id)
        if row["paused"] == paused:
            state = "paused" if paused else "running"
            return Reply.text(f"Schedule #{schedule_id} is already {state}.")
        # updated_at moves on, so catch-up after a resume never backfills the paused time
        await conn.execute(
            update(schedules)
            .where(schedules.c.id == schedule_id)
            .values(paused=paused, updated_at=ctx.clock.now())
        )
    await ctx.jobs.refresh()
    if paused:
        return Reply.text(
            f"Schedule #{schedule_id} paused. `/schedule resume {schedule_id}` restarts it."
        )
    nxt = ctx.jobs.next_run(firing.job_id(schedule_id))
    when = f" Next drop: {local(nxt, row['timezone'])}." if nxt else ""
    return Reply.text(f"Schedule #{schedule_id} resumed.{when}", tone=Tone.GOOD)


async def pause(ctx: Context, inv: Invocation) -> Reply:
    return await _set_paused(ctx, inv, True)


async def resume(ctx: Context, inv: Invocation) -> Reply:
    return await _set_paused(ctx, inv, False)


async def remove(ctx: Context, inv: Invocation) -> Reply:
    schedule_id = int(inv.options["id"])
    async with ctx.engine.begin() as conn:
        row = await _load(conn, inv, schedule_id)
        await conn.execute(delete(schedules).where(schedules.c.id == schedule_id))
    await ctx.jobs.refresh()
    return Reply.text(
        f"Schedule #{schedule_id} ({row['spec']}) removed. Drops already posted stay, and "
        "their reveals still happen."
    )


async def preview(ctx: Context, inv: Invocation) -> Reply:
    """The next fire times of a schedule, of a spec being considered, or of this channel's."""
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        rows = [await _load(conn, inv, int(inv.options["id"]))] if "id" in inv.options else []
        if not rows and inv.get("when") is None:
            rows = list(
                (
                    await conn.execute(
                        select(schedules).where(
                            schedules.c.platform == inv.place.platform,
                            schedules.c.workspace_id == inv.place.workspace_id,
                            schedules.c.channel_id == inv.place.channel_id,
                        )
                    )
                )
                .mappings()
                .all()
            )
        default_zone = (await workspace_tz(conn, *_scope(inv))).key
        history = {}
        for row in rows:
            history[row["id"]] = (
                await conn.execute(
                    select(fires.c.local_time, fires.c.status, fires.c.detail)
                    .where(fires.c.job == firing.job_id(row["id"]))
                    .order_by(fires.c.fire_time.desc())
                    .limit(3)
                )
            ).all()
    fields = []
    if inv.get("when") is not None:
        values = _values(inv, partial=False)
        zone = str(values.get("timezone") or default_zone)
        times = _upcoming(str(values["cron"]), zone, now, PREVIEW)
        fields.append(Field(f"{values['spec']} ({zone})", "\n".join(local(t, zone) for t in times)))
    for row in rows:
        times = _upcoming(row["cron"], row["timezone"], now, PREVIEW)
        lines = [local(t, row["timezone"]) for t in times]
        if row["paused"]:
            lines.insert(0, "(paused: these are the times it would run)")
        past = [
            f"{t.replace('T', ' ')}: {status}" + (f" ({detail})" if detail else "")
            for t, status, detail in history[row["id"]]
        ]
        if past:
            lines.append("Last runs: " + "; ".join(past))
        fields.append(Field(f"#{row['id']} · {row['spec']} ({row['timezone']})", "\n".join(lines)))
    if not fields:
        return Reply.text(
            "No schedule in this channel. Preview one: `/schedule preview daily 09:00`."
        )
    return Reply(card=Card(title=f"Next {PREVIEW} drops", fields=tuple(fields), tone=Tone.INFO))


async def next_drop(ctx: Context, inv: Invocation) -> Reply:
    """For members: when the next drop in this channel comes."""
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(schedules).where(
                        schedules.c.platform == inv.place.platform,
                        schedules.c.workspace_id == inv.place.workspace_id,
                        schedules.c.channel_id == inv.place.channel_id,
                        schedules.c.paused.is_(False),
                    )
                )
            )
            .mappings()
            .all()
        )
    upcoming = []
    for row in rows:
        trigger = cron_trigger(row["cron"], row["timezone"])
        nxt = next_fire(trigger, now - timedelta(seconds=1))
        if nxt is not None and nxt <= now:  # it fires this very moment: that drop is out
            nxt = next_fire(trigger, nxt)
        if nxt is not None:
            upcoming.append((nxt, row))
    if not upcoming:
        return Reply.text(
            "No drops are scheduled in this channel yet. Ask an admin, or try `/quiz`."
        )
    when, row = min(upcoming, key=lambda pair: pair[0])
    days, minutes = divmod(int((when - now).total_seconds() // 60), 24 * 60)
    hours, minutes = divmod(minutes, 60)
    wait = " ".join(
        part
        for part in (
            f"{days} {'day' if days == 1 else 'days'}" if days else "",
            f"{hours} h" if hours else "",
            f"{minutes} min" if minutes and not days else "",
        )
        if part
    )
    about = topic_name(row["topic"]) if row["topic"] else "any topic"
    return Reply.text(
        f"Next drop here: **{local(when, row['timezone'])}** "
        f"(in {wait or 'less than a minute'}), {about}.",
        tone=Tone.INFO,
    )


async def suggest_ids(ctx: Context, ref: MemberRef, typed: str) -> list[tuple[str, str]]:
    """The workspace's schedules whose id or description matches what was typed."""
    async with ctx.engine.connect() as conn:
        rows = (
            (
                await conn.execute(
                    select(schedules)
                    .where(
                        schedules.c.platform == ref.platform,
                        schedules.c.workspace_id == ref.workspace_id,
                    )
                    .order_by(schedules.c.id)
                )
            )
            .mappings()
            .all()
        )
    typed = typed.strip().lower().lstrip("#")
    out = []
    for row in rows:
        label = f"#{row['id']} · {row['spec']} ({row['timezone']})" + (
            " · paused" if row["paused"] else ""
        )
        if typed in label.lower():
            out.append((label[:100], str(row["id"])))
    return out[:25]


FEATURE = Feature(
    "schedules",
    commands=(
        CommandSpec(
            "schedule add",
            "Schedule question drops in a channel",
            add,
            (WHEN_REQUIRED, CHANNEL, TZ, TOPIC, DIFFICULTY, KIND_MIX, REVEAL),
            Permission.ADMIN,
            example="/schedule add weekdays 09:00 topic:statistics reveal:2h",
        ),
        CommandSpec(
            "schedule list",
            "Every schedule with its next run, 10 to a page",
            list_schedules,
            (PAGE,),
            Permission.ADMIN,
            example="/schedule list",
        ),
        CommandSpec(
            "schedule edit",
            "Change a schedule (only the options you give)",
            edit,
            (SCHEDULE_ID, WHEN, CHANNEL, TZ, TOPIC_ANY, DIFFICULTY_ANY, KIND_MIX, REVEAL),
            Permission.ADMIN,
            example="/schedule edit 1 daily 18:30 difficulty:any",
        ),
        CommandSpec(
            "schedule pause",
            "Stop a schedule's drops until resumed",
            pause,
            (SCHEDULE_ID,),
            Permission.ADMIN,
            example="/schedule pause 1",
        ),
        CommandSpec(
            "schedule resume",
            "Restart a paused schedule",
            resume,
            (SCHEDULE_ID,),
            Permission.ADMIN,
            example="/schedule resume 1",
        ),
        CommandSpec(
            "schedule remove",
            "Delete a schedule",
            remove,
            (SCHEDULE_ID,),
            Permission.ADMIN,
            example="/schedule remove 1",
        ),
        CommandSpec(
            "schedule preview",
            "The next 5 drop times, in local time (a schedule, or a `when` to try)",
            preview,
            (replace(SCHEDULE_ID, required=False), WHEN, TZ),
            Permission.ADMIN,
            example="/schedule preview weekly fri 17:00 tz:Europe/London",
        ),
        CommandSpec(
            "next",
            "When the next drop in this channel comes",
            next_drop,
            example="/next",
        ),
    ),
    jobs=(firing.planned,),
    on_sync=(firing.catch_up,),
    suggestions={"schedules": suggest_ids},
)
