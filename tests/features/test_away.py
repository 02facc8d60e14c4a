"""/away and streaks that never punish (issue 18, item 5): away days pause a streak without
using the freeze, reminders wait and mock rounds skip the member; days the bot missed or failed
a scheduled drop never break anyone's streak. Simulated weeks on the manual clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from functools import cache

import pytest
from sqlalchemy import select

from bot.chat import FormSubmit, Member, MemberRef, Place, Reply
from bot.ports import ManualClock, MemoryPlatform, PlatformError
from bot.scoring import Streak, alive, extend_streak, missed_days
from bot.store.schema import away_periods, fires, mock_groups, streaks
from questions.loader import load_bank
from questions.schema import Item
from tests.conftest import Chat, make_chat

MONDAY = date(2026, 1, 5)  # the manual clock starts on Monday 5 January 2026, 09:00 UTC
DAY = timedelta(days=1)
EVENINGS = "weekday evenings, weekend mornings"


# ---- the rule, pure ------------------------------------------------------------------------


def test_excused_days_neither_break_nor_grow_a_streak_nor_use_the_freeze() -> None:
    """Three days in a row, four excused, then back: the streak goes on at four, freeze
    unused; without the excuse the same gap breaks it."""
    streak = None
    for n in range(3):
        streak = extend_streak(streak, MONDAY + n * DAY)
    away = {MONDAY + n * DAY for n in range(3, 7)}
    back = extend_streak(streak, MONDAY + 7 * DAY, away)
    assert back == Streak(4, 4, MONDAY + 7 * DAY, None)
    assert extend_streak(streak, MONDAY + 7 * DAY).current == 1


def test_one_unexcused_day_in_a_gap_still_takes_the_freeze() -> None:
    """An excused stretch plus one ordinary missed day: the freeze bridges that day only,
    in the week of the day it bridges; a second ordinary missed day breaks the streak."""
    streak = Streak(5, 5, MONDAY, None)
    excused = {MONDAY + DAY, MONDAY + 2 * DAY}
    bridged = extend_streak(streak, MONDAY + 4 * DAY, excused)  # Thursday missed, frozen
    assert (bridged.current, bridged.freeze_week) == (6, MONDAY)
    assert extend_streak(streak, MONDAY + 5 * DAY, excused).current == 1  # Thu and Fri missed
    assert missed_days(MONDAY, MONDAY + 30 * DAY, excused) == [MONDAY + 3 * DAY, MONDAY + 4 * DAY]


def test_a_streak_stays_alive_through_excused_days() -> None:
    streak = Streak(3, 3, MONDAY, None)
    excused = {MONDAY + n * DAY for n in range(1, 6)}
    assert alive(streak, MONDAY + 6 * DAY, excused) == 3
    assert alive(streak, MONDAY + 6 * DAY) == 0
    assert alive(streak, MONDAY + 7 * DAY, excused) == 3  # Saturday missed: the freeze
    assert alive(streak, MONDAY + 8 * DAY, excused) == 0  # and Sunday too


# ---- helpers -----------------------------------------------------------------------------


async def _answer(chat: Chat, who: Member) -> None:
    """Any answer counts the day: a personal multiple-choice question, answered."""
    place = Place(who.ref.platform, who.ref.workspace_id, "c1")
    quiz = await chat.run("/quiz kind:choice", as_=who, place=place)
    assert quiz.card is not None and quiz.card.buttons
    await chat.press(quiz.card, 1, as_=who, place=place)


def _fields(reply: Reply) -> dict[str, str]:
    assert reply.card is not None
    return {f.name: f.value for f in reply.card.fields}


async def _stats(chat: Chat, who: Member) -> dict[str, str]:
    return _fields(await chat.run("/stats", as_=who))


async def _stored(chat: Chat, who: Member) -> tuple[int, int, str | None]:
    """The member's streak row: current, best, and the week whose freeze was used."""
    async with chat.app.ctx.engine.connect() as conn:
        row = (
            await conn.execute(
                select(streaks.c.current, streaks.c.best, streaks.c.freeze_week).where(
                    streaks.c.workspace_id == who.ref.workspace_id,
                    streaks.c.user_id == who.ref.user_id,
                )
            )
        ).one()
    return row.current, row.best, row.freeze_week


