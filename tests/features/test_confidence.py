"""Confidence (issue 18, item 1): "How sure were you?" under every multiple-choice answer,
the FSRS rating it gives, calibration in /stats and the calibration board."""

from __future__ import annotations

import fsrs
import pytest
from sqlalchemy import select

from bot.chat import Card, Reply
from bot.features import confidence, practice
from bot.features.confidence import CERTAIN, FAIRLY_SURE, GUESSING, Calibration
from bot.store.schema import answers, cards, review_logs
from tests.conftest import Chat

SURE = ("Guessing", "Fairly sure", "Certain")
THINKING = practice.FAST * 2  # slower than FAST, so a right answer is Good by today's rule


def _key(card: Card) -> int:
    """The right option (1-based, as the mini bank writes it) of a question card."""
    return 2 if "standard error" in card.body else 3


async def _quiz(chat: Chat, *, right: bool, sure: str | None, who: str = "alice") -> Reply:
    """Alice (or another member) answers a /quiz, then presses a confidence button."""
    member = getattr(chat, who)
    asked = await chat.run("/quiz kind:choice", as_=member)
    assert asked.card is not None
    chat.clock.advance(THINKING)
    feedback = await chat.choose(asked.card, _key(asked.card) if right else 1, as_=member)
    assert feedback.card is not None
    if sure is None:
        return feedback
    return await chat.press(feedback.card, 2 + SURE.index(sure), as_=member)


async def _ratings(chat: Chat) -> list[int]:
    async with chat.app.ctx.engine.connect() as conn:
        return list(
            (await conn.scalars(select(review_logs.c.rating).order_by(review_logs.c.id))).all()
        )


def test_fsrs_rating_from_confidence() -> None:
    """Right and certain → Easy; right and fairly sure → Good; right and guessing → Hard;
    wrong → Again whatever the confidence; without confidence, today's rule stands."""
    assert confidence.rating(correct=True, level=CERTAIN) == fsrs.Rating.Easy
    assert confidence.rating(correct=True, level=FAIRLY_SURE) == fsrs.Rating.Good
    assert confidence.rating(correct=True, level=GUESSING) == fsrs.Rating.Hard
    for level in (GUESSING, FAIRLY_SURE, CERTAIN):
        assert confidence.rating(correct=False, level=level) == fsrs.Rating.Again
    assert practice.rating(correct=True, fast=True) == fsrs.Rating.Easy
    assert practice.rating(correct=True, fast=False) == fsrs.Rating.Good
    assert practice.rating(correct=False, fast=True) == fsrs.Rating.Again


def test_brier_and_calibration_against_a_hand_worked_example() -> None:
    """Seven rated answers: certain 3 of 4 right, fairly sure 1 of 1, guessing 1 of 2.

    Brier = [3·(0.95−1)² + 1·0.95² + 1·(0.67−1)² + 1·(0.33−1)² + 1·0.33²] / 7
          = [0.0075 + 0.9025 + 0.1089 + 0.4489 + 0.1089] / 7 = 1.5767 / 7 = 0.22524…
    """
    cal = Calibration({CERTAIN: (4, 3), FAIRLY_SURE: (1, 1), GUESSING: (2, 1)})
    assert cal.rated == 7
    assert cal.brier == pytest.approx(1.5767 / 7)
    assert cal.summary() == (
        "Guessing 50% right (2) · Fairly sure 100% right (1) · Certain 75% right (4) · "
        "Brier 0.225 (lower is better)"
    )
    assert Calibration().brier is None and Calibration().summary() == ""
    perfect = Calibration({CERTAIN: (1, 0)})  # certain and wrong: the worst single answer
    assert perfect.brier == pytest.approx(0.95**2)


