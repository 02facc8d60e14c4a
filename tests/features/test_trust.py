"""Messages members can trust: points only as the README promises, a status that says what
is so, availability read as people write it, stats and boards that tell the truth, and
/next pointing at a drop still to come. Each test failed before its fix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.chat import Card, FormSubmit, Member, Reply
from bot.features.mocks import availability
from bot.store.schema import scores
from bot.timespec import SpecError, Weekly
from questions.loader import load_bank
from questions.schema import Item
from tests.conftest import Chat, make_chat

# ---- mock interviews -----------------------------------------------------------------------


@cache
def _mock_bank() -> tuple[Item, ...]:
    """Enough open, scenario and behavioural items for interviewer packets."""
    by_kind: dict[str, list[Item]] = {}
    for item in load_bank():
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(item for kind in by_kind.values() for item in kind[:30])


@pytest.fixture
async def mock_chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=_mock_bank())
    try:
        yield chat
    finally:
        await chat.app.close()


async def _join(chat: Chat, who: Member, availability_text: str = "weekday evenings") -> Reply:
    form = await chat.run("/mock join", as_=who)
    assert form.form is not None
    values = {"level": "mid", "focus": "technical", "availability": availability_text}
    reply = await chat.app.handle(FormSubmit(who, chat.place, form.form.form_id, values))
    assert reply is not None
    return reply


def _asks(chat: Chat, who: Member) -> list[Card]:
    """The "did it happen?" check-ins sent to the member, oldest first."""
    return [
        m.card
        for m in chat.platform.messages.values()
        if m.to == who.ref and "happen" in m.card.title
    ]


async def _mock_points(chat: Chat, who: Member) -> int:
    async with chat.app.ctx.engine.connect() as conn:
        points = await conn.scalar(
            select(scores.c.points).where(
                scores.c.user_id == who.ref.user_id,
                scores.c.period == "all",
                scores.c.topic == "mock",
            )
        )
    return int(points or 0)


async def _session_held(chat: Chat, people: list[Member]) -> None:
    for who in people:
        reply = await _join(chat, who)
        assert reply.card and "You're in" in reply.card.body
    await chat.run("/mock round now", as_=chat.admin)
    await chat.advance(timedelta(days=7, minutes=1))  # the check-ins go out


async def test_mock_points_come_only_when_both_partners_confirm(mock_chat: Chat) -> None:
    """One partner's yes earns nothing yet; the second yes pays both, and the one who
    confirmed first is told."""
    alice, bob = mock_chat.alice, mock_chat.bob
    await _session_held(mock_chat, [alice, bob])
    first = await mock_chat.press(_asks(mock_chat, alice)[0], 1, as_=alice)
    assert first.card and "+20" not in first.card.title
    assert "come as soon as Bob confirms" in first.card.body
    assert await _mock_points(mock_chat, alice) == 0
    second = await mock_chat.press(_asks(mock_chat, bob)[0], 1, as_=bob)
    assert second.card and second.card.title == "Great: +20 points"
    assert (await _mock_points(mock_chat, alice), await _mock_points(mock_chat, bob)) == (20, 20)
    told = [m.card for m in mock_chat.platform.messages.values() if m.to == alice.ref]
    assert any(c.title == "Mock interview confirmed: +20 points" for c in told)
    assert any("Bob confirmed it happened too" in c.body for c in told)


async def test_a_yes_after_the_partner_said_no_earns_nothing(mock_chat: Chat) -> None:
    """Bob says it did not happen: Alice's yes is noted, with why there are no points."""
    alice, bob = mock_chat.alice, mock_chat.bob
    await _session_held(mock_chat, [alice, bob])
    await mock_chat.press(_asks(mock_chat, bob)[0], 3, as_=bob)  # no
    yes = await mock_chat.press(_asks(mock_chat, alice)[0], 1, as_=alice)
    assert yes.card and "Bob said it did not happen" in yes.card.body
    assert "need both partners to confirm" in yes.card.body
    assert (await _mock_points(mock_chat, alice), await _mock_points(mock_chat, bob)) == (0, 0)


async def test_in_a_trio_each_yes_is_paid_once_a_partner_confirms(mock_chat: Chat) -> None:
    """Three in a group: the first yes waits, the second pays both, the third its sender;
    nobody is paid twice."""
    people = [mock_chat.alice, mock_chat.bob, mock_chat.carol]
    await _session_held(mock_chat, people)
    paid = []
    for who in people:
        await mock_chat.press(_asks(mock_chat, who)[0], 1, as_=who)
        paid.append([await _mock_points(mock_chat, p) for p in people])
    assert paid == [[0, 0, 0], [20, 20, 0], [20, 20, 20]]


async def test_status_after_leaving_says_you_left(mock_chat: Chat) -> None:
    """A pause set earlier does not make /mock status say "paused until" after /mock leave;
    other commands say the same."""
    alice = mock_chat.alice
    await _join(mock_chat, alice)
    await mock_chat.run("/mock pause 2026-03-01", as_=alice)
    paused = await mock_chat.run("/mock status", as_=alice)
    assert paused.card and "Paused until 2026-03-01" in paused.card.fields[1].value
    await mock_chat.run("/mock leave", as_=alice)
    status = await mock_chat.run("/mock status", as_=alice)
    assert status.card is not None
    state = status.card.fields[1].value
    assert "You have left mock interviews" in state and "paused" not in state.lower()
    skip = await mock_chat.run("/mock skip", as_=alice)
    assert skip.card and "You have left mock interviews" in skip.card.body


