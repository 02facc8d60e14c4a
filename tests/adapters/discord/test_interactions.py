"""Answering within Discord's 3 seconds, first-use welcomes, and joining a server."""

from __future__ import annotations

import asyncio

from tests.adapters.discord.conftest import DiscordChat
from tests.fakes.discord_fake import EPHEMERAL, text_of

MESSAGES = r"/channels/\d+/messages"
WELCOME = "Welcome to the study group!"


async def test_a_slow_command_is_deferred_privately_then_answered(chat: DiscordChat) -> None:
    """Posting takes longer than the deferral delay: "thinking" first, the answer edited in."""
    await chat.restart(defer_after=0.05)
    chat.fake.delay("POST", MESSAGES, 0.3)
    reply = await chat.command("drop now", as_=chat.admin, kind="choice")
    assert reply.callbacks == [{"type": 5, "data": {"flags": EPHEMERAL}}]
    assert reply.ephemeral and "Posted drop #1" in reply.text
    order = [(m, p) for m, p, _ in chat.fake.calls if "/callback" in p or "@original" in p]
    assert [m for m, _ in order] == ["POST", "PATCH"]  # acknowledged before it was done


async def test_a_deferred_press_is_acknowledged_silently_and_answered_in_a_follow_up(
    chat: DiscordChat,
) -> None:
    """A button press that takes long: a deferred update, then a private follow-up."""
    await chat.command("drop now", as_=chat.admin, kind="choice", topic="statistics")
    drop = chat.last_post()
    await chat.restart(defer_after=0)
    pressed = await chat.press(drop, "B", as_=chat.alice)
    assert pressed.callbacks == [{"type": 6}]
    assert pressed.ephemeral and "Locked in: **B**" in text_of(pressed.followups[0])


async def test_a_deferred_public_reply_is_posted_in_the_channel(chat: DiscordChat) -> None:
    """A private "thinking" cannot turn public, so it is removed and the card posted instead."""
    await chat.restart(defer_after=0)
    reply = await chat.command("leaderboard", as_=chat.alice)
    assert reply.kind == 5 and reply.original is None
    board = chat.last_post()
    assert "Leaderboard" in text_of(board) and not board["flags"] & EPHEMERAL


async def test_a_form_that_comes_too_late_asks_to_press_again(chat: DiscordChat) -> None:
    """A modal must be the first response; after a deferral the member is told to retry."""
    await chat.command("drop now", as_=chat.admin, kind="open")
    drop = chat.last_post()
    await chat.restart(defer_after=0)
    pressed = await chat.press(drop, "Answer", as_=chat.alice)
    assert pressed.kind == 6
    assert "Press the button again" in text_of(pressed.followups[0])


async def test_a_quick_reply_needs_no_deferral(chat: DiscordChat) -> None:
    """Fast handlers answer with the message itself (type 4), private by default."""
    reply = await chat.command("help", as_=chat.alice)
    assert reply.kind == 4 and reply.ephemeral and "studybot" in reply.text


async def test_a_member_is_welcomed_privately_on_first_use_only(chat: DiscordChat) -> None:
    """The first interaction brings a private welcome after the answer; later ones do not."""
    first = await chat.command("leaderboard", as_=chat.alice)
    second = await chat.command("help", as_=chat.alice)
    (welcome,) = first.followups
    assert WELCOME in text_of(welcome) and welcome["flags"] & EPHEMERAL
    assert second.followups == []


async def test_a_restart_does_not_welcome_members_again(chat: DiscordChat) -> None:
    """The core remembers members, so a new process does not greet them a second time."""
    first = await chat.command("leaderboard", as_=chat.alice)
    assert len(first.followups) == 1
    await chat.restart()
    again = await chat.command("leaderboard", as_=chat.alice)
    assert again.followups == []


async def test_no_welcome_follows_a_modal_it_comes_with_the_next_answer(chat: DiscordChat) -> None:
    """A modal response allows no follow-up, so the welcome waits for the submit."""
    await chat.command("drop now", as_=chat.admin, kind="open")
    drop = chat.last_post()
    opened = await chat.press(drop, "Answer", as_=chat.bob)
    assert opened.followups == []
    saved = await chat.submit(
        opened, "A long enough answer about overfitting.", as_=chat.bob, message=drop
    )
    assert WELCOME in text_of(saved.followups[0])


async def test_joining_a_server_posts_the_setup_note(chat: DiscordChat) -> None:
    """GUILD_CREATE for a new server: the setup note goes to its system channel."""
    guild = chat.fake.add_guild("1400000000000000001", "1400000000000000002", name="New group")
    joined = asyncio.create_task(chat.client.wait_for("guild_join", timeout=5))
    await asyncio.sleep(0)
    await chat.fake.dispatch("GUILD_CREATE", {k: v for k, v in guild.items() if k != "unavailable"})
    await joined
    await asyncio.sleep(0)
    assert chat.bot is not None
    await chat.bot.drain()
    (note,) = chat.fake.posts("1400000000000000002")
    assert "Thanks for adding studybot" in text_of(note)


async def test_a_press_in_a_direct_message_is_told_to_use_a_server(chat: DiscordChat) -> None:
    """Identity is per server, so an interaction from a DM gets a pointer, not a failure."""
    record = chat.fake.interaction(3, chat.alice, {"custom_id": "drop:1:0", "component_type": 2})
    dm = {"id": "1500000000000000001", "type": 1, "recipients": [chat.alice.payload()]}
    member = record.payload.pop("member")
    del record.payload["guild_id"]
    record.payload.update(user=member["user"], channel=dm, channel_id=dm["id"], context=1)
    await chat.deliver(
        "INTERACTION_CREATE",
        record.payload,
        seen_as="interaction",
        check=lambda i: str(i.id) == record.id,
    )
    assert record.kind == 4 and "inside a server" in (record.original or {})["content"]