def test_button_ids_round_trip_and_reject_others() -> None:
    assert confidence.parse_id(confidence.button_id(CERTAIN, 12, "U:1")) == (CERTAIN, 12, "U:1")
    for bad in ("sure:certain:12", "sure:sorta:12:U1", "sure:certain:x:U1", "drop:1:2"):
        assert confidence.parse_id(bad) is None


async def test_quiz_certain_rerates_the_review_and_a_second_press_changes_nothing(
    chat: Chat,
) -> None:
    """The feedback card carries the row; Certain on a right answer makes the review Easy,
    and the card is scheduled exactly as a first Easy review would be."""
    asked = await chat.run("/quiz kind:choice", as_=chat.alice)
    assert asked.card is not None
    chat.clock.advance(THINKING)
    feedback = await chat.choose(asked.card, _key(asked.card), as_=chat.alice)
    assert feedback.card is not None
    assert [b.label for b in feedback.card.buttons] == ["Next question", *SURE]
    assert "How sure were you?" in feedback.card.footer
    assert await _ratings(chat) == [int(fsrs.Rating.Good)]  # today's rule, until the press

    noted = await chat.press(feedback.card, 4, as_=chat.alice)  # Certain
    assert noted.card and noted.card.body.startswith("Noted: **certain**.")
    assert await _ratings(chat) == [int(fsrs.Rating.Easy)]
    async with chat.app.ctx.engine.connect() as conn:
        answered_at = await conn.scalar(select(answers.c.answered_at))
        due = await conn.scalar(select(cards.c.due))
        stored = await conn.scalar(select(answers.c.confidence))
    easy, _log = practice.SCHEDULER.review_card(
        fsrs.Card(card_id=practice.NO_ID), fsrs.Rating.Easy, answered_at
    )
    assert due == easy.due and stored == CERTAIN
    days = round((easy.due - answered_at).total_seconds() / 86400)
    assert f"comes back for review in {days} days" in noted.card.body

    again = await chat.press(feedback.card, 2, as_=chat.alice)  # Guessing, too late
    assert again.card and "already said **certain**" in again.card.body
    assert "nothing changed" in again.card.body
    assert await _ratings(chat) == [int(fsrs.Rating.Easy)]

    stats = await chat.run("/stats", as_=chat.alice)
    assert stats.card is not None
    field = next(f for f in stats.card.fields if f.name.startswith("Calibration"))
    assert field.value == "Certain 100% right (1) · Brier 0.003 (lower is better)"


async def test_someone_elses_buttons_are_refused(chat: Chat) -> None:
    feedback = await _quiz(chat, right=True, sure=None)
    assert feedback.card is not None
    refused = await chat.press(feedback.card, 3, as_=chat.bob)
    assert refused.card and "someone else's answer" in refused.card.body
    async with chat.app.ctx.engine.connect() as conn:
        assert await conn.scalar(select(answers.c.confidence)) is None
    assert await _ratings(chat) == [int(fsrs.Rating.Good)]


async def test_guessing_right_is_hard_and_wrong_is_again_even_when_certain(chat: Chat) -> None:
    await _quiz(chat, right=True, sure="Guessing")
    await _quiz(chat, right=False, sure="Certain")
    await _quiz(chat, right=True, sure="Fairly sure")
    assert await _ratings(chat) == [
        int(fsrs.Rating.Hard),
        int(fsrs.Rating.Again),
        int(fsrs.Rating.Good),
    ]
    stats = await chat.run("/stats", as_=chat.alice)
    assert stats.card is not None
    field = next(f for f in stats.card.fields if f.name.startswith("Calibration"))
    # (0.33−1)² + (0.67−1)² + 0.95² = 0.4489 + 0.1089 + 0.9025 = 1.4603; / 3 = 0.487
    assert field.value == (
        "Guessing 100% right (1) · Fairly sure 100% right (1) · Certain 0% right (1) · "
        "Brier 0.487 (lower is better)"
    )


