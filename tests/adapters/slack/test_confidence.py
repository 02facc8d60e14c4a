"""Confidence on Slack, through the real bolt app: the "How sure were you?" buttons under a
/quiz answer's ephemeral feedback re-rate the review, once, and only for the one who answered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.ports import ManualClock
from bot.store.schema import answers, review_logs
from tests.adapters.slack.conftest import ALICE, BOB, SlackChat
from tests.fakes.slack_api import FakeSlack


async def test_confidence_buttons_on_slack(
    chat: SlackChat, fake: FakeSlack, app: App, clock: ManualClock
) -> None:
    quiz = await chat.command("quiz kind:choice", as_=ALICE)
    clock.advance(timedelta(minutes=1))  # not fast, so a right answer alone would be Good
    await chat.choose(quiz, 2 if "standard error" in quiz.text else 3, as_=ALICE)  # right
    feedback = await fake.next_call("respond")
    assert feedback.args["response_type"] == "ephemeral"
    labels = [b["text"]["text"] for b in feedback.buttons]
    assert labels == ["Next question", "Guessing", "Fairly sure", "Certain"]
    assert "Correct!" in feedback.text
    assert "How sure were you?" in feedback.text

    await chat.press(feedback, "Guessing", as_=BOB)
    refused = await fake.next_call("respond")
    assert "someone else's answer" in refused.text

    await chat.press(feedback, "Guessing", as_=ALICE)
    noted = await fake.next_call("respond")
    assert noted.args["response_type"] == "ephemeral" and "Noted: *guessing*." in noted.text
    await chat.press(feedback, "Certain", as_=ALICE)
    again = await fake.next_call("respond")
    assert "already said *guessing*" in again.text

    async with app.ctx.engine.connect() as conn:
        level = await conn.scalar(select(answers.c.confidence))
        rating = await conn.scalar(select(review_logs.c.rating))
    assert level == "guessing" and rating == 2  # right and guessing: Hard