async def test_a_pause_that_has_run_out_is_not_shown(mock_chat: Chat) -> None:
    """Once its date has passed, a pause no longer shows: the member is taking part."""
    alice = mock_chat.alice
    await _join(mock_chat, alice)
    await mock_chat.run("/mock pause 2026-01-07", as_=alice)
    mock_chat.clock.advance(timedelta(days=3))
    status = await mock_chat.run("/mock status", as_=alice)
    assert status.card and status.card.fields[1].value == "Taking part."


@pytest.mark.parametrize(
    ("typed", "understood"),
    [
        ("evenings", "daily 18:00-22:00"),
        ("weekday evenings", "weekdays 18:00-22:00"),
        ("mon-fri 18:00-21:00", "weekdays 18:00-21:00"),
        ("sat 10-12", "sat 10:00-12:00"),
        ("tue, thu 6-9pm", "tue/thu 18:00-21:00"),
        ("weekday evenings and weekend mornings", "weekdays 18:00-22:00, weekends 08:00-12:00"),
        ("evenings on weekends", "weekends 18:00-22:00"),
        ("Mon/Wed/Fri 7:30-9am", "mon/wed/fri 07:30-09:00"),
    ],
)
async def test_availability_accepts_what_people_type(
    mock_chat: Chat, typed: str, understood: str
) -> None:
    """The opt-in form reads availability as people write it and shows what it understood."""
    reply = await _join(mock_chat, mock_chat.alice, typed)
    assert reply.card and "You're in" in reply.card.body, reply
    assert f"free {understood} (UTC)" in reply.card.body


MANY = ", ".join(f"{day} {h}-{h + 1}" for day in ("mon", "tue", "wed") for h in range(8, 15))


@pytest.mark.parametrize(
    "typed", ["whenever", "sat 22-18", "sat 25-26", "", "someday noon", MANY, f"{MANY}, sun 9-10"]
)
def test_every_availability_error_gives_an_example(typed: str) -> None:
    """Each refusal names what was not understood and shows a way that works; so does
    one whose normal form would not fit a profile."""
    with pytest.raises(SpecError) as refused:
        availability.normalise(typed)
    assert "e.g. `" in str(refused.value)


async def test_a_bad_availability_in_the_form_says_how_to_write_it(mock_chat: Chat) -> None:
    reply = await _join(mock_chat, mock_chat.alice, "whenever I can")
    assert reply.card and "not saved" in reply.card.body and "e.g. `" in reply.card.body


WINDOWS = st.builds(
    Weekly,
    st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True).map(
        lambda days: tuple(sorted(days))
    ),
    st.tuples(st.integers(0, 11), st.sampled_from([0, 15, 30, 45])),
    st.tuples(st.integers(12, 23), st.sampled_from([0, 30, 59])),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(WINDOWS, min_size=1, max_size=5, unique=True))
def test_the_normal_form_reads_back_to_the_same_windows(windows: list[Weekly]) -> None:
    """What is stored and shown back reads again as exactly the windows it came from."""
    assert availability.parse(availability.text(windows)) == tuple(windows)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_any_text_reads_or_is_refused_with_an_example(typed: str) -> None:
    """Whatever is typed: windows within one day, or a SpecError that shows an example."""
    try:
        windows = availability.parse(typed)
        shown = availability.normalise(typed)
    except SpecError as exc:
        refusal = str(exc)
    else:
        assert windows and all(w.start < w.end for w in windows)
        assert len(shown) <= availability.MAX_CHARS  # what a profile can store
        return
    assert "e.g." in refusal


# ---- stats, practice and the boards --------------------------------------------------------


async def _quiz(chat: Chat, who: Member, topic: str, *, right: bool) -> None:
    """A /quiz question of the topic, answered right or wrong (the mini bank's keys)."""
    reply = await chat.run(f"/quiz topic:{topic} kind:choice", as_=who)
    assert reply.card is not None
    key = 2 if topic == "statistics" else 3
    await chat.choose(reply.card, key if right else 1, as_=who)


def _fields(reply: Reply) -> dict[str, str]:
    assert reply.card is not None
    return {f.name: f.value for f in reply.card.fields}


async def test_stats_suggests_only_topics_practice_can_serve(chat: Chat) -> None:
    """The mini bank has multiple-choice questions in statistics and evaluation only: the
    weakest topics named, and the /practice hint, are among those."""
    await _quiz(chat, chat.alice, "statistics", right=True)
    fields = _fields(await chat.run("/stats", as_=chat.alice))
    named = fields["Work on next"]
    assert "Try `/practice topic:evaluation`" in named
    assert "behavioural" not in named and "fundamentals" not in named
    practice = await chat.run("/practice topic:evaluation", as_=chat.alice)
    assert practice.card and practice.card.buttons  # a question /practice can really ask


