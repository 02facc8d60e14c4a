"""The Platform port over discord.py, the client's set-up (intents, shards) and the invite URL."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord
import pytest
from pydantic import SecretStr

from adapters.discord import (
    PERMISSIONS,
    application_id,
    create_client,
    intents,
    invite_url,
    run,
)
from adapters.discord.platform import DiscordPlatform
from adapters.settings import DiscordSettings
from bot.app import App, build_app
from bot.chat import Button, Card, MemberRef, Place
from bot.config import Settings
from bot.ports import Platform, PlatformError
from tests.adapters.discord.conftest import DiscordChat
from tests.conftest import mini_bank, until
from tests.fakes.discord_fake import PRIVATE_THREAD, FakeDiscord, FakeUser, buttons_of, text_of

MESSAGES = r"/channels/\d+/messages"
CARD = Card(title="Reminder", body="A drop comes at **09:00**.")


def platform(chat: DiscordChat) -> DiscordPlatform:
    return DiscordPlatform(chat.client)


def place(chat: DiscordChat, channel_id: str | None = None) -> Place:
    return Place("discord", chat.fake.guild_id, channel_id or chat.fake.channel_id)


def ref(chat: DiscordChat, user_id: str) -> MemberRef:
    return MemberRef("discord", chat.fake.guild_id, user_id)


async def test_post_and_edit_a_card(chat: DiscordChat) -> None:
    """A post returns Discord's message id; an edit replaces the embed."""
    message_id = await platform(chat).post(place(chat), CARD)
    await platform(chat).edit(place(chat), message_id, Card(title="Changed"))
    assert text_of(chat.fake.messages[message_id]) == "Changed"


async def test_a_direct_message_opens_a_dm_channel(chat: DiscordChat) -> None:
    """dm() creates the DM channel, then posts the card in it."""
    message_id = await platform(chat).dm(ref(chat, chat.alice.id), CARD)
    (opened,) = chat.fake.requests("POST", "/users/@me/channels")
    assert opened == {"recipient_id": int(chat.alice.id)}
    assert "09:00" in text_of(chat.fake.messages[message_id])


async def test_a_group_is_a_private_thread_with_its_members(chat: DiscordChat) -> None:
    """open_group(): a private thread in the server's channel, each member added."""
    members = [ref(chat, chat.alice.id), ref(chat, chat.bob.id)]
    group = await platform(chat).open_group(members, "Mock interview: Alice & Bob")
    (thread,) = chat.fake.threads()
    assert thread["type"] == PRIVATE_THREAD and thread["name"] == "Mock interview: Alice & Bob"
    assert group == Place("discord", chat.fake.guild_id, chat.fake.channel_id, thread["id"])
    assert chat.fake.thread_members == [(thread["id"], chat.alice.id), (thread["id"], chat.bob.id)]
    await platform(chat).post(group, CARD)
    assert len(chat.fake.posts(thread["id"])) == 1


async def test_a_group_opens_in_the_channel_it_is_given(chat: DiscordChat) -> None:
    """open_group(near=…): the private thread lives in that channel (the mock channel)."""
    chat.fake.add_channel(chat.fake.guild_id, "1100000000000000007", name="mock-interviews")
    await chat.restart()
    members = [ref(chat, chat.alice.id), ref(chat, chat.bob.id)]
    near = place(chat, "1100000000000000007")
    group = await platform(chat).open_group(members, "Mock interview", near=near)
    assert group.channel_id == "1100000000000000007"
    (thread,) = chat.fake.threads()
    assert thread["type"] == PRIVATE_THREAD


async def test_channel_checks_say_why_the_bot_cannot_post(chat: DiscordChat) -> None:
    """A channel the bot may post in passes; a read-only or unknown one is explained."""
    chat.fake.add_channel(
        chat.fake.guild_id,
        "1100000000000000009",
        name="announcements",
        deny=discord.Permissions(send_messages=True),
    )
    await chat.restart()
    assert await platform(chat).check_channel(place(chat)) is None
    read_only = await platform(chat).check_channel(place(chat, "1100000000000000009"))
    assert read_only is not None and read_only.startswith("the bot lacks Send Messages")
    assert read_only.endswith("in <#1100000000000000009>")
    unknown = await platform(chat).check_channel(place(chat, "1100000000000000099"))
    assert unknown == "the bot cannot see that channel"


