"""Admin-scheduled drops: time zones, exactly-once posting, catch-up, reveal timers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.context import Context
from bot.features import FEATURES, firing
from bot.handlers import Feature
from bot.ports import ManualClock, MemoryPlatform
from bot.registry import Registry
from bot.scheduler import cron_trigger, fire_times
from bot.store.schema import drops, fires, schedules
from bot.timespec import parse_spec
from tests.conftest import Chat, make_chat


def _drops(chat: Chat) -> list[str]:
    return [m.card.title for m in chat.posts() if m.card.title.startswith("Question drop")]


def _reveals(chat: Chat) -> list[str]:
    return [
        m.card.title
        for m in chat.posts()
        if m.card.title.startswith(("Answer to drop", "Answers to drop", "Drop #"))
    ]


async def _count(chat: Chat, table: object) -> int:
    async with chat.app.ctx.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def _utc(spec: str, zone: str, start: datetime, end: datetime) -> list[str]:
    trigger = cron_trigger(parse_spec(spec).cron, zone)
    return [t.astimezone(UTC).strftime("%m-%d %H:%M") for t in fire_times(trigger, start, end)]


# ---- time zones and DST -----------------------------------------------------------------


def test_london_daily_moves_an_hour_in_utc_at_the_end_of_march() -> None:
    """09:00 London is 09:00 UTC before 29 March 2026 and 08:00 UTC after."""
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    assert _utc("daily 09:00", "Europe/London", start, start + timedelta(days=3)) == [
        "03-28 09:00",
        "03-29 08:00",
        "03-30 08:00",
    ]


def test_london_daily_moves_back_at_the_end_of_october() -> None:
    """09:00 London is 08:00 UTC until 25 October 2026, then 09:00 UTC."""
    start = datetime(2026, 10, 23, 12, tzinfo=UTC)
    assert _utc("daily 09:00", "Europe/London", start, start + timedelta(days=3)) == [
        "10-24 08:00",
        "10-25 09:00",
        "10-26 09:00",
    ]


def test_new_york_follows_its_own_dst_dates() -> None:
    """New York changes on 8 March and 1 November 2026, not on Europe's dates."""
    march = datetime(2026, 3, 6, 20, tzinfo=UTC)
    assert _utc("daily 09:00", "America/New_York", march, march + timedelta(days=3)) == [
        "03-07 14:00",
        "03-08 13:00",
        "03-09 13:00",
    ]
    nov = datetime(2026, 10, 30, 20, tzinfo=UTC)
    assert _utc("daily 09:00", "America/New_York", nov, nov + timedelta(days=3)) == [
        "10-31 13:00",
        "11-01 14:00",
        "11-02 14:00",
    ]


def test_crontab_weekday_numbers_keep_their_crontab_meaning() -> None:
    """`cron 0 9 * * 0` is Sunday, as in crontab (APScheduler 3 alone would read Monday)."""
    spec = parse_spec("cron 0 9 * * 0")
    assert spec.cron == "0 9 * * sun"
    start = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
    (first,) = fire_times(cron_trigger(spec.cron, "UTC"), start, start + timedelta(days=7))
    assert first.strftime("%A") == "Sunday"


async def test_a_daily_drop_at_a_repeated_hour_posts_once_in_autumn(chat: Chat) -> None:
    """01:30 happens twice in London on 25 October 2026; the drop is posted once."""
    chat.clock.current = datetime(2026, 10, 24, 12, tzinfo=UTC)
    await chat.run("/schedule add daily 01:30 tz:Europe/London reveal:30m", as_=chat.admin)
    await chat.advance(timedelta(days=1, hours=6))  # through the night of the change
    assert len(_drops(chat)) == 1
    assert await _count(chat, drops) == 1


async def test_spring_gap_still_posts_once(chat: Chat) -> None:
    """01:30 does not exist in London on 29 March 2026; that day's drop still comes once."""
    chat.clock.current = datetime(2026, 3, 28, 12, tzinfo=UTC)
    await chat.run("/schedule add daily 01:30 tz:Europe/London reveal:30m", as_=chat.admin)
    await chat.advance(timedelta(days=1))
    assert len(_drops(chat)) == 1


# ---- the acceptance path --------------------------------------------------------------


