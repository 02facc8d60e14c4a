"""Mock interviews: opt-in, rounds, private spaces, interviewer-only packets, follow-up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy import select

from bot.chat import FormSubmit, Member, Reply
from bot.ports import Sent
from bot.store.schema import mock_packets, mock_profiles
from questions.loader import load_bank
from questions.schema import Item
from tests.conftest import Chat, make_chat, member

EVENINGS = "weekday evenings, weekend mornings"


@cache
def _bank() -> tuple[Item, ...]:
    """Enough open, scenario and behavioural items for packets, plus a few choice items."""
    items = load_bank()
    by_kind: dict[str, list[Item]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(item for kind in by_kind.values() for item in kind[:40])


@pytest.fixture
async def mock_chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=_bank())
    try:
        yield chat
    finally:
        await chat.app.close()


async def _join(
    chat: Chat,
    who: Member,
    *,
    level: str = "mid",
    focus: str = "technical",
    tz: str = "Europe/Berlin",
    availability: str = EVENINGS,
    cadence: str = "weekly",
) -> Reply:
    form = await chat.run("/mock join", as_=who)
    assert form.form is not None
    values = {
        "level": level,
        "focus": focus,
        "timezone": tz,
        "availability": availability,
        "cadence": cadence,
    }
    reply = await chat.app.handle(FormSubmit(who, chat.place, form.form.form_id, values))
    assert reply is not None
    return reply


def _dms(chat: Chat, who: Member) -> list[Sent]:
    return [m for m in chat.platform.messages.values() if m.to == who.ref]


def _packets(chat: Chat, who: Member) -> list[Sent]:
    return [m for m in _dms(chat, who) if m.card.title.startswith("Your interviewer packet")]


PEOPLE = ("Ann", "Ben", "Cat", "Dan", "Eve")


async def _five(chat: Chat) -> list[Member]:
    people = [member(n) for n in PEOPLE]
    for who, focus in zip(
        people, ("technical", "system design", "behavioural", "mixed", "technical"), strict=True
    ):
        reply = await _join(chat, who, focus=focus)
        assert reply.card and "You're in" in reply.card.body
    return people


async def test_joining_checks_every_field_and_saves_nothing_when_wrong(mock_chat: Chat) -> None:
    """A bad form lists every problem at once and stores no profile."""
    reply = await _join(
        mock_chat,
        mock_chat.alice,
        level="wizard",
        focus="poetry",
        tz="Mars/Base",
        availability="whenever",
        cadence="daily",
    )
    assert reply.card is not None
    body = reply.card.body
    for problem in (
        "level `wizard`",
        "focus `poetry`",
        "Unknown time zone `Mars/Base`",
        "availability:",
        "cadence `daily`",
    ):
        assert problem in body
    async with mock_chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(select(mock_profiles))).all() == []


async def test_a_round_of_five_makes_a_pair_and_a_trio_with_packets(mock_chat: Chat) -> None:
    """Five opted in: one pair and one trio, a private space each, packets to interviewers."""
    people = await _five(mock_chat)
    reply = await mock_chat.run("/mock round now", as_=mock_chat.admin)
    assert reply.card and reply.card.body.startswith("Round 1: 1 pair, 1 trio, 0 waiting")
    groups = [g for op, g in mock_chat.platform.log if op == "group"]
    assert len(groups) == 2
    intros = [
        m for m in mock_chat.platform.messages.values() if m.place.channel_id.startswith("group:")
    ]
    assert len(intros) == 2 and all("then you swap" in m.card.body for m in intros)
    async with mock_chat.app.ctx.engine.connect() as conn:
        packets = (await conn.execute(select(mock_packets))).mappings().all()
    assert len(packets) == 5  # everyone interviews someone: 2 in the pair, 3 in the trio
    for row in packets:
        assert row["interviewer"] != row["candidate"]
    for who in people:
        mine = _packets(mock_chat, who)
        assert len(mine) == 1  # their packet is for someone else
        candidate = next(r["candidate"] for r in packets if r["interviewer"] == who.ref.user_id)
        assert candidate.capitalize() in mine[0].card.title
        assert "Rubric:" in mine[0].card.fields[-1].name


async def test_the_candidate_never_sees_their_own_packet(mock_chat: Chat) -> None:
    """No member is sent the questions meant for interviewing them."""
    await _five(mock_chat)
    await mock_chat.run("/mock round now", as_=mock_chat.admin)
    async with mock_chat.app.ctx.engine.connect() as conn:
        packets = (await conn.execute(select(mock_packets))).mappings().all()
    for row in packets:
        prompts = set(json.loads(row["question_ids"]))
        candidate = member(row["candidate"].capitalize())
        seen = " ".join(
            m.card.title + " ".join(f.name for f in m.card.fields)
            for m in _dms(mock_chat, candidate)
        )
        from bot import bank as bank_module

        async with mock_chat.app.ctx.engine.connect() as conn:
            for qid in prompts:
                item = await bank_module.get(
                    conn, platform="memory", workspace_id="w1", question_id=qid
                )
                assert item is not None
                assert item.prompt not in seen


async def test_packets_never_repeat_questions_for_a_candidate(mock_chat: Chat) -> None:
    """Over several rounds a candidate is never asked a question from an earlier mock."""
    await _five(mock_chat)
    for _ in range(4):
        await mock_chat.run("/mock round now", as_=mock_chat.admin)
    async with mock_chat.app.ctx.engine.connect() as conn:
        packets = (await conn.execute(select(mock_packets))).mappings().all()
    by_candidate: dict[str, list[str]] = {}
    for row in packets:
        by_candidate.setdefault(row["candidate"], []).extend(json.loads(row["question_ids"]))
    for ids in by_candidate.values():
        assert len(ids) == len(set(ids))


async def test_skip_pause_and_block(mock_chat: Chat) -> None:
    """A skip sits out one round; a pause until a date; a blocked pair is never grouped."""
    people = await _five(mock_chat)
    ann, ben, cat, dan, _eve = people
    await mock_chat.run("/mock skip", as_=ann)
    await mock_chat.run("/mock pause 2026-02-01", as_=ben)
    await mock_chat.run("/mock block @dan", as_=cat)
    reply = await mock_chat.run("/mock round now", as_=mock_chat.admin)
    assert reply.card and "2 sitting out" in reply.card.body
    assert "1 pair, 0 trios" in reply.card.body
    partner_of_cat = [g for op, g in mock_chat.platform.log if op == "group"]
    assert all("dan" not in g or "cat" not in g for g in partner_of_cat)
    second = await mock_chat.run("/mock round now", as_=mock_chat.admin)
    assert second.card and "1 sitting out" in second.card.body  # Ann is back, Ben paused
    bad = await mock_chat.run("/mock pause 2020-01-01", as_=dan)
    assert bad.card and "has passed" in bad.card.body


async def test_odd_one_out_is_told_not_dropped(mock_chat: Chat) -> None:
    """Alone in a round: a private note says why, and they stay opted in."""
    await _join(mock_chat, mock_chat.alice)
    reply = await mock_chat.run("/mock round now", as_=mock_chat.admin)
    assert reply.card and "0 pairs, 0 trios, 1 waiting" in reply.card.body
    (note,) = _dms(mock_chat, mock_chat.alice)
    assert "nobody else opted in this round" in note.card.body


async def test_suggested_times_are_in_each_persons_time_zone(mock_chat: Chat) -> None:
    """Common free time is shown to each member in their own zone."""
    await _join(mock_chat, mock_chat.alice, tz="Europe/Berlin", availability="weekdays 18:00-22:00")
    await _join(
        mock_chat, mock_chat.bob, tz="America/New_York", availability="weekdays 12:00-16:00"
    )
    await mock_chat.run("/mock round now", as_=mock_chat.admin)
    intro = next(
        m for m in mock_chat.platform.messages.values() if m.place.channel_id.startswith("group:")
    )
    fields = {f.name: f.value for f in intro.card.fields}
    berlin = fields["Suggested times for Alice"].splitlines()[0]
    new_york = fields["Suggested times for Bob"].splitlines()[0]
    # 18:00-22:00 Berlin meets 12:00-16:00 New York at 18:00-22:00 Berlin = 12:00-16:00 NY.
    assert berlin.endswith("18:00–22:00") and new_york.endswith("12:00–16:00")
    why = await mock_chat.run("/mock why", as_=mock_chat.alice)
    assert why.card and "**Bob**: 20 h 0 min of common free time this week" in why.card.body


async def test_follow_up_re_ask_feedback_points_and_report(mock_chat: Chat) -> None:
    """After the session window both are asked; not yet → asked again in 48 h; yes → the
    feedback form, delivered privately to the partner, with points; the report counts it."""
    await _join(mock_chat, mock_chat.alice)
    await _join(mock_chat, mock_chat.bob)
    await mock_chat.run("/mock round now", as_=mock_chat.admin)
    await mock_chat.advance(timedelta(days=7, minutes=1))
    ask_alice = [m for m in _dms(mock_chat, mock_chat.alice) if "happen" in m.card.title]
    ask_bob = [m for m in _dms(mock_chat, mock_chat.bob) if "happen" in m.card.title]
    assert len(ask_alice) == 1 and len(ask_bob) == 1
    later = await mock_chat.press(ask_bob[0], 2, as_=mock_chat.bob)  # not yet
    assert later.card and "ask again in two days" in later.card.body
    await mock_chat.advance(timedelta(hours=49))
    assert len([m for m in _dms(mock_chat, mock_chat.bob) if "happen" in m.card.title]) == 2
    assert len([m for m in _dms(mock_chat, mock_chat.alice) if "happen" in m.card.title]) == 1
    yes = await mock_chat.press(ask_alice[0], 1, as_=mock_chat.alice)
    assert yes.card and yes.card.title == "Thanks: noted"  # the points wait for Bob's yes
    form = await mock_chat.press(yes.card, 1, as_=mock_chat.alice)
    assert form.form is not None
    dims = form.form.fields[0].label
    bad = await mock_chat.submit(
        form, {"scores": "5 5", "strength": "x", "improve": "y"}, as_=mock_chat.alice
    )
    assert bad.card and "give 5 numbers from 1 to 4" in bad.card.body, dims
    sent = await mock_chat.submit(
        form,
        {
            "scores": "3 4 2 3 4",
            "strength": "Clear reasoning about trade-offs.",
            "improve": "Ask clarifying questions before diving in.",
        },
        as_=mock_chat.alice,
    )
    assert sent.card and "Sent privately to your partner" in sent.card.body
    (feedback,) = [m for m in _dms(mock_chat, mock_chat.bob) if "Feedback from" in m.card.title]
    assert "Ask clarifying questions" in " ".join(f.value for f in feedback.card.fields)
    assert not [m for m in _dms(mock_chat, mock_chat.alice) if "Feedback from" in m.card.title]
    ask_bob = [m for m in _dms(mock_chat, mock_chat.bob) if "happen" in m.card.title]
    bob_yes = await mock_chat.press(ask_bob[-1], 1, as_=mock_chat.bob)
    assert bob_yes.card and bob_yes.card.title == "Great: +20 points"
    board = await mock_chat.run("/leaderboard all", as_=mock_chat.alice)
    assert board.card and "**Alice**: 30 pts" in board.card.body  # 20 completed + 10 feedback
    report = await mock_chat.run("/mock report", as_=mock_chat.admin)
    assert report.card is not None
    fields = {f.name: f.value for f in report.card.fields}
    assert fields["Rounds"] == "1"
    assert fields["Completion"] == "100% (2 of 2 confirmed)"
    assert fields["Average rubric scores"].startswith("correctness 3.0")


async def test_three_missed_sessions_pause_the_member(mock_chat: Chat) -> None:
    """Saying "no" three times in a row pauses them, with a notice on how to resume."""
    await _join(mock_chat, mock_chat.alice)
    await _join(mock_chat, mock_chat.bob)
    last = None
    for _ in range(3):
        await mock_chat.run("/mock round now", as_=mock_chat.admin)
        await mock_chat.advance(timedelta(days=7, minutes=1))
        ask = [m for m in _dms(mock_chat, mock_chat.alice) if "happen" in m.card.title][-1]
        last = await mock_chat.press(ask, 3, as_=mock_chat.alice)
    assert last is not None and last.card is not None
    assert "3 missed sessions in a row" in last.card.body and "/mock join" in last.card.body
    status = await mock_chat.run("/mock status", as_=mock_chat.alice)
    assert status.card and "paused" in status.card.fields[1].value
    reply = await mock_chat.run("/mock round now", as_=mock_chat.admin)
    assert reply.card and "0 pairs" in reply.card.body


async def test_scheduled_rounds_with_a_notice_the_day_before(mock_chat: Chat) -> None:
    """/mock settings puts rounds on the scheduler, with a notice the day before."""
    await _join(mock_chat, mock_chat.alice)
    await _join(mock_chat, mock_chat.bob)
    reply = await mock_chat.run("/mock settings day:wed time:18:00", as_=mock_chat.admin)
    assert reply.card and "every wed at 18:00 (UTC)" in reply.card.body
    ran = await mock_chat.advance(timedelta(days=3))  # Monday 09:00 → Thursday 09:00
    jobs = [job for _, job in ran if job.startswith("mock")]
    assert jobs == ["mock-notice:memory:w1", "mock:memory:w1"]
    titles = [m.card.title for m in mock_chat.posts()]
    assert "Mock interview round tomorrow" in titles and "Mock interview round" in titles
    status = await mock_chat.run("/mock status", as_=mock_chat.alice)
    assert status.card and "Round 1: with Bob" in status.card.fields[3].value
