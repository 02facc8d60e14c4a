"""The permission matrix, generated from the command table (issue 14): every admin command
run by a member is refused and changes no table, and every member command works for a
member, on the console path (Core.handle), through the real Slack app and through the real
Discord client. A command added to the table is in the matrix without touching this file."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from adapters.slack import SlackBot, build_platform
from bot.app import App, build_app
from bot.chat import Command, FormSubmit, Member, MemberRef, Reply, Tone
from bot.commands import commands
from bot.config import Settings
from bot.handlers import CommandSpec, Kind, Permission
from bot.ports import ManualClock
from bot.scheduler import ManualDriver
from tests.adapters.discord.conftest import DiscordChat
from tests.adapters.slack.conftest import (
    ADMIN,
    ALICE,
    BOB,
    CHANNEL,
    NAMES,
    Http,
    SlackChat,
    _welcomed_already,
    slack_config,
    slack_settings,
)
from tests.conftest import Chat, mini_bank
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.slack_api import FakeSlack, channel, user
from tests.matrix import (
    PACK,
    Refs,
    changed,
    files_for,
    needed,
    pack,
    snapshot,
    text_of,
    value,
)

ADMIN_ONLY = [s for s in commands() if s.permission is Permission.ADMIN]
FOR_MEMBERS = [s for s in commands() if s.permission is Permission.MEMBER]


def test_the_matrix_covers_both_roles() -> None:
    assert len(ADMIN_ONLY) >= 15 and len(FOR_MEMBERS) >= 15


def _refused(text: str, spec: CommandSpec, slash: str = "/") -> bool:
    return f"`{slash}{spec.name}` is for admins" in text


def _works(reply: Reply) -> bool:
    """Answered as asked: a form, a card with buttons (a confirmation), or a card that is
    not an error."""
    if reply.form is not None:
        return True
    card = reply.card
    return card is not None and (bool(card.buttons) or card.tone is not Tone.BAD)


# ---- the console path: Core.handle ------------------------------------------------------------


async def _as(chat: Chat, who: Member, spec: CommandSpec) -> Reply:
    reply = await chat.app.handle(
        Command(who, chat.place, text="/" + text_of(spec), files=files_for(spec))
    )
    assert reply is not None
    return reply


async def _opt_in(chat: Chat, who: Member) -> None:
    form = await chat.run("/mock join", as_=who)
    assert form.form is not None
    values = {
        "level": "mid",
        "focus": "technical",
        "timezone": "UTC",
        "availability": "weekday evenings",
        "cadence": "weekly",
    }
    done = await chat.app.handle(FormSubmit(who, chat.place, form.form.form_id, values))
    assert done is not None and done.card and done.card.tone is not Tone.BAD, done


async def test_admin_commands_refuse_members_on_the_console_path(chat: Chat) -> None:
    """With a schedule, an open drop and a pack in place (so each command would change
    something), every admin command run by a member is refused and no table changes."""
    for setup in ("/schedule add daily 09:00", "/drop now kind:choice", "/mock settings"):
        assert (await chat.run(setup, as_=chat.admin)).card
    await chat.run("/help", as_=chat.alice)  # Alice is known and welcomed already
    before = await snapshot(chat.app.ctx.engine)
    for spec in ADMIN_ONLY:
        reply = await _as(chat, chat.alice, spec)
        assert reply.card and _refused(reply.card.body, spec), (spec.name, reply)
    assert changed(before, await snapshot(chat.app.ctx.engine)) == {}
    for spec in ADMIN_ONLY:  # the same lines from an admin are understood
        reply = await _as(chat, chat.admin, spec)
        assert reply.card is None or not _refused(reply.card.body, spec), spec.name
        assert reply.card is None or "went wrong" not in reply.card.body, spec.name


async def test_member_commands_work_for_members_on_the_console_path(chat: Chat) -> None:
    """Every member command answers a member as asked: no refusal, no error."""
    for spec in FOR_MEMBERS:
        if spec.name.startswith("mock "):
            await _opt_in(chat, chat.alice)  # /mock leave, pause and skip need a profile
        reply = await _as(chat, chat.alice, spec)
        assert _works(reply), (spec.name, reply)


# ---- Slack: the real bolt app over HTTP ---------------------------------------------------------

SLACK = Refs(member=f"<@{BOB}>", channel=f"<#{CHANNEL}>", role="42")


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[tuple[SlackChat, App]]:
    fake = FakeSlack()
    fake.users = {
        ADMIN: user(ADMIN, "admin", admin=True),
        ALICE: user(ALICE, "alice"),
        BOB: user(BOB, "bob"),
    }
    fake.channels = {CHANNEL: channel(CHANNEL)}
    await fake.start()
    clock = ManualClock()
    config = slack_config(fake)
    app = await build_app(
        settings=slack_settings(tmp_path, fake),
        platform=build_platform(config),
        clock=clock,
        rng=random.Random(7),
        items=mini_bank(),
        driver=ManualDriver(clock),
    )
    await _welcomed_already(app, {k: v for k, v in NAMES.items() if k in fake.users})
    bot = SlackBot(config, app)
    try:
        port = await bot.start_http("127.0.0.1", 0)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/slack/events"
            yield SlackChat(fake, bot, Http(url, session)), app
    finally:
        await bot.stop()
        await app.close()
        await fake.close()


async def _slack_reply(chat: SlackChat, text: str, *, as_: str) -> tuple[str, str]:
    """Run `/prep <text>`: (what came back: respond or views.open, its text)."""
    await chat.transport.command(chat.command_form(text, as_=as_))
    call = await chat.fake.next_of("respond", "views.open")
    return call.method, call.text if call.method == "respond" else ""


async def test_admin_commands_refuse_members_on_slack(slack: tuple[SlackChat, App]) -> None:
    chat, app = slack
    await _slack_reply(chat, "help", as_=ALICE)
    before = await snapshot(app.ctx.engine)
    for spec in ADMIN_ONLY:
        method, text = await _slack_reply(chat, text_of(spec, SLACK), as_=ALICE)
        assert method == "respond" and _refused(text, spec, "/prep "), (spec.name, text)
    assert changed(before, await snapshot(app.ctx.engine)) == {}


async def test_member_commands_work_for_members_on_slack(slack: tuple[SlackChat, App]) -> None:
    chat, _app = slack
    for spec in FOR_MEMBERS:
        method, text = await _slack_reply(chat, text_of(spec, SLACK), as_=ALICE)
        assert method == "views.open" or text, spec.name
        assert "is for admins" not in text and "went wrong" not in text, (spec.name, text)


# ---- Discord: the real discord.py client --------------------------------------------------


@pytest.fixture
async def discord(tmp_path: Path) -> AsyncIterator[DiscordChat]:
    server = FakeDiscord()
    await server.start()
    try:
        with server.patch():
            chat = DiscordChat(server, tmp_path)
            await chat.start(sync_seconds=0)
            try:
                yield chat
            finally:
                await chat.stop()
    finally:
        await server.close()


def _typed(spec: CommandSpec, chat: DiscordChat) -> dict[str, Any]:
    """The command's options as Discord sends them (ids, numbers, an uploaded file)."""
    refs = Refs(member=chat.bob.id, channel=chat.fake.channel_id, role=chat.fake.admin_role_id)
    options: dict[str, Any] = {}
    for option in needed(spec):
        if option.kind is Kind.FILE:
            options[option.name] = chat.fake.upload(PACK, pack().content)
        elif option.kind is Kind.INT:
            options[option.name] = int(value(spec, option, refs))
        else:
            options[option.name] = value(spec, option, refs)
    return options