async def test_add_preview_post_once_reveal_once_and_list(chat: Chat) -> None:
    """The issue's acceptance: add in Berlin time, preview, drop once, reveal once, list."""
    reply = await chat.run(
        "/schedule add daily 09:00 tz:Europe/Berlin topic:evaluation reveal:2h", as_=chat.admin
    )
    assert reply.card and reply.card.title == "Schedule added"
    assert "First drop: Tue 06 Jan 2026 09:00 CET" in reply.card.body
    preview = await chat.run("/schedule preview", as_=chat.admin)
    assert preview.card is not None
    assert preview.card.fields[0].value.splitlines() == [
        "Tue 06 Jan 2026 09:00 CET",
        "Wed 07 Jan 2026 09:00 CET",
        "Thu 08 Jan 2026 09:00 CET",
        "Fri 09 Jan 2026 09:00 CET",
        "Sat 10 Jan 2026 09:00 CET",
    ]
    ran = await chat.advance(timedelta(days=1))  # now Tue 09:00 UTC = 10:00 Berlin
    assert [(t.strftime("%H:%M"), job) for t, job in ran] == [("08:00", "schedule:1")]
    assert len(_drops(chat)) == 1
    assert "99.9 %" in chat.last_post().card.body  # the evaluation question
    await chat.advance(timedelta(hours=2))
    assert len(_reveals(chat)) == 1
    await chat.advance(timedelta(hours=5))
    assert len(_drops(chat)) == 1
    assert len(_reveals(chat)) == 1
    listing = await chat.run("/schedule list", as_=chat.admin)
    assert listing.card is not None
    assert listing.card.fields[0].name == "#1 · next: Wed 07 Jan 2026 09:00 CET"
    assert "daily 09:00 (Europe/Berlin)" in listing.card.fields[0].value


async def test_members_see_when_the_next_drop_comes(chat: Chat) -> None:
    """/next gives the next drop time in this channel in local time."""
    await chat.run("/schedule add weekdays 18:30 tz:Europe/London", as_=chat.admin)
    reply = await chat.run("/next", as_=chat.alice)
    assert reply.card is not None
    assert "Next drop here: **Mon 05 Jan 2026 18:30 GMT** (in 9 h 30 min)" in reply.card.body


async def test_default_reveal_comes_just_before_the_next_drop(chat: Chat) -> None:
    """Without `reveal:`, an hourly drop is revealed a minute before the next one."""
    await chat.run("/schedule add cron 0 * * * *", as_=chat.admin)
    await chat.advance(timedelta(hours=1))
    async with chat.app.ctx.engine.connect() as conn:
        reveal_at = await conn.scalar(select(drops.c.reveal_at))
    assert reveal_at == datetime(2026, 1, 5, 10, 59, tzinfo=UTC)


# ---- exactly once, restarts, downtime ---------------------------------------------------


async def test_restart_between_post_and_reveal_still_reveals_on_time(database_url: str) -> None:
    """A drop posted before a restart is revealed on time by the restarted instance."""
    clock = ManualClock()
    platform = MemoryPlatform(platform="memory")
    first = await make_chat(database_url, clock=clock, platform=platform)
    await first.run("/schedule add daily 10:00 tz:UTC reveal:3h", as_=first.admin)
    await first.advance(timedelta(hours=1, minutes=30))  # 10:30: posted, not revealed
    assert len(_drops(first)) == 1
    await first.app.close()
    second = await make_chat(database_url, clock=clock, platform=platform)
    try:
        assert second.app.jobs.next_run("reveal:1") == datetime(2026, 1, 5, 13, tzinfo=UTC)
        await second.advance(timedelta(hours=3))
        assert len(_reveals(second)) == 1
        assert len(_drops(second)) == 1
    finally:
        await second.app.close()


async def test_reveal_due_while_down_happens_at_start(database_url: str) -> None:
    """A reveal whose time passed while no instance ran is done once at start-up."""
    clock = ManualClock()
    platform = MemoryPlatform(platform="memory")
    first = await make_chat(database_url, clock=clock, platform=platform)
    await first.run("/schedule add daily 10:00 tz:UTC reveal:1h", as_=first.admin)
    await first.advance(timedelta(hours=1, minutes=5))
    await first.app.close()
    clock.advance(timedelta(hours=2))
    second = await make_chat(database_url, clock=clock, platform=platform)
    try:
        assert len(_reveals(second)) == 1
    finally:
        await second.app.close()