async def test_a_topic_answered_wrongly_shows_less_mastery_than_one_answered_right(
    chat: Chat,
) -> None:
    """Right after answering, a wrong answer's card and a right one's both recall at 100 %;
    mastery counts the wrong one as not recalled."""
    await _quiz(chat, chat.alice, "statistics", right=False)
    await _quiz(chat, chat.alice, "evaluation", right=True)
    named = _fields(await chat.run("/stats", as_=chat.alice))["Work on next"]
    assert "statistics (0%)" in named and "evaluation (10%)" in named
    chat.clock.advance(timedelta(days=1))
    await _quiz(chat, chat.alice, "statistics", right=True)  # right again: recalled again
    named = _fields(await chat.run("/stats", as_=chat.alice))["Work on next"]
    assert "statistics (0%)" not in named


async def test_practice_says_why_it_has_nothing_to_ask(chat: Chat) -> None:
    """A topic without multiple-choice questions is not "seen every question"."""
    reply = await chat.run("/practice topic:behavioural", as_=chat.alice)
    assert reply.card is not None
    assert "seen every" not in reply.card.body
    assert "no behavioural multiple-choice questions" in reply.card.body
    await _quiz(chat, chat.alice, "statistics", right=True)
    seen = await chat.run("/practice topic:statistics", as_=chat.alice)
    assert seen.card and "You have seen every statistics multiple-choice question" in seen.card.body


async def test_the_public_board_never_says_you(chat: Chat) -> None:
    """/leaderboard goes to the channel: it names members, and the asker's own place comes
    to them alone."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    await chat.choose(chat.last_post(), 3, as_=chat.alice)
    board = await chat.run("/leaderboard", as_=chat.bob)
    assert not board.private and board.card is not None
    public = " ".join((board.card.title, board.card.body, board.card.footer)).lower()
    assert "you" not in public.split() and "you:" not in public
    assert board.notes[0].body.startswith("You are not on this board yet")


async def test_someone_elses_stats_speak_of_them_not_of_you(chat: Chat) -> None:
    """/stats @alice as Bob: no /practice or /review hints meant for Alice, no misconceptions
    of hers, and the footer speaks of "their" questions."""
    await _quiz(chat, chat.alice, "evaluation", right=False)  # a wrong option with a label
    mine = _fields(await chat.run("/stats", as_=chat.alice))
    assert "Misconceptions to unlearn" in mine and "Reviews due" in mine
    theirs = await chat.run("/stats @alice", as_=chat.bob)
    assert theirs.card is not None
    fields = {f.name: f.value for f in theirs.card.fields}
    assert "Misconceptions to unlearn" not in fields and "Reviews due" not in fields
    assert "/practice" not in fields["Weakest topics"]
    assert "their reviewed questions" in theirs.card.footer


async def test_a_tie_shares_a_medal(chat: Chat) -> None:
    """Equal points and right answers: the same medal, and the next member's place counts
    everyone above."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    for who in (chat.alice, chat.bob):
        await chat.choose(drop, 3, as_=who)
    await chat.choose(drop, 1, as_=chat.carol)
    board = await chat.run("/leaderboard", as_=chat.carol)
    assert board.card is not None
    assert [line.split()[0] for line in board.card.body.splitlines()] == ["🥇", "🥇", "🥉"]
    assert board.notes[0].body == "You are #3 this week with 2 pts."


async def test_open_answers_alone_are_not_zero_right(chat: Chat) -> None:
    """A member who only wrote open answers is not shown as "0 right" on the board, nor
    "0% right" in /stats."""
    await chat.run("/drop now kind:open", as_=chat.admin)
    form = await chat.press(chat.last_post(), 1, as_=chat.alice)
    await chat.submit(form, {"answer": "Overfitting is learning the noise."}, as_=chat.alice)
    board = await chat.run("/leaderboard", as_=chat.alice)
    assert board.card and board.card.body == "🥇 **Alice**: 5 pts · 1 answered"
    fields = _fields(await chat.run("/stats", as_=chat.alice))
    assert fields["Answered"] == "1 open answer"
    assert fields["Accuracy by topic"] == "-"


async def test_next_right_after_a_fire_names_the_next_drop(chat: Chat) -> None:
    """At the very moment a drop goes out, /next names the one after it, not "in 0 h"."""
    await chat.run("/schedule add daily 10:00 tz:UTC", as_=chat.admin)
    await chat.advance(timedelta(hours=1))  # 10:00 exactly: today's drop is out
    assert chat.last_post().card.title.startswith("Question drop #1 ·")
    reply = await chat.run("/next", as_=chat.alice)
    assert reply.card is not None
    assert "**Tue 06 Jan 2026 10:00 UTC** (in 1 day)" in reply.card.body


async def test_next_in_a_few_minutes_says_minutes(chat: Chat) -> None:
    await chat.run("/schedule add daily 09:05 tz:UTC", as_=chat.admin)
    reply = await chat.run("/next", as_=chat.alice)
    assert reply.card and "(in 5 min)" in reply.card.body
