"""`/prep` subcommands through the real bolt app in HTTP mode."""

from __future__ import annotations

import time

import pytest

from bot.commands import commands
from tests.adapters.slack.conftest import ADMIN, ALICE, CHANNEL, OWNER, SlackChat
from tests.fakes.slack_api import FakeSlack

ANSWER = "The model learns noise in the training set and fails on new data."


@pytest.mark.parametrize("name", [c.name for c in commands()])
async def test_every_command_in_the_table_is_reachable(
    chat: SlackChat, fake: FakeSlack, name: str
) -> None:
    """Each command of the core's table runs as `/prep <name>` and answers: a message, or
    (for commands that ask for a form) a modal."""
    await chat.transport.command(chat.command_form(name, as_=ADMIN))
    reply = await fake.next_of("respond", "views.open")
    if reply.method == "views.open":
        assert reply.args["view"]["type"] == "modal"
        return
    assert reply.text
    assert "Unknown command" not in reply.text and "went wrong" not in reply.text


async def test_prep_alone_is_help(chat: SlackChat) -> None:
    """`/prep` alone shows the help, privately, with every command written `/prep …`."""
    reply = await chat.command("", as_=ADMIN)
    assert reply.args["response_type"] == "ephemeral"
    assert "*studybot*" in reply.text
    for spec in commands():
        assert f"`/prep {spec.name}" in reply.text
    assert "`/quiz" not in reply.text


async def test_quiz_is_a_private_question_with_feedback(chat: SlackChat, fake: FakeSlack) -> None:
    """`/prep quiz` answers ephemerally with buttons; pressing one gives feedback at once."""
    card = await chat.command("quiz topic:statistics", as_=ALICE)
    assert card.args["response_type"] == "ephemeral"
    assert "*Your question · statistics · easy*" in card.text
    await chat.choose(card, 2, as_=ALICE)  # B, as written, is the key
    feedback = await fake.next_call("respond")
    assert feedback.args["response_type"] == "ephemeral"
    assert "*Correct!*" in feedback.text and "square root of 4 is 2" in feedback.text
    assert not fake.of("chat.postMessage")  # nothing went to the channel


async def test_leaderboard_is_shown_in_the_channel(chat: SlackChat) -> None:
    """The leaderboard is public: it goes to the channel, not just to the asker."""
    board = await chat.command("leaderboard", as_=ALICE)
    assert board.args["response_type"] == "in_channel"
    assert board.text.startswith("*Leaderboard")


async def test_unknown_command_is_an_ephemeral_error(chat: SlackChat) -> None:
    """A typo is answered privately with the closest command, in Slack's spelling."""
    reply = await chat.command("quizz", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert ":warning: Unknown command `/prep quizz`. Did you mean `/prep quiz`?" in reply.text


async def test_bad_option_is_an_ephemeral_error(chat: SlackChat) -> None:
    """A wrong option value names the option, the value and what it expects."""
    reply = await chat.command("quiz topic:astrology", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert "`topic` got `astrology`, expected one of:" in reply.text


async def test_commands_are_acked_before_the_work(chat: SlackChat, fake: FakeSlack) -> None:
    """Slack gets its 200 at once even when the work after it is slow (3 s rule)."""
    fake.delays["users.info"] = 1.0
    started = time.monotonic()
    await chat.transport.command(chat.command_form("help", as_=ALICE))
    assert time.monotonic() - started < 0.5
    reply = await fake.next_call("respond")
    assert "*studybot*" in reply.text


async def test_drop_in_a_channel_without_studybot(chat: SlackChat, fake: FakeSlack) -> None:
    """When Slack refuses the post, the admin is told why, privately, and nothing is kept."""
    fake.fail("chat.postMessage", 200, "not_in_channel")
    reply = await chat.command("drop now", as_=ADMIN, channel="C9")
    assert reply.args["response_type"] == "ephemeral"
    assert "studybot is not in this channel" in reply.text and "Nothing was saved" in reply.text
    again = await chat.command("reveal", as_=ADMIN, channel="C9")
    assert "No open drop in this channel" in again.text


async def test_command_in_another_channel_stays_there(chat: SlackChat, fake: FakeSlack) -> None:
    """A drop is posted in the channel the command came from."""
    await chat.command("drop now", as_=OWNER, channel="C7")
    post = await fake.next_call("chat.postMessage")
    assert post.args["channel"] == "C7"
    assert CHANNEL != "C7"


async def test_open_quiz_is_answered_in_a_modal(chat: SlackChat, fake: FakeSlack) -> None:
    """An open `/prep quiz`: Answer opens a modal; submitting shows the model answer."""
    card = await chat.command("quiz kind:open", as_=ALICE)
    await chat.press(card, "Answer", as_=ALICE)
    modal = await fake.next_call("views.open")
    (field,) = modal.args["view"]["blocks"]
    assert field["element"]["min_length"] == 20 and field["element"]["multiline"] is True
    await chat.submit(modal, "too short", as_=ALICE)
    refused = await fake.next_call("respond")
    assert "write at least 20" in refused.text
    await chat.press(card, "Answer", as_=ALICE)
    await chat.submit(await fake.next_call("views.open"), ANSWER, as_=ALICE)
    model = await fake.next_call("respond")
    assert model.args["response_type"] == "ephemeral"
    assert "*Model answer*" in model.text and ANSWER in model.text
