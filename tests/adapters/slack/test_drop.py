"""Whole drops through the real bolt app, in HTTP mode and in Socket Mode; scheduled drops."""

from __future__ import annotations

from datetime import timedelta

from bot.app import App
from bot.ports import ManualClock
from bot.scheduler import ManualDriver
from tests.adapters.slack.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    OUTSIDE,
    SlackChat,
    shown_letter,
)
from tests.fakes.slack_api import BOT_USER, FakeSlack

ALICE_ANSWER = "Overfitting is fitting noise in the training data; validation error rises."
BOB_ANSWER = "When the model memorises the training set and does worse on new data."


async def test_multiple_choice_drop(slack: SlackChat, fake: FakeSlack) -> None:
    """Drop, two members answer with buttons (privately), reveal: key, reasons, shares."""
    reply = await slack.command("drop now kind:choice topic:evaluation", as_=ADMIN)
    assert "Posted drop #1" in reply.text and reply.args["response_type"] == "ephemeral"
    drop = await fake.next_call("chat.postMessage")
    assert drop.args["channel"] == CHANNEL
    assert [b["text"]["text"] for b in drop.buttons] == ["A", "B", "C", "D"]
    assert sorted(b["action_id"] for b in drop.buttons) == [f"drop:1:{i}" for i in range(4)]
    key, wrong = shown_letter(drop, 3), shown_letter(drop, 1)

    await slack.choose(drop, 3, as_=ALICE)
    ack = await fake.next_call("respond")
    assert ack.args["response_type"] == "ephemeral" and f"Locked in: *{key}*" in ack.text
    await slack.choose(drop, 1, as_=BOB)
    assert f"Locked in: *{wrong}*" in (await fake.next_call("respond")).text
    await slack.choose(drop, 2, as_=BOB)
    assert "already answered" in (await fake.next_call("respond")).text

    reply = await slack.command("reveal", as_=ADMIN)
    assert "Revealed drop #1" in reply.text
    reveal = await fake.next_call("chat.postMessage")
    assert reveal.args["channel"] == CHANNEL and "thread_ts" not in reveal.args
    assert f"*Answer to drop #1: {key}. Recall on the fraud class*" in reveal.text
    assert f"✅ {key}. Recall on the fraud class · 50% (1)" in reveal.text
    assert "flatters the useless model" in reveal.text  # a distractor's reason
    assert "Right (1/2): @alice" in reveal.text
    closed = await fake.next_call("chat.update")
    assert closed.args["ts"] == drop.result["ts"] and not closed.buttons


async def test_open_drop_with_modal_thread_and_votes(slack: SlackChat, fake: FakeSlack) -> None:
    """Open question: answers in a modal, revealed in a thread, voted on with reactions."""
    await slack.command("drop now kind:open", as_=ADMIN)
    drop = await fake.next_call("chat.postMessage")
    for who, text in ((ALICE, ALICE_ANSWER), (BOB, BOB_ANSWER)):
        await slack.press(drop, "Answer", as_=who)
        modal = await fake.next_call("views.open")
        assert modal.args["trigger_id"].startswith("trigger-")
        assert modal.args["view"]["callback_id"] == "drop:1:open"
        await slack.submit(modal, text, as_=who)
        saved = await fake.next_call("respond")
        assert saved.args["response_type"] == "ephemeral" and "Saved your answer" in saved.text

    await slack.command("reveal", as_=ADMIN)
    header = await fake.next_call("chat.postMessage")
    assert "*Answers to drop #1 · fundamentals*" in header.text
    thread = header.result["ts"]
    alice = await fake.next_call("chat.postMessage")
    bob = await fake.next_call("chat.postMessage")
    model = await fake.next_call("chat.postMessage")
    assert [m.args["thread_ts"] for m in (alice, bob, model)] == [thread] * 3
    assert "*@alice's answer*" in alice.text and ALICE_ANSWER in alice.text
    assert "*Model answer*" in model.text and "• Fits noise" in model.text
    reactions = fake.of("reactions.add")
    assert [(r.args["timestamp"], r.args["name"]) for r in reactions] == [
        (alice.result["ts"], "+1"),
        (bob.result["ts"], "+1"),
    ]

    await slack.react(alice, as_=BOT_USER)  # the bot's own 👍 is not a vote
    await slack.react(alice, as_=BOB)
    board = await slack.command("leaderboard", as_=ADMIN)
    assert "*alice*: 7 pts" in board.text and "*bob*: 5 pts" in board.text
    yours = await slack.fake.next_call("respond")  # the asker's own place, to them alone
    assert yours.args["response_type"] == "ephemeral" and "not on this board" in yours.text
    await slack.react(alice, as_=BOB, added=False)
    board = await slack.command("leaderboard", as_=ADMIN)
    assert "*alice*: 5 pts" in board.text


async def test_scheduled_drop_and_reveal(
    chat: SlackChat, fake: FakeSlack, app: App, driver: ManualDriver, clock: ManualClock
) -> None:
    """`/prep schedule add` checks the channel, then posts the drop and its reveal on time."""
    await app.start()
    reply = await chat.command("schedule add daily 09:00 topic:evaluation reveal:2h", as_=ADMIN)
    assert "*Schedule added*" in reply.text
    assert fake.of("conversations.info")[0].args["channel"] == CHANNEL
    await driver.advance_to(clock.now() + timedelta(days=1))
    drop = await fake.next_call("chat.postMessage")
    assert drop.args["channel"] == CHANNEL and "99.9 %" in drop.text and drop.buttons
    await driver.advance_to(clock.now() + timedelta(hours=2))
    reveal = await fake.next_call("chat.postMessage")
    key = shown_letter(drop, 3)
    assert f"*Answer to drop #1: {key}. Recall on the fraud class*" in reveal.text


async def test_schedule_in_a_channel_without_studybot(chat: SlackChat, fake: FakeSlack) -> None:
    """Scheduling drops where studybot was not invited is refused, naming the channel."""
    reply = await chat.command(f"schedule add daily 09:00 channel:<#{OUTSIDE}|random>", as_=ADMIN)
    assert reply.args["response_type"] == "ephemeral"
    assert f"I cannot post in <#{OUTSIDE}>: studybot is not a member of that channel" in reply.text
