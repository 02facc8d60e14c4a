"""Issues 18 and 19 on Slack, through the real bolt app: a drop's Hint button answers
privately and halves the points; after an open reveal the self-rating DM arrives with the
key points the word check found already ticked; `/prep plan` sets an interview plan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.ports import ManualClock
from bot.scheduler import ManualDriver
from bot.store.schema import answers
from questions.schema import ChoiceItem, Item
from tests.adapters.slack.conftest import ADMIN, ALICE, SlackChat
from tests.conftest import mini_bank
from tests.fakes.llm import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.features.test_hints import HINT, _hinted


def _items() -> tuple[Item, ...]:
    """The mini bank with a hint on every choice item and terms on the open one."""
    return tuple(
        _hinted(i).model_copy(update={"hint": HINT}) if isinstance(i, ChoiceItem) else _hinted(i)
        for i in mini_bank()
    )


@pytest.fixture
def bank_items() -> tuple[Item, ...]:
    return _items()


async def test_the_hint_on_slack_is_private_and_halves_the_points(
    chat: SlackChat, fake: FakeSlack, app: App
) -> None:
    await chat.command("drop now kind:choice topic:statistics", as_=ADMIN)
    drop = await fake.next_call("chat.postMessage")
    assert [b["text"]["text"] for b in drop.buttons][-1] == "Hint"
    await chat.press(drop, "Hint", as_=ALICE)
    shown = await fake.next_call("respond")
    assert shown.args["response_type"] == "ephemeral"
    assert HINT in shown.text and "half the points" in shown.text
    await chat.choose(drop, 2, as_=ALICE)  # the key
    assert "Locked in" in (await fake.next_call("respond")).text
    async with app.ctx.engine.connect() as conn:
        points = await conn.scalar(select(answers.c.points))
    assert points == 5  # easy: 10, halved, no early bonus
    await chat.command("reveal", as_=ADMIN)
    reveal = await fake.next_call("chat.postMessage")
    assert "(hint)" in reveal.text and "1 used the hint" in reveal.text


async def test_the_self_rating_dm_on_slack_arrives_pre_ticked(
    chat: SlackChat, fake: FakeSlack
) -> None:
    await chat.command("drop now kind:open", as_=ADMIN)
    drop = await fake.next_call("chat.postMessage")
    await chat.press(drop, "Answer", as_=ALICE)
    modal = await fake.next_call("views.open")
    await chat.submit(modal, "It memorises noise, and the validation loss gap grows.", as_=ALICE)
    await fake.next_call("respond")
    await chat.command("reveal", as_=ADMIN)
    dm = [await fake.next_call("chat.postMessage") for _ in range(4)][-1]
    assert dm.args["channel"] == f"D{ALICE}"
    assert "You covered 2 of 3: ✓ 1 ✓ 2 ✗ 3" in dm.text
    labels = [b["text"]["text"] for b in dm.buttons]
    assert [label[0] for label in labels[:4]] == ["☑", "☑", "☐", "☐"]
    assert labels[-1] == "Done: 2 of 4 covered"


async def test_plan_on_slack(chat: SlackChat) -> None:
    reply = await chat.command("plan 2026-02-20 topics:statistics,evaluation", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert "Interview plan set" in reply.text and "Topics: statistics, evaluation" in reply.text
    shown = await chat.command("plan", as_=ALICE)
    assert "Interview plan: Fri 20 Feb 2026" in shown.text and "46 days left" in shown.text
    wrong = await chat.command("plan 2025-01-01 topics:statistics", as_=ALICE)
    assert "Wed 1 Jan 2025 has passed" in wrong.text


async def test_reveal_then_check_then_ai_review_on_slack(
    chat: SlackChat,
    fake: FakeSlack,
    app: App,
    driver: ManualDriver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    model: FakeModel,
) -> None:
    """Issue 19 end to end on Slack: the reveal, the DM with the word check's ticks, then the
    queued AI review as a second DM, from a local OpenAI-compatible fake."""
    from adapters.reviewer import build_reviewer
    from tests.features.test_reviewer import ADVICE, _reply

    monkeypatch.setenv("STUDYBOT_LLM_URL", f"http://127.0.0.1:{model.port}/v1/")
    monkeypatch.setenv("STUDYBOT_LLM_MODEL", "tiny")
    app.ctx.reviewer = build_reviewer()
    await chat.command("settings reviewer on", as_=ADMIN)
    await chat.command("drop now kind:open", as_=ADMIN)
    drop = await fake.next_call("chat.postMessage")
    await chat.press(drop, "Answer", as_=ALICE)
    modal = await fake.next_call("views.open")
    text = "It memorises noise, and the validation loss gap grows."
    await chat.submit(modal, text, as_=ALICE)
    await fake.next_call("respond")
    model.replies.append(_reply([{"point": 1, "quote": "It memorises noise"}]))
    await chat.command("reveal", as_=ADMIN)
    rating = [await fake.next_call("chat.postMessage") for _ in range(4)][-1]
    assert "You covered 2 of 3" in rating.text and not model.requests
    await driver.advance_to(clock.now() + timedelta(seconds=1))  # the queued review
    advice = await fake.next_call("chat.postMessage")
    assert advice.args["channel"] == f"D{ALICE}"
    assert "An AI reviewer's advice" in advice.text and ADVICE["improve"] in advice.text
    assert "“It memorises noise”" in advice.text