async def test_rerating_replays_later_reviews_exactly(chat: Chat) -> None:
    """Re-rating with the rating a review already has changes nothing, even with later
    reviews of the same question on top; a different rating moves the card."""
    for _ in range(4):  # the mini bank has two choice questions, so some come back
        await _quiz(chat, right=True, sure=None)
    async with chat.app.ctx.engine.begin() as conn:
        first = (await conn.execute(select(review_logs).order_by(review_logs.c.id))).first()
        assert first is not None
        query = select(cards).where(cards.c.question_id == first.question_id)
        before = (await conn.execute(query)).mappings().one()
        assert before["reps"] >= 2
        args = {"member": chat.alice.ref, "question_id": first.question_id}
        same = await practice.rerate(
            conn, **args, reviewed_at=first.reviewed_at, given=fsrs.Rating(first.rating)
        )
        after = (await conn.execute(query)).mappings().one()
        assert same == before["due"] and dict(after) == dict(before)
        moved = await practice.rerate(
            conn, **args, reviewed_at=first.reviewed_at, given=fsrs.Rating.Again
        )
        assert moved is not None and moved < before["due"]


async def test_channel_drop_row_says_nothing_before_the_reveal(chat: Chat) -> None:
    """On a drop the row sits under "Locked in"; the reply never hints at right or wrong,
    /stats counts it only after the reveal, and a press after the reveal is too late."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    alice = await chat.choose(drop, 3, as_=chat.alice)
    bob = await chat.choose(drop, 1, as_=chat.bob)
    assert alice.card and [b.label for b in alice.card.buttons] == list(SURE)
    assert "Locked in" in alice.card.body and bob.card is not None
    noted = await chat.press(alice.card, 3, as_=chat.alice)  # Certain
    assert noted.card and "The reveal shows whether you were right" in noted.card.body
    assert "review" not in noted.card.body
    stats = await chat.run("/stats", as_=chat.alice)
    assert stats.card and not any(f.name.startswith("Calibration") for f in stats.card.fields)

    await chat.run("/reveal", as_=chat.admin)
    late = await chat.press(bob.card, 3, as_=chat.bob)
    assert late.card and "too late" in late.card.body
    stats = await chat.run("/stats", as_=chat.alice)
    assert stats.card is not None
    field = next(f for f in stats.card.fields if f.name.startswith("Calibration"))
    assert field.value.startswith("Certain 100% right (1)")


async def test_calibration_board_ranks_members_with_twenty_rated_answers(chat: Chat) -> None:
    """Alice (always right and certain) beats Bob (always right, guessing); Carol, with 19
    rated answers, is not ranked and is told how many she has."""
    for _ in range(20):
        await _quiz(chat, right=True, sure="Certain", who="alice")
        await _quiz(chat, right=True, sure="Guessing", who="bob")
    for _ in range(19):
        await _quiz(chat, right=True, sure="Certain", who="carol")
    board = await chat.run("/leaderboard calibration", as_=chat.carol)
    assert board.card and not board.private
    assert board.card.title == "Calibration board · of all time"
    assert board.card.body.splitlines() == [
        "🥇 **Alice**: Brier 0.003 · 20 rated",  # (0.95−1)² = 0.0025
        "🥈 **Bob**: Brier 0.449 · 20 rated",  # (0.33−1)² = 0.4489
    ]
    assert board.notes[0].body == "You have rated 19 of the 20 answers needed to join this board."
    mine = await chat.run("/leaderboard calibration", as_=chat.bob)
    assert mine.notes[0].body == "You are #2 of 2."
    wrong = await chat.run("/leaderboard calibration week", as_=chat.bob)
    assert wrong.card and "takes no period or topic" in wrong.card.body


async def test_empty_calibration_board_says_how_to_join(chat: Chat) -> None:
    await _quiz(chat, right=True, sure="Certain")
    board = await chat.run("/leaderboard calibration", as_=chat.alice)
    assert board.card and "Nobody has rated 20 answers yet" in board.card.body
