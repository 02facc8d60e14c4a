"""Self-rating open answers on Slack, through the real bolt app: after an open drop's reveal
each author gets a DM with a button per key point and Done; the ticks rate the FSRS review,
and another member's press is refused."""

from __future__ import annotations

import fsrs
from sqlalchemy import select

from bot.app import App
from bot.store.schema import review_logs
from tests.adapters.slack.conftest import ADMIN, ALICE, BOB, SlackChat
from tests.fakes.slack_api import FakeSlack

ANSWER = "It fits the noise in the training data, so validation error climbs."


async def test_self_rating_after_an_open_reveal_on_slack(
    chat: SlackChat, fake: FakeSlack, app: App
) -> None:
    await chat.command("drop now kind:open", as_=ADMIN)
    drop = await fake.next_call("chat.postMessage")
    await chat.press(drop, "Answer", as_=ALICE)
    modal = await fake.next_call("views.open")
    await chat.submit(modal, ANSWER, as_=ALICE)
    await fake.next_call("respond")  # "Saved your answer"

    await chat.command("reveal", as_=ADMIN)
    # the header, the answer, the model answer, then the DM
    posts = [await fake.next_call("chat.postMessage") for _ in range(4)]
    dm = posts[-1]
    assert dm.args["channel"] == f"D{ALICE}"
    assert "which key points did your answer make?" in dm.text and ANSWER in dm.text
    labels = [b["text"]["text"] for b in dm.buttons]
    assert labels[-1] == "Done: 0 of 4 covered" and labels[0].startswith("☐ 1. Fits noise")

    await chat.press(dm, labels[0], as_=BOB, channel=f"D{ALICE}")
    refused = await fake.next_call("respond")
    assert "someone else's answer" in refused.text

    await chat.press(dm, labels[0], as_=ALICE, channel=f"D{ALICE}")
    ticked = await fake.next_call("respond")
    assert ticked.args["response_type"] == "ephemeral"
    done = next(b["text"]["text"] for b in ticked.buttons if b["text"]["text"].startswith("Done"))
    assert done == "Done: 1 of 4 covered"
    await chat.press(ticked, done, as_=ALICE, channel=f"D{ALICE}")
    rated = await fake.next_call("respond")
    assert "Rated Hard" in rated.text and "1 of 4 key points" in rated.text

    async with app.ctx.engine.connect() as conn:
        ratings = (await conn.scalars(select(review_logs.c.rating))).all()
    assert ratings == [int(fsrs.Rating.Hard)]
