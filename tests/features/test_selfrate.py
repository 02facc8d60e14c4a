"""Open answers in spaced repetition (issue 18, item 2): after an open drop's reveal each
author ticks the key points their answer covered; the share covered is the FSRS rating, and
the open question comes back in /practice and /review, asked and rated the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import fsrs
import pytest
from sqlalchemy import select

from bot.chat import Button, Card, Member, MemberRef, Place
from bot.features import practice, progress, selfrate
from bot.ports import MemoryPlatform, Sent
from bot.store.schema import cards, deliveries, review_logs
from tests.conftest import Chat, two_instances

ALICE_ANSWER = "It fits noise in the training data; the train/validation gap widens."
BOB_ANSWER = "The model memorises its training examples and fails on new data."
POINTS = 4  # the mini bank's open item has four key points
DONE = POINTS + 1  # the Done button comes after one button per key point


async def _answered_open_drop(chat: Chat, *who: tuple[Member, str]) -> Sent:
    await chat.run("/drop now kind:open", as_=chat.admin)
    drop = chat.last_post()
    for member, text in who:
        form = await chat.press(drop, 1, as_=member)
        await chat.submit(form, {"answer": text}, as_=member)
    return drop


def _dms(chat: Chat, member: Member) -> list[Sent]:
    return [m for m in chat.platform.messages.values() if m.to == member.ref]


async def _tick(chat: Chat, card: Card, points: list[int], *, as_: Member, place: Place) -> Card:
    """Press the key points ``points`` (1-based) one after another, each on the card the
    last press drew; return the last card."""
    for point in points:
        reply = await chat.press(card, point, as_=as_, place=place)
        assert reply.card is not None
        card = reply.card
    return card


async def _logs(chat: Chat, who: Member) -> list[tuple[int, datetime]]:
    async with chat.app.ctx.engine.connect() as conn:
        rows = await conn.execute(
            select(review_logs.c.rating, review_logs.c.reviewed_at)
            .where(review_logs.c.user_id == who.ref.user_id)
            .order_by(review_logs.c.id)
        )
        return [(int(r), at) for r, at in rows.all()]


async def _card(chat: Chat, who: Member) -> dict[str, object]:
    async with chat.app.ctx.engine.connect() as conn:
        row = (
            (await conn.execute(select(cards).where(cards.c.user_id == who.ref.user_id)))
            .mappings()
            .one()
        )
    return dict(row)


def _replayed(ratings: list[tuple[int, datetime]]) -> fsrs.Card:
    card = fsrs.Card(card_id=practice.NO_ID)
    for rating, at in ratings:
        card, _log = practice.SCHEDULER.review_card(card, fsrs.Rating(rating), at)
    return card


def test_coverage_maps_to_the_fsrs_rating() -> None:
    """None → Again, under half → Hard, half or more → Good, all → Easy."""
    expected = {
        (0, 4): fsrs.Rating.Again,
        (1, 4): fsrs.Rating.Hard,
        (2, 4): fsrs.Rating.Good,
        (3, 4): fsrs.Rating.Good,
        (4, 4): fsrs.Rating.Easy,
        (1, 3): fsrs.Rating.Hard,
        (2, 3): fsrs.Rating.Good,
        (0, 3): fsrs.Rating.Again,
        (3, 3): fsrs.Rating.Easy,
    }
    for (covered, total), rating in expected.items():
        assert selfrate.rating(covered, total) == rating, (covered, total)


def test_button_ids_round_trip_and_reject_forgeries() -> None:
    assert selfrate.parse_id(selfrate.button_id(12, 5, "3", "U:1")) == selfrate.Press(
        12, 5, 3, "U:1"
    )
    assert selfrate.parse_id(selfrate.button_id(12, 0, "done", "u")) == selfrate.Press(
        12, 0, None, "u"
    )
    for bad in (
        "rate:12:5:3",
        "rate:x:5:3:u",
        "rate:12:-1:3:u",
        "rate:12:5:10:u",
        "rate:12:5:3:",
        "rate:99999999999:1:1:u",
        "sure:12:5:3:u",
    ):
        assert selfrate.parse_id(bad) is None, bad
    assert selfrate.parse_answer_id(practice.open_answer_id(7)) == 7
    assert selfrate.parse_answer_id("rate:7:answered") is None


async def test_each_author_ticks_their_key_points_and_the_card_takes_that_rating(
    chat: Chat,
) -> None:
    await _answered_open_drop(chat, (chat.alice, ALICE_ANSWER), (chat.bob, BOB_ANSWER))
    assert _dms(chat, chat.alice) == [] and _dms(chat, chat.bob) == []  # nothing before
    await chat.run("/reveal", as_=chat.admin)

    (alice_dm,) = _dms(chat, chat.alice)
    (bob_dm,) = _dms(chat, chat.bob)
    assert _dms(chat, chat.admin) == []  # only those who answered
    shown = alice_dm.card
    assert shown.title == "Drop #1: which key points did your answer make?"
    assert shown.fields[0].value == ALICE_ANSWER and BOB_ANSWER not in str(shown)
    assert "☐ 1. Fits noise rather than the signal that generalises" in shown.fields[1].value
    assert [b.label.split(".")[0] for b in shown.buttons] == [
        "☐ 1",
        "☐ 2",
        "☐ 3",
        "☐ 4",
        "Done: 0 of 4 covered",
    ]

    chat.clock.advance(timedelta(hours=1))
    rated_at = chat.clock.now()
    ticked = await _tick(chat, shown, [1, 2, 3, 3], as_=chat.alice, place=alice_dm.place)
    assert ticked.buttons[0].label.startswith("☑ 1") and ticked.buttons[2].label.startswith("☐ 3")
    assert ticked.buttons[-1].label == "Done: 2 of 4 covered"
    assert await _logs(chat, chat.alice) == []  # ticking alone stores nothing
    done = await chat.press(ticked, DONE, as_=chat.alice, place=alice_dm.place)
    assert done.card is not None and done.card.title == "Rated Good"
    assert "You covered 2 of 4 key points" in done.card.body

    bob_ticked = await _tick(chat, bob_dm.card, [4], as_=chat.bob, place=bob_dm.place)
    await chat.press(bob_ticked, DONE, as_=chat.bob, place=bob_dm.place)

    alice_logs = await _logs(chat, chat.alice)
    assert alice_logs == [(int(fsrs.Rating.Good), rated_at)]
    assert [r for r, _ in await _logs(chat, chat.bob)] == [int(fsrs.Rating.Hard)]
    expected = _replayed(alice_logs)
    stored = await _card(chat, chat.alice)
    assert stored["question_id"] == "fundamentals-explain-overfitting"
    assert stored["due"] == expected.due and stored["stability"] == expected.stability
    assert stored["state"] == int(expected.state) and stored["reps"] == 1

    again = await chat.press(ticked, DONE, as_=chat.alice, place=alice_dm.place)
    assert again.card is not None and "already rated" in again.card.body
    toggled = await chat.press(ticked, 4, as_=chat.alice, place=alice_dm.place)
    assert toggled.card is not None and "already rated" in toggled.card.body
    assert len(await _logs(chat, chat.alice)) == 1


async def test_the_open_item_comes_back_when_due_and_counts_in_mastery(chat: Chat) -> None:
    await _answered_open_drop(chat, (chat.alice, ALICE_ANSWER))
    await chat.run("/reveal", as_=chat.admin)
    (dm,) = _dms(chat, chat.alice)
    first = await chat.press(
        await _tick(chat, dm.card, [1], as_=chat.alice, place=dm.place),
        DONE,
        as_=chat.alice,
        place=dm.place,
    )
    assert first.card is not None and first.card.title == "Rated Hard"
    async with chat.app.ctx.engine.connect() as conn:
        mastery = await progress.mastery_by_topic(conn, chat.alice.ref, chat.clock.now())
    assert mastery["fundamentals"] > 0  # the open card is the only one she has

    not_yet = await chat.run("/review", as_=chat.alice)
    assert not_yet.card is not None and "Nothing is due" in not_yet.card.body
    due = (await _card(chat, chat.alice))["due"]
    assert isinstance(due, datetime)
    chat.clock.advance(due - chat.clock.now() + timedelta(minutes=1))

    review = await chat.run("/review", as_=chat.alice)
    assert review.card is not None and "1 review due" in review.card.body
    assert "What is overfitting" in review.card.body
    (answer,) = review.card.buttons
    assert answer.action_id == practice.open_answer_id(2)  # the private question's drop
    refused = await chat.press(review.card, 1, as_=chat.bob)
    assert refused.form is None and refused.card is not None
    assert "someone else's" in refused.card.body
    form = await chat.press(review.card, 1, as_=chat.alice)
    assert form.form is not None and form.form.form_id == answer.action_id
    short = await chat.submit(form, {"answer": "noise"}, as_=chat.alice)
    assert short.card is not None and "at least 20" in short.card.body
    asked = await chat.submit(
        form, {"answer": "It learns the noise; watch the validation gap."}, as_=chat.alice
    )
    assert asked.card is not None and asked.card.title.startswith("Your question: which key")
    assert asked.card.fields[0].value == "It learns the noise; watch the validation gap."
    reviewed_at = chat.clock.now()
    all_four = await _tick(chat, asked.card, [1, 2, 3, 4], as_=chat.alice, place=chat.place)
    easy = await chat.press(all_four, DONE, as_=chat.alice)
    assert easy.card is not None and easy.card.title == "Rated Easy"
    assert [b.label for b in easy.card.buttons] == ["Next question"]

    logs = await _logs(chat, chat.alice)
    assert [r for r, _ in logs] == [int(fsrs.Rating.Hard), int(fsrs.Rating.Easy)]
    assert logs[1][1] == reviewed_at
    stored = await _card(chat, chat.alice)
    assert stored["reps"] == 2 and stored["due"] == _replayed(logs).due

    # Due again later: /practice serves it before anything new, the same way.
    chat.clock.advance(_replayed(logs).due - chat.clock.now() + timedelta(minutes=1))
    practised = await chat.run("/practice", as_=chat.alice)
    assert practised.card is not None and "What is overfitting" in practised.card.body
    assert practised.card.buttons[0].action_id == practice.open_answer_id(3)


async def test_buttons_are_refused_to_others_and_before_the_reveal(chat: Chat) -> None:
    await _answered_open_drop(chat, (chat.alice, ALICE_ANSWER))
    forged = Card(
        "forged", buttons=(Button("x", selfrate.button_id(1, 0, "done", chat.alice.ref.user_id)),)
    )
    early = await chat.press(forged, 1, as_=chat.alice)
    assert early.card is not None and "not revealed yet" in early.card.body
    await chat.run("/reveal", as_=chat.admin)
    (dm,) = _dms(chat, chat.alice)
    for number in (1, DONE):
        refused = await chat.press(dm.card, number, as_=chat.bob, place=dm.place)
        assert refused.card is not None and "someone else's answer" in refused.card.body
    carol = Card(
        "forged", buttons=(Button("x", selfrate.button_id(1, 0, "done", chat.carol.ref.user_id)),)
    )
    nothing = await chat.press(carol, 1, as_=chat.carol)
    assert nothing.card is not None and "no written answer of yours" in nothing.card.body
    assert await _logs(chat, chat.bob) == [] and await _logs(chat, chat.carol) == []
    channel = await chat.press(
        Card("forged", buttons=(Button("x", practice.open_answer_id(1)),)), 1, as_=chat.bob
    )
    assert channel.form is None and channel.card is not None
    assert "Answer button under it in the channel" in channel.card.body


class DyingPlatform(MemoryPlatform):
    """Its process dies at the ``die_at``-th direct message, before the message lands."""

    def __init__(self) -> None:
        super().__init__(platform="memory")
        self.die_at: int | None = None
        self.dm_calls = 0

    async def dm(self, member: MemberRef, card: Card) -> str:
        self.dm_calls += 1
        if self.die_at is not None and self.dm_calls == self.die_at:
            self.die_at = None
            raise SystemExit("killed while sending the self-rating messages")
        return await super().dm(member, card)


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[Chat, Chat, DyingPlatform]]:
    platform = DyingPlatform()
    async with two_instances(database_url, platform) as (first, second):
        yield first, second, platform


async def test_a_resumed_reveal_sends_each_author_one_message(
    pair: tuple[Chat, Chat, DyingPlatform],
) -> None:
    """The revealing instance dies at the second author's message; another instance finishes
    the reveal and sends only what was not sent."""
    first, second, platform = pair
    await _answered_open_drop(first, (first.alice, ALICE_ANSWER), (first.bob, BOB_ANSWER))
    platform.die_at = 2
    with pytest.raises(SystemExit):
        await first.run("/reveal", as_=first.admin)
    assert len(_dms(first, first.alice)) == 1 and _dms(first, first.bob) == []
    await second.app.jobs.sync()  # the lease still holds: nothing yet
    assert _dms(second, second.bob) == []
    second.clock.advance(timedelta(minutes=3))
    await second.app.jobs.sync()
    assert len(_dms(second, second.alice)) == 1 and len(_dms(second, second.bob)) == 1
    second.clock.advance(timedelta(minutes=3))
    await second.app.jobs.sync()  # settled: nothing more
    assert platform.dm_calls == 3  # alice, the one that died, bob again
    async with second.app.ctx.engine.connect() as conn:
        keys = set((await conn.scalars(select(deliveries.c.key))).all())
    assert {"selfrate:dm:1:alice", "selfrate:dm:1:bob"} <= keys