@pytest.mark.parametrize(
    ("down_for", "posted"), [(timedelta(minutes=40), 1), (timedelta(hours=3), 0)]
)
async def test_a_fire_missed_while_down(
    database_url: str, down_for: timedelta, posted: int
) -> None:
    """Missed within the grace window (1 h): posted once at start. Later: recorded as missed
    and shown to admins."""
    clock = ManualClock()
    platform = MemoryPlatform(platform="memory")
    first = await make_chat(database_url, clock=clock, platform=platform)
    await first.run("/schedule add daily 10:00 tz:UTC", as_=first.admin)
    await first.app.close()
    clock.current = datetime(2026, 1, 5, 10, tzinfo=UTC) + down_for
    second = await make_chat(database_url, clock=clock, platform=platform)
    try:
        assert len(_drops(second)) == posted
        listing = await second.run("/schedule list", as_=second.admin)
        assert listing.card is not None
        assert ("1 missed or failed" in listing.card.fields[0].value) == (posted == 0)
        preview = await second.run("/schedule preview 1", as_=second.admin)
        assert preview.card is not None
        expected = "posted" if posted else "missed (the bot was not running)"
        assert f"2026-01-05 10:00: {expected}" in preview.card.fields[0].value
        # Starting again does not post the same fire a second time.
        await second.app.close()
        third = await make_chat(database_url, clock=clock, platform=platform)
        await third.app.close()
        assert len(_drops(second)) == posted
    finally:
        await second.app.close()


async def test_two_instances_on_one_database_post_each_fire_once(database_url: str) -> None:
    """Two instances running the same schedule for 50 fires make exactly 50 posts."""
    first = await make_chat(database_url, clock=ManualClock())
    second = await make_chat(database_url, clock=ManualClock())
    try:
        await first.run("/schedule add cron 0 * * * *", as_=first.admin)
        await second.app.jobs.refresh()  # the second instance reads the new schedule
        for _ in range(50):
            await asyncio.gather(
                first.advance(timedelta(hours=1)), second.advance(timedelta(hours=1))
            )
        posted = _drops(first) + _drops(second)
        assert len(posted) == 50
        assert len(_reveals(first) + _reveals(second)) == 49  # the 50th is still open
        async with first.app.ctx.engine.connect() as conn:
            claims = await conn.scalar(
                select(func.count())
                .select_from(fires)
                .where(fires.c.status == "posted", fires.c.job.like("schedule:%"))
            )
        assert claims == 50
    finally:
        await first.app.close()
        await second.app.close()


# ---- changes without restart -----------------------------------------------------------


async def test_an_edit_takes_effect_without_restart(chat: Chat) -> None:
    """Moving a schedule from 10:00 to 12:00 changes the next fire at once."""
    await chat.run("/schedule add daily 10:00 tz:UTC", as_=chat.admin)
    reply = await chat.run("/schedule edit 1 daily 12:00 topic:statistics", as_=chat.admin)
    assert reply.card and "daily 12:00 (UTC)" in reply.card.body and "statistics" in reply.card.body
    ran = await chat.advance(timedelta(hours=4))
    assert [(t.strftime("%H:%M"), job) for t, job in ran] == [("12:00", "schedule:1")]
    assert "standard error" in chat.last_post().card.body


async def test_pause_stops_and_resume_does_not_backfill(chat: Chat) -> None:
    """A paused schedule posts nothing; resuming does not post what was skipped."""
    await chat.run("/schedule add daily 10:00 tz:UTC", as_=chat.admin)
    await chat.run("/schedule pause 1", as_=chat.admin)
    await chat.advance(timedelta(days=2))
    assert _drops(chat) == []
    reply = await chat.run("/schedule resume 1", as_=chat.admin)
    assert reply.card and "Next drop: Wed 07 Jan 2026 10:00 UTC" in reply.card.body
    await firing.catch_up(chat.app.ctx)
    assert _drops(chat) == []
    await chat.advance(timedelta(days=1))
    assert len(_drops(chat)) == 1


async def test_remove_stops_the_schedule(chat: Chat) -> None:
    """A removed schedule never fires again."""
    await chat.run("/schedule add daily 10:00 tz:UTC", as_=chat.admin)
    await chat.run("/schedule remove 1", as_=chat.admin)
    await chat.advance(timedelta(days=2))
    assert _drops(chat) == []
    assert "schedule:1" not in chat.driver.job_ids()


async def test_early_reveal_cancels_the_timer(chat: Chat) -> None:
    """An admin /reveal before the timer reveals once; the timer then does nothing."""
    await chat.run("/schedule add daily 10:00 tz:UTC reveal:2h", as_=chat.admin)
    await chat.advance(timedelta(hours=1, minutes=10))
    await chat.run("/reveal", as_=chat.admin)
    assert "reveal:1" not in chat.driver.job_ids()
    await chat.advance(timedelta(hours=3))
    assert len(_reveals(chat)) == 1