def _text(reply: Reply) -> str:
    assert reply.card is not None
    return reply.card.body


# ---- away over simulated weeks -----------------------------------------------------------


async def test_away_days_pause_a_streak_over_two_weeks(chat: Chat) -> None:
    """Alice and Bob answer Monday to Wednesday. Alice goes away through Sunday; neither
    answers until the next Monday. Alice's streak goes on (4, freeze unused), Bob's starts
    again; /stats shows both, and Alice's away days."""
    for n in range(3):
        if n:
            await chat.advance(DAY)
        await _answer(chat, chat.alice)
        await _answer(chat, chat.bob)
    reply = await chat.run("/away until 2026-01-11", as_=chat.alice)
    assert "You are away through Sun 11 Jan 2026" in _text(reply)
    assert "Back on Mon 12 Jan 2026" in _text(reply)

    await chat.advance(3 * DAY)  # Saturday: mid-way
    assert chat.clock.now().date() == MONDAY + 5 * DAY
    mine = await _stats(chat, chat.alice)
    assert mine["Streak"] == "3 days now, best 3"
    assert (
        mine["Away"] == "4 days in all, none held against your streak; away through Sun 11 Jan 2026"
    )
    assert (await _stats(chat, chat.bob))["Streak"] == "0 days now, best 3"
    status = _text(await chat.run("/away", as_=chat.alice))
    assert "You are away through Sun 11 Jan 2026 (2 days left, today included)" in status

    await chat.advance(2 * DAY)  # Monday 12 January: both back
    await _answer(chat, chat.alice)
    await _answer(chat, chat.bob)
    assert await _stored(chat, chat.alice) == (4, 4, None)  # no freeze used
    assert (await _stored(chat, chat.bob))[0] == 1
    mine = await _stats(chat, chat.alice)
    assert mine["Streak"] == "4 days now, best 4"
    assert mine["Away"] == "5 days in all, none held against your streak"
    assert "Away" not in await _stats(chat, chat.bob)
    assert "Away" not in _fields(await chat.run("/stats @alice", as_=chat.bob))
    assert "You are not away" in _text(await chat.run("/away", as_=chat.alice))


async def test_answering_while_away_still_counts_and_off_ends_it(chat: Chat) -> None:
    """Away is a pause, not a ban: an answer on an away day counts. `/away off` makes the
    next day an ordinary one again: missing two days then breaks the streak."""
    await _answer(chat, chat.alice)  # Monday
    await chat.run("/away until 2026-01-09", as_=chat.alice)  # through Friday
    await chat.advance(3 * DAY)  # Thursday, away
    await _answer(chat, chat.alice)
    assert (await _stored(chat, chat.alice))[:2] == (2, 2)
    off = await chat.run("/away off", as_=chat.alice)
    assert "Welcome back" in _text(off)
    assert "nothing to end" in _text(await chat.run("/away off", as_=chat.alice))
    await chat.advance(3 * DAY)  # Sunday: Friday and Saturday were ordinary days, missed
    await _answer(chat, chat.alice)
    assert (await _stored(chat, chat.alice))[0] == 1
    assert (await _stats(chat, chat.alice))[
        "Away"
    ] == "3 days in all, none held against your streak"


async def test_bad_away_input_says_what_to_write(chat: Chat) -> None:
    for text, expected in (
        ("/away until next week", "`next week` is not a date. Write the last day you are away as"),
        ("/away until 2026-01-04", "Sun 4 Jan 2026 has passed. Give today or a later date"),
        ("/away until 2026-06-01", "Away lasts at most 90 days, so the latest date you can give"),
        ("/away 2026-13-01", "`2026-13-01` is not a date"),
        ("/away until", "Which date? Write the last day you are away as YYYY-MM-DD"),
    ):
        reply = await chat.run(text, as_=chat.alice)
        assert expected in _text(reply), text
    async with chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(select(away_periods))).all() == []
    longest = await chat.run("/away until 2026-04-04", as_=chat.alice)  # the 90th day
    assert "You are away through Sat 4 Apr 2026" in _text(longest)


