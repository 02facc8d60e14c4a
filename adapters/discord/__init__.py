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

from adapters import health
from adapters.discord.bot import DiscordBot
from adapters.discord.platform import DiscordPlatform
from adapters.service import ServiceSettings, announce_ready
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


async def run(
    settings: DiscordSettings,
    app_factory: Callable[[Platform], Awaitable[App]],
    service: ServiceSettings | None = None,
) -> None:
    """Connect with DISCORD_TOKEN and serve until cancelled; ``app_factory`` builds the core
    around the Platform it is given, e.g. ``lambda p: build_app(settings=s, platform=p)``.
    With STUDYBOT_HTTP_PORT (``service``), health and metrics are served from the start."""
    service = service or ServiceSettings()
    token = settings.token.get_secret_value()
    if not token:
        raise ValueError("DISCORD_TOKEN is not set; see docs/discord.md")
    client = create_client(settings)
    app = await app_factory(DiscordPlatform(client))
    bot = DiscordBot(client=client, app=app, settings=settings)
    checks = await health.serve(
        app, lambda: _connection_problem(client), service.http_host, service.http_port
    )
    _announce_when_ready(bot, checks.port if checks else None)
    try:
        await bot.start(token)
    finally:
        await bot.close()
        await app.close()
        if checks is not None:
            await checks.stop()


def _announce_when_ready(bot: DiscordBot, health_port: int | None) -> None:
    """Log the ready line the first time the gateway says READY (after the bot's own
    on_ready has started the timed work); reconnects say nothing."""
    client, announced = bot.client, False

    async def on_ready() -> None:
        nonlocal announced
        await bot.on_ready()
        if announced or client.user is None:
            return
        announced = True
        mode = "gateway"
        if isinstance(client, discord.AutoShardedClient):
            ids = ",".join(str(i) for i in sorted(client.shards))
            mode = f"shards {ids} of {client.shard_count}"
        count, name = len(client.guilds), client.user.name
        announce_ready("Discord", mode, user=name, workspaces=count, health_port=health_port)

    client.event(on_ready)


async def _connection_problem(client: discord.Client) -> str | None:
    """None while the gateway connection is up, else what is wrong (for /healthz)."""
    if client.is_closed():
        return "the connection to Discord is closed"
    if not client.is_ready():
        return "not connected to the Discord gateway yet (starting up)"
    if isinstance(client, discord.AutoShardedClient):
        down = sorted(i for i, shard in client.shards.items() if shard.is_closed())
        if down:
            return f"shard {', '.join(map(str, down))} lost its gateway connection (reconnecting)"
    elif client.ws is None or not client.ws.open:
        return "the gateway connection dropped (reconnecting)"
    return None