async def test_settings_timezone_becomes_the_default(chat: Chat) -> None:
    """After /settings timezone, new schedules use the workspace's zone."""
    reply = await chat.run("/settings timezone Asia/Tokyo", as_=chat.admin)
    assert reply.card and "Asia/Tokyo" in reply.card.body
    added = await chat.run("/schedule add daily 09:00", as_=chat.admin)
    assert added.card and "daily 09:00 (Asia/Tokyo)" in added.card.body
    assert "First drop: Tue 06 Jan 2026 09:00 JST" in added.card.body


# ---- bad input: clear message, nothing saved ---------------------------------------------


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("/schedule add daily 25:00", "`25:00` is not a time: hours go from 00 to 23"),
        ("/schedule add daily 9am", "`9am` is not a time. Write HH:MM"),
        (
            "/schedule add daily 09:00 tz:Europe/Berln",
            "Unknown time zone `Europe/Berln`. Did you mean Europe/Berlin",
        ),
        ("/schedule add daily 09:00 tz:Berlin", "Did you mean Europe/Berlin"),
        ("/schedule add cron 0 25 * * *", "Cron field 2 (hour) `25` is not valid"),
        ("/schedule add cron 0 9 * *", "A cron schedule has 5 fields"),
        ("/schedule add weekly funday 09:00", "`funday` is not a day"),
        ("/schedule add hourly", "Say when as `daily 09:00`"),
        ("/schedule add daily 09:00 reveal:soon", "`soon` is not a duration"),
        (
            "/schedule add daily 09:00 channel:#closed",
            "I cannot post in <#closed>: the bot is not a member of that channel",
        ),
        ("/settings timezone Mars/Olympus", "Unknown time zone `Mars/Olympus`"),
        ("/schedule edit 9 daily 10:00", "There is no schedule #9 here"),
    ],
)
async def test_bad_input_is_explained_and_nothing_is_saved(
    chat: Chat, command: str, message: str
) -> None:
    """Each mistake gets a clear private error and no schedule is stored."""
    chat.platform.closed_channels.add("closed")
    reply = await chat.run(command, as_=chat.admin)
    assert reply.private and reply.card is not None
    assert message in reply.card.body
    assert await _count(chat, schedules) == 0


async def test_members_cannot_schedule(chat: Chat) -> None:
    """Schedules are an admin command."""
    reply = await chat.run("/schedule add daily 09:00", as_=chat.alice)
    assert reply.card and "for admins" in reply.card.body


# ---- other timed work -----------------------------------------------------------------


async def test_a_timer_runs_once_even_across_a_restart(database_url: str) -> None:
    """schedule_at survives a restart and runs its handler exactly once."""
    clock = ManualClock()
    seen: list[Mapping[str, object]] = []

    async def remember(_ctx: Context, payload: Mapping[str, object]) -> None:
        seen.append(payload)

    wired = Registry.of((*FEATURES, Feature("remember", timers={"remember": remember})))
    first = await make_chat(database_url, clock=clock, features=wired)
    await first.app.jobs.schedule_at(
        key="remind:alice",
        when=clock.now() + timedelta(hours=2),
        action="remember",
        payload={"who": "alice"},
        platform="memory",
        workspace_id="w1",
    )
    await first.app.close()
    second = await make_chat(database_url, clock=clock, features=wired)
    await second.app.jobs.refresh()
    try:
        await second.advance(timedelta(hours=3))
        assert seen == [{"who": "alice"}]
        await second.app.jobs.refresh()
        await second.advance(timedelta(hours=3))
        assert seen == [{"who": "alice"}]
    finally:
        await second.app.close()


async def test_weekly_digest_shows_last_weeks_board_and_hardest_question(chat: Chat) -> None:
    """On Monday 09:00 the channel gets last week's board and the hardest question."""
    await chat.run("/schedule add daily 10:00 tz:UTC topic:evaluation reveal:1h", as_=chat.admin)
    await chat.advance(timedelta(hours=1, minutes=5))
    drop = chat.last_post()
    await chat.choose(drop, 3, as_=chat.alice)
    await chat.choose(drop, 1, as_=chat.bob)
    await chat.choose(drop, 2, as_=chat.carol)
    await chat.advance(timedelta(days=7))
    digest = next(m for m in chat.posts() if m.card.title.startswith("Last week"))
    assert digest.card.title == "Last week (2026-01-05)"
    assert digest.card.body.splitlines()[0] == "🥇 **Alice**: 18 pts"  # right within an hour
    assert digest.card.fields[0].name.startswith("Hardest question: drop #1")
    assert "33% of 3 got it right" in digest.card.fields[0].value