async def test_review_reminders_wait_until_the_first_day_back(chat: Chat) -> None:
    """Alice and Bob both have a review due and a 19:00 reminder. Alice is away Tuesday to
    Thursday: Bob is reminded every evening, Alice only from Friday."""
    for who in (chat.alice, chat.bob):
        quiz = await chat.run("/quiz topic:statistics", as_=who)
        assert quiz.card is not None
        await chat.choose(quiz.card, 1, as_=who)  # wrong: due again tomorrow
        await chat.run("/remind 19:00", as_=who)
    await chat.advance(DAY)  # Tuesday 09:00
    await chat.run("/away until 2026-01-08", as_=chat.alice)

    reminded: dict[str, list[str]] = {"alice": [], "bob": []}  # the days each was reminded
    seen: set[str] = set()
    for _ in range(4):  # Tuesday evening to Friday evening, a day at a time
        await chat.advance(DAY)
        evening = (chat.clock.now() - DAY).date().isoformat()
        for message in chat.platform.messages.values():
            fresh = message.message_id not in seen
            if message.to and message.card.title == "Time for a review" and fresh:
                seen.add(message.message_id)
                reminded[message.to.user_id].append(evening)
    assert reminded["bob"] == ["2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"]
    assert reminded["alice"] == ["2026-01-09"]


async def test_a_reminder_set_while_away_waits_too(chat: Chat) -> None:
    """/remind run during an away period plans tomorrow's timer as usual, but no reminder is
    sent before the first day back."""
    quiz = await chat.run("/quiz topic:statistics", as_=chat.alice)
    assert quiz.card is not None
    await chat.choose(quiz.card, 1, as_=chat.alice)
    await chat.run("/away until 2026-01-07", as_=chat.alice)  # Monday to Wednesday
    await chat.run("/remind 19:00", as_=chat.alice)
    sent: list[str] = []
    for _ in range(4):  # Monday evening to Thursday evening
        await chat.advance(DAY)
        sent = [
            m.message_id
            for m in chat.platform.messages.values()
            if m.to and m.card.title == "Time for a review"
        ]
        if (chat.clock.now() - DAY).date().isoformat() <= "2026-01-07":
            assert sent == []
    assert len(sent) == 1  # Thursday, the first day back


# ---- mock rounds skip members away -----------------------------------------------------------


@cache
def _bank() -> tuple[Item, ...]:
    """Enough open, scenario and behavioural items for mock packets."""
    by_kind: dict[str, list[Item]] = {}
    for item in load_bank():
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(item for kind in by_kind.values() for item in kind[:40])


@pytest.fixture
async def mock_chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=_bank())
    try:
        yield chat
    finally:
        await chat.app.close()


async def _join(chat: Chat, who: Member) -> None:
    form = await chat.run("/mock join", as_=who)
    assert form.form is not None
    values = {
        "level": "mid",
        "focus": "technical",
        "timezone": "Europe/Berlin",
        "availability": EVENINGS,
        "cadence": "weekly",
    }
    assert await chat.app.handle(FormSubmit(who, chat.place, form.form.form_id, values))


async def _grouped(chat: Chat, round_no: int) -> set[str]:
    async with chat.app.ctx.engine.connect() as conn:
        rows = await conn.execute(select(mock_groups).where(mock_groups.c.round_id == round_no))
        return {
            person
            for row in rows.mappings()
            for person in (row["interviewer"], row["candidate"], row["observer"])
            if person
        }


async def test_a_mock_round_leaves_out_a_member_who_is_away(mock_chat: Chat) -> None:
    """Three opted in, Alice away: Bob and Carol are paired and Alice sits the round out as
    if paused; back from away, she is in the next round."""
    chat = mock_chat
    for who in (chat.alice, chat.bob, chat.carol):
        await _join(chat, who)
    await chat.run("/away until 2026-01-07", as_=chat.alice)
    first = await chat.run("/mock round now", as_=chat.admin)
    assert _text(first).startswith("Round 1: 1 pair, 0 trios, 0 waiting, 1 sitting out")
    assert await _grouped(chat, 1) == {"bob", "carol"}
    async with chat.app.ctx.engine.connect() as conn:
        paused = await conn.scalar(select(away_periods.c.user_id))
    assert paused == "alice"  # the away row, not the mock profile, is what paused her

    await chat.advance(3 * DAY)  # Thursday: back
    second = await chat.run("/mock round now", as_=chat.admin)
    assert "0 sitting out" in _text(second)
    assert "alice" in await _grouped(chat, 2)