async def test_a_short_rate_limit_is_waited_out_by_discord_py(chat: DiscordChat) -> None:
    """A 429 (with its Via header) for a moment: the post is simply retried."""
    chat.fake.fail("POST", MESSAGES, status=429, body={"message": "Slow down"}, retry_after=0.01)
    await platform(chat).post(place(chat), CARD)
    assert len(chat.fake.requests("POST", MESSAGES)) == 2
    assert len(chat.fake.posts()) == 1


async def test_a_long_rate_limit_comes_back_as_retry_after(chat: DiscordChat) -> None:
    """Waits past the client's limit become PlatformError(retry_after) for the core's outbox."""
    chat.fake.fail("POST", MESSAGES, status=429, body={"message": "Slow down"}, retry_after=120)
    with pytest.raises(PlatformError) as raised:
        await platform(chat).post(place(chat), CARD)
    assert raised.value.retry_after == 120


async def test_a_refusal_is_a_platform_error_without_retry(chat: DiscordChat) -> None:
    """403 Missing Permissions: not worth retrying, and the reason is kept for the admin."""
    body = {"message": "Missing Permissions", "code": 50013}
    chat.fake.fail("POST", MESSAGES, status=403, body=body)
    with pytest.raises(PlatformError, match="Missing Permissions") as raised:
        await platform(chat).post(place(chat), CARD)
    assert raised.value.retry_after is None


async def test_a_refused_drop_is_reported_to_the_admin(chat: DiscordChat) -> None:
    """The core's handling of a refused post reaches the member who ran the command."""
    chat.fake.fail("POST", MESSAGES, status=403, body={"message": "Missing Permissions"})
    reply = await chat.command("drop now", as_=chat.admin)
    assert "Could not post in this channel" in reply.text and "Missing Permissions" in reply.text


async def test_no_privileged_intent_is_asked_for(chat: DiscordChat) -> None:
    """Guilds and reactions only: no members, presences or message content."""
    wanted = intents()
    assert not (wanted.members or wanted.presences or wanted.message_content)
    assert wanted.guilds and wanted.guild_reactions
    assert chat.fake.identifies[-1]["intents"] == wanted.value


async def test_shard_settings_run_the_given_shards(chat: DiscordChat) -> None:
    """DISCORD_SHARD_COUNT/IDS: an AutoShardedClient identifies as each of its shards."""
    await chat.restart(shard_count=2, shard_ids=(1,))
    assert isinstance(chat.client, discord.AutoShardedClient)
    assert chat.fake.identifies[-1]["shard"] == [1, 2]
    reply = await chat.command("help", as_=chat.alice)
    assert "studybot" in reply.text


def test_shard_ids_need_the_shard_count() -> None:
    """A subset of shards means nothing without the total."""
    with pytest.raises(ValueError, match="DISCORD_SHARD_COUNT"):
        create_client(DiscordSettings(shard_ids=(0, 1)))


async def test_the_application_id_comes_from_the_token(fake: FakeDiscord) -> None:
    """discord-invite needs only DISCORD_TOKEN: the id is asked of Discord."""
    assert await application_id("fake-token") == fake.app_id


def test_the_invite_asks_for_exactly_what_the_bot_uses() -> None:
    """Scopes bot + applications.commands; the permissions the adapter's calls need, no more."""
    query = parse_qs(urlparse(invite_url("1200000000000000001")).query)
    assert query["client_id"] == ["1200000000000000001"]
    assert query["scope"] == ["bot applications.commands"]
    assert int(query["permissions"][0]) == PERMISSIONS.value
    granted = {name for name, on in PERMISSIONS if on}
    assert granted == {
        "read_messages",  # "View Channel"
        "send_messages",
        "embed_links",
        "read_message_history",
        "add_reactions",
        "create_public_threads",
        "send_messages_in_threads",
        "create_private_threads",
        "manage_roles",  # the weekly reward role
    }


