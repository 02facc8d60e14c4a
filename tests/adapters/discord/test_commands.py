"""Application commands: generated from the core's table, synced, typed, and permission-checked."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.commands import AUTOCOMPLETE_OVER, MANAGE_GUILD, payloads
from bot.commands import CommandSpec, Kind, Option, Permission, commands
from tests.adapters.discord.conftest import DiscordChat
from tests.conftest import DATA

EXAMPLES = {"when": "daily 09:00", "tz": "Europe/Berlin"}  # otherwise "x" (still answered)


def by_name(synced: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in synced}


async def test_commands_are_synced_globally_from_the_table(chat: DiscordChat) -> None:
    """One Discord command per top-level name; "group sub" names become subcommands."""
    synced = chat.fake.commands[None]
    tops = {spec.name.split()[0] for spec in commands()}
    assert set(by_name(synced)) == tops
    drop = by_name(synced)["drop"]
    assert [(o["type"], o["name"]) for o in drop["options"]] == [(1, "now")]
    assert all(c["contexts"] == [0] for c in synced)  # servers only


async def test_commands_sync_to_the_configured_servers_for_instant_updates(
    chat: DiscordChat,
) -> None:
    """DISCORD_GUILD_IDS syncs per server, and not globally."""
    chat.fake.commands.clear()
    await chat.restart(guild_ids=(int(chat.fake.guild_id),))
    assert list(chat.fake.commands) == [chat.fake.guild_id]


def test_options_are_typed_and_admin_commands_hidden_from_members() -> None:
    """Kinds map to Discord types; long choice lists autocomplete; admin needs Manage Server."""
    synced = by_name(payloads(commands()))
    quiz = {o["name"]: o for o in synced["quiz"]["options"]}
    assert quiz["topic"]["type"] == 3 and quiz["topic"]["autocomplete"] is True
    assert "choices" not in quiz["topic"]
    assert quiz["difficulty"]["choices"] == [
        {"name": d, "value": d} for d in ("easy", "medium", "hard")
    ]
    reveal = synced["reveal"]["options"][0]
    assert (reveal["type"], reveal["min_value"], reveal["required"]) == (4, 1, False)
    assert synced["reveal"]["default_member_permissions"] == MANAGE_GUILD
    assert synced["drop"]["default_member_permissions"] == MANAGE_GUILD
    assert synced["quiz"]["default_member_permissions"] is None
    assert synced["leaderboard"]["default_member_permissions"] is None


def test_member_and_channel_options_and_required_ones_first() -> None:
    """MEMBER is a user option, CHANNEL a text-channel option; required options lead."""

    async def handler(*_: object) -> Any:
        raise AssertionError

    spec = CommandSpec(
        "pair",
        "Pair two members",
        handler,
        (
            Option("where", "Channel", Kind.CHANNEL),
            Option("who", "Member", Kind.MEMBER, required=True),
            Option("count", "How many", Kind.INT, minimum=2, maximum=5),
        ),
    )
    (payload,) = payloads([spec])
    assert [(o["name"], o["type"]) for o in payload["options"]] == [
        ("who", 6),
        ("where", 7),
        ("count", 4),
    ]
    assert payload["options"][1]["channel_types"] == [0, 5]
    assert (payload["options"][2]["min_value"], payload["options"][2]["max_value"]) == (2, 5)


def test_a_name_that_is_both_a_command_and_a_group_is_refused() -> None:
    """Discord cannot have /drop and /drop now at once; the table is told at start-up."""

    async def handler(*_: object) -> Any:
        raise AssertionError

    specs = [CommandSpec("drop", "x", handler), CommandSpec("drop now", "y", handler)]
    with pytest.raises(ValueError, match="both a command and a group"):
        payloads(specs)


def _example(option: Option, chat: DiscordChat) -> object:
    if option.kind is Kind.CHOICE:
        return option.choices[0]
    if option.kind is Kind.INT:
        return option.minimum or 1
    if option.kind is Kind.MEMBER:
        return chat.alice.id
    if option.kind is Kind.CHANNEL:
        return chat.fake.channel_id
    if option.kind is Kind.FILE:
        return chat.fake.upload("pack.yaml", (DATA / "packs" / "good.yaml").read_bytes())
    return EXAMPLES.get(option.name, "x")


async def test_every_command_in_the_table_answers_through_discord(chat: DiscordChat) -> None:
    """Each command, in table order (add before edit), with typed options: each is answered."""
    for spec in commands():
        options = {o.name: _example(o, chat) for o in spec.options if o.required}
        reply = await chat.command(spec.name, as_=chat.admin, **options)
        # 4: answered at once; 5: deferred (slow commands are, at once), then answered;
        # 9: a form opened.
        assert reply.kind in (4, 5, 9), (spec.name, reply.callbacks)
        if reply.kind in (4, 5):
            assert reply.text and "Something went wrong" not in reply.text, spec.name


async def test_a_pack_attached_to_the_command_is_imported(chat: DiscordChat) -> None:
    """A file option is an attachment: the bot downloads it and hands the core its bytes."""
    pack = chat.fake.upload("good.yaml", (DATA / "packs" / "good.yaml").read_bytes())
    reply = await chat.command("questions import", as_=chat.admin, file=pack)
    assert "Imported 2 new and updated 0 questions from good.yaml" in reply.text
    file_option = by_name(chat.synced())["questions"]["options"][0]["options"][0]
    assert (file_option["name"], file_option["type"]) == ("file", 11)


async def test_an_admin_command_run_by_a_member_is_refused(chat: DiscordChat) -> None:
    """Default permissions hide it, but if a member reaches it the core still says no."""
    reply = await chat.command("drop now", as_=chat.alice)
    assert reply.ephemeral and "is for admins" in reply.text
    assert chat.fake.posts() == []


@pytest.mark.parametrize("role", ["Study admins", "1100000000000000003"])
async def test_the_configured_role_makes_an_admin(chat: DiscordChat, role: str) -> None:
    """DISCORD_ADMIN_ROLE, by name or id, counts as Manage Server."""
    await chat.restart(admin_role=role)
    reply = await chat.command("drop now", as_=chat.carol, kind="choice")
    assert "Posted drop #1" in reply.text


async def test_configured_admins_are_admins_on_discord_too(chat: DiscordChat) -> None:
    """STUDYBOT_ADMINS names user ids; the core applies it to Discord members."""
    await chat.restart(admins=(chat.bob.id,))
    reply = await chat.command("drop now", as_=chat.bob, kind="choice")
    assert "Posted drop #1" in reply.text


async def test_topics_autocomplete_as_you_type(chat: DiscordChat) -> None:
    """Long choice lists are offered filtered by what was typed, prefix matches first."""
    assert len(next(o for o in commands()[1].options if o.name == "topic").choices) > (
        AUTOCOMPLETE_OVER
    )
    typed = await chat.autocomplete("quiz", "topic", "stat", as_=chat.alice)
    assert typed.choices == ["statistics"]
    typed = await chat.autocomplete("quiz", "topic", "s", as_=chat.alice)
    assert typed.choices[:2] == ["statistics", "system-design"] and "tools" in typed.choices


def test_member_commands_are_the_ones_without_manage_server() -> None:
    """Every top-level name hidden from members holds only admin commands."""
    synced = by_name(payloads(commands()))
    for name, payload in synced.items():
        specs = [s for s in commands() if s.name.split()[0] == name]
        admin_only = all(s.permission is Permission.ADMIN for s in specs)
        assert (payload["default_member_permissions"] == MANAGE_GUILD) is admin_only


async def test_schedule_ids_autocomplete_from_the_core(chat: DiscordChat) -> None:
    """Schedule-id options ask the core: the workspace's schedules, filtered by what was typed."""
    added = await chat.command("schedule add", as_=chat.admin, when="daily 09:00", tz="UTC")
    assert "Schedule #1 added" in added.text
    await chat.command("schedule add", as_=chat.admin, when="weekly fri 17:00", tz="UTC")
    synced = next(c for c in chat.synced() if c["name"] == "schedule")
    pause = next(o for o in synced["options"] if o["name"] == "pause")
    assert pause["options"][0]["autocomplete"] is True
    every = await chat.autocomplete("schedule pause", "id", "", as_=chat.admin)
    assert every.choices == ["1", "2"]
    assert every.labels == ["#1 · daily 09:00 (UTC)", "#2 · weekly fri 17:00 (UTC)"]
    weekly = await chat.autocomplete("schedule pause", "id", "fri", as_=chat.admin)
    assert weekly.choices == ["2"]