# ---- the bot's own missed and failed drops -----------------------------------------------------


async def test_days_the_bot_was_down_never_break_a_streak(database_url: str) -> None:
    """A daily 09:00 drop; the bot is down Tuesday and Wednesday (both fires recorded as
    missed at restart). Alice, active Monday and Thursday, keeps her streak with her freeze
    unused; Carol, who then misses Friday and Saturday while drops post, loses hers."""
    clock, platform = ManualClock(), MemoryPlatform(platform="memory")
    chat = await make_chat(database_url, clock=clock, platform=platform)
    try:
        await chat.run("/schedule add daily 09:00 tz:UTC reveal:1h", as_=chat.admin)
        await _answer(chat, chat.alice)
        await _answer(chat, chat.carol)
    finally:
        await chat.app.close()
    clock.advance(2 * DAY + timedelta(hours=23))  # Thursday 08:00: down since Monday
    chat = await make_chat(database_url, clock=clock, platform=platform)
    try:
        async with chat.app.ctx.engine.connect() as conn:
            statuses = (await conn.execute(select(fires.c.local_time, fires.c.status))).all()
        assert sorted(statuses) == [
            ("2026-01-06T09:00", "missed"),
            ("2026-01-07T09:00", "missed"),
        ]
        await chat.advance(timedelta(hours=2))  # Thursday 10:00: today's drop posted
        for who in (chat.alice, chat.carol):
            await _answer(chat, who)
            assert await _stored(chat, who) == (2, 2, None)  # no freeze spent on the bot
        await chat.advance(DAY)
        await _answer(chat, chat.alice)  # Friday
        await chat.advance(DAY)
        await _answer(chat, chat.alice)  # Saturday
        await chat.advance(DAY)
        await _answer(chat, chat.alice)  # Sunday
        await _answer(chat, chat.carol)
        assert await _stored(chat, chat.alice) == (5, 5, None)
        assert (await _stored(chat, chat.carol))[0] == 1
        assert (await _stats(chat, chat.alice))["Streak"] == "5 days now, best 5"
    finally:
        await chat.app.close()


async def test_a_drop_the_platform_refused_never_breaks_a_streak(chat: Chat) -> None:
    """Two scheduled drops in a row refused by the platform (recorded as failed): a member
    who skipped those days keeps their streak, freeze unused; in another workspace, where
    nothing failed, the same gap breaks it."""
    outsider = Member(MemberRef("memory", "w2", "alice"), "Alice")
    await chat.run("/schedule add daily 09:00 tz:UTC reveal:1h", as_=chat.admin)
    await _answer(chat, chat.alice)  # Monday
    await _answer(chat, outsider)
    for _ in range(2):  # Tuesday and Wednesday: the drop is refused
        await chat.advance(timedelta(hours=23, minutes=30))  # 08:30
        chat.platform.fail_next.append(PlatformError("Missing Permissions"))
        await chat.advance(timedelta(minutes=30, seconds=1))
    async with chat.app.ctx.engine.connect() as conn:
        statuses = (await conn.scalars(select(fires.c.status).order_by(fires.c.id))).all()
    assert statuses == ["failed", "failed"]
    await chat.advance(DAY)  # Thursday
    await _answer(chat, chat.alice)
    assert await _stored(chat, chat.alice) == (2, 2, None)
    await _answer(chat, outsider)
    assert await _stored(chat, outsider) == (1, 1, None)


# ---- export and forget -----------------------------------------------------------------------


async def test_away_periods_are_exported_and_forgotten(chat: Chat) -> None:
    await chat.run("/away until 2026-01-20", as_=chat.alice)
    await chat.run("/away until 2026-01-20", as_=chat.bob)
    export = await chat.run("/me export", as_=chat.alice)
    (file,) = export.files
    (row,) = json.loads(file.content)["tables"]["away_periods"]
    assert (row["first_day"], row["last_day"]) == ("2026-01-05", "2026-01-20")
    confirm = await chat.run("/me forget", as_=chat.alice)
    assert confirm.card is not None
    await chat.press(confirm.card, 1, as_=chat.alice)
    async with chat.app.ctx.engine.connect() as conn:
        left = (await conn.scalars(select(away_periods.c.user_id))).all()
    assert left == ["bob"]