async def test_admin_commands_refuse_members_on_discord(discord: DiscordChat) -> None:
    assert discord.app is not None
    await discord.command("help", as_=discord.alice)
    before = await snapshot(discord.app.ctx.engine)
    for spec in ADMIN_ONLY:
        reply = await discord.command(spec.name, as_=discord.alice, **_typed(spec, discord))
        assert reply.ephemeral and _refused(reply.text, spec), (spec.name, reply.text)
    assert changed(before, await snapshot(discord.app.ctx.engine)) == {}


async def test_member_commands_work_for_members_on_discord(discord: DiscordChat) -> None:
    for spec in FOR_MEMBERS:
        reply = await discord.command(spec.name, as_=discord.alice, **_typed(spec, discord))
        assert reply.kind in (4, 9), (spec.name, reply.callbacks)
        if reply.kind == 4:
            assert "is for admins" not in reply.text, spec.name
            assert "went wrong" not in reply.text, (spec.name, reply.text)


# ---- STUDYBOT_ADMINS: user ids only -------------------------------------------------------------


@pytest.mark.parametrize("named", ["Alice Smith", "@alice", "<@U0123>", "alice!", "#admins"])
def test_a_display_name_in_studybot_admins_is_refused(named: str) -> None:
    """Anything but letters, digits, ".", "_" and "-" is taken for a name: refused, saying
    how to find a member's id on Slack and Discord."""
    with pytest.raises(ValidationError) as refused:
        Settings(admins=f"U0123,{named}")
    message = refused.value.errors()[0]["msg"]
    assert f"{named!r} looks like a name; only user ids make admins" in message
    assert "Copy member ID" in message and "Copy User ID" in message


def test_user_ids_of_every_platform_are_taken() -> None:
    settings = Settings(admins=" U0123ABC , 123456789012345678,admin,w.x_y-z ")
    assert settings.admins == ("U0123ABC", "123456789012345678", "admin", "w.x_y-z")


def test_studybot_refuses_to_start_with_a_name_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "DATABASE"))}
    env["STUDYBOT_ADMINS"] = "U0123,Alice Smith"
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "migrate", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "studybot: STUDYBOT_ADMINS is 'U0123,Alice Smith': 'Alice Smith' looks like a name; "
        "only user ids make admins"
    )
    assert not (tmp_path / "x.db").exists()  # refused before anything was created


async def test_a_member_renamed_to_a_configured_admin_is_not_an_admin(chat: Chat) -> None:
    """Configured admins match user ids exactly; a display name never makes an admin."""
    chat.app.ctx.settings = chat.app.ctx.settings.model_copy(update={"admins": ("carol",)})
    impostor = Member(MemberRef("memory", "w1", "mallory"), "carol")
    refused = await chat.run("/drop now", as_=impostor)
    assert refused.card and "`/drop now` is for admins" in refused.card.body
    carol = Member(MemberRef("memory", "w1", "carol"), "Carol (renamed)")
    posted = await chat.run("/drop now kind:choice", as_=carol)
    assert posted.card and "Posted drop #1" in posted.card.body