async def test_run_connects_serves_and_stops_cleanly(fake: FakeDiscord, tmp_path: Path) -> None:
    """The CLI's entry point: log in, sync, answer interactions, and close when cancelled."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/run.db")
    apps: list[App] = []

    async def build(platform: Platform) -> App:
        apps.append(await build_app(settings=settings, platform=platform, items=mini_bank()))
        return apps[-1]

    serving = asyncio.create_task(run(DiscordSettings(token=SecretStr("t")), build))
    await until(lambda: bool(fake.identifies and fake.commands))
    asker = FakeUser("1000000000000000002", "Alice")
    record = fake.interaction(2, asker, {"id": "1", "name": "help", "type": 1, "options": []})
    await fake.dispatch("INTERACTION_CREATE", record.payload)
    await until(lambda: bool(record.callbacks))
    assert "studybot" in record.text
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    await until(lambda: fake.connections == 0)  # the client closed its gateway connection


async def test_the_reward_role_moves_by_rest_without_a_member_cache(chat: DiscordChat) -> None:
    """award_role(): PUT for this week's winners, DELETE for last week's, by id only."""
    moved = await platform(chat).award_role(
        place(chat), "1100000000000000042", add=[chat.alice.id], remove=[chat.bob.id]
    )
    assert moved is True
    assert chat.fake.role_holders["1100000000000000042"] == {chat.alice.id}


async def test_buttons_in_a_dm_work_for_the_server_they_came_from(chat: DiscordChat) -> None:
    """A DM's buttons carry their server, so a press there reaches the core as that member
    (mock check-ins arrive by DM)."""
    alice = ref(chat, chat.alice.id)
    card = Card(title="Keep going", buttons=(Button("Next question", "practice:next"),))
    await platform(chat).dm(alice, card)
    (dm,) = chat.fake.dms_to(chat.alice.id)
    assert buttons_of(dm)[0]["custom_id"] == f"@{chat.fake.guild_id}|practice:next"
    pressed = await chat.press(dm, "Next question", as_=chat.alice)
    assert "Your question" in pressed.text  # a practice question from the core
    answers = buttons_of(pressed.shown)
    assert answers and all(
        b["custom_id"].startswith(f"@{chat.fake.guild_id}|drop:") for b in answers
    )
    chosen = await chat.press(pressed.shown | {"channel_id": dm["channel_id"]}, "A", as_=chat.alice)
    assert "Correct!" in chosen.text or "Not quite" in chosen.text


async def test_an_unmarked_dm_press_is_told_to_use_a_server(chat: DiscordChat) -> None:
    """A DM interaction that belongs to no server is explained, not guessed."""
    await platform(chat).dm(ref(chat, chat.alice.id), CARD)
    (dm,) = chat.fake.dms_to(chat.alice.id)
    dm = dm | {
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "label": "Old", "custom_id": "practice:next"}
                ],
            }
        ]
    }
    pressed = await chat.press(dm, "Old", as_=chat.alice)
    assert "studybot works inside a server" in pressed.text


async def test_a_keyed_post_whose_answer_is_lost_is_not_posted_twice(chat: DiscordChat) -> None:
    """Discord creates the message but answers 500: discord.py retries with the same nonce
    (enforce_nonce), and Discord hands back the message it made; one message, its id."""
    chat.fake.fail_after("POST", MESSAGES, status=500, body={"message": "Internal error"})
    message_id = await platform(chat).post(place(chat), CARD, key="drop:11")
    created = chat.fake.posts()
    assert len(created) == 1 and created[0]["id"] == message_id
    sent = [
        body for method, path, body in chat.fake.calls if method == "POST" and "/messages" in path
    ]
    assert len(sent) == 2 and sent[0]["nonce"] == sent[1]["nonce"] and sent[0]["enforce_nonce"]
