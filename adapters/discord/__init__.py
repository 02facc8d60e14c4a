"""The Discord adapter: discord.py 2.x, application commands from the core's table.

``run(settings, app_factory)`` is the entry point: it builds a client (sharded when
DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS say so), hands the core a Platform backed by it,
and stays connected. ``invite_url(application_id)`` is what ``studybot discord-invite`` prints
(``application_id(token)`` finds the id from DISCORD_TOKEN).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.bot import DiscordBot
from adapters.discord.platform import DiscordPlatform
from adapters.settings import DiscordSettings
from bot.app import App
from bot.ports import Platform

SCOPES = ("bot", "applications.commands")
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,  # drops, reveals, the setup note
    embed_links=True,  # every card is an embed
    read_message_history=True,  # reacting to and threading from existing messages
    add_reactions=True,  # the 👍 under each open answer
    create_public_threads=True,  # the thread of open answers at a reveal
    send_messages_in_threads=True,
    create_private_threads=True,  # private groups (open_group)
    manage_roles=True,  # the optional weekly reward role for the top 3
)
RATE_LIMIT_WAIT = 30.0  # longer waits come back to the core as PlatformError(retry_after)


def intents() -> discord.Intents:
    """No privileged intent: interactions carry the member, raw reactions need only these."""
    return discord.Intents(guilds=True, guild_reactions=True)


def invite_url(application_id: str) -> str:
    """The OAuth2 URL that adds the bot with exactly the scopes and permissions it uses."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


async def application_id(token: str) -> str:
    """The application's id, asked of Discord with the bot token (for the invite URL)."""
    client = discord.Client(intents=intents())
    try:
        await client.login(token)
        return str(client.application_id)
    finally:
        await client.close()


def create_client(settings: DiscordSettings, **options: Any) -> discord.Client:
    """A Client, or an AutoShardedClient running the configured shards."""
    options = {
        "intents": intents(),
        "allowed_mentions": discord.AllowedMentions.none(),  # names in cards never ping
        "max_ratelimit_timeout": RATE_LIMIT_WAIT,
        **options,
    }
    count, ids = settings.shard_count, list(settings.shard_ids)
    if ids and not count:
        raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards)")
    if ids:
        options["shard_ids"] = ids
    if count:
        return discord.AutoShardedClient(shard_count=count, **options)
    return discord.Client(**options)


async def run(settings: DiscordSettings, app_factory: Callable[[Platform], Awaitable[App]]) -> None:
    """Connect with DISCORD_TOKEN and serve until cancelled; ``app_factory`` builds the core
    around the Platform it is given, e.g. ``lambda p: build_app(settings=s, platform=p)``."""
    token = settings.token.get_secret_value()
    if not token:
        raise ValueError("DISCORD_TOKEN is not set; see docs/discord.md")
    client = create_client(settings)
    app = await app_factory(DiscordPlatform(client))
    bot = DiscordBot(client=client, app=app, settings=settings)
    try:
        await bot.start(token)
    finally:
        await bot.close()
        await app.close()
