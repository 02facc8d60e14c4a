"""The core's Platform port over a discord.py client: posts, edits, DMs, threads, reactions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import aiohttp
import discord

from adapters.discord import render
from bot.chat import Card, MemberRef, Place
from bot.outbox import Limits
from bot.ports import PlatformError

PLATFORM = "discord"
ARCHIVE_AFTER: Final = 10080  # minutes: a reveal thread stays open for a week of votes
NOT_READY_RETRY = 5.0  # seconds: a server not yet loaded after a (re)connect


def nonce(key: str) -> str:
    """A Discord nonce (at most 25 characters) that stands for an idempotency key."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


@contextmanager
def platform_errors(what: str) -> Iterator[None]:
    """Discord's refusals as PlatformError. discord.py has already waited out short rate
    limits and retried 5xx answers itself (it cannot be told not to), so only a rate limit
    longer than its cap comes back with ``retry_after`` for the core's Outbox to wait out;
    one layer retries each kind of failure (docs/decisions/0005-one-retry-layer.md)."""
    try:
        yield
    except discord.RateLimited as exc:  # longer than the client's max_ratelimit_timeout
        raise PlatformError(f"{what}: rate limited", retry_after=exc.retry_after) from exc
    except discord.DiscordServerError as exc:  # discord.py retried it already: final here
        raise PlatformError(f"{what}: Discord error {exc.status}", ambiguous=True) from exc
    except discord.HTTPException as exc:
        raise PlatformError(f"{what} refused: {exc.text or exc.status}") from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # no answer: it may have landed
        raise PlatformError(
            f"{what}: could not reach Discord ({type(exc).__name__})", ambiguous=True
        ) from exc


def writable_channel(guild: discord.Guild) -> discord.TextChannel | None:
    """The system channel, else the first text channel the bot may post embeds in."""
    me = guild.me
    for channel in (guild.system_channel, *sorted(guild.text_channels, key=lambda c: c.position)):
        allowed = channel.permissions_for(me) if channel and me else None
        if channel and (allowed is None or (allowed.send_messages and allowed.embed_links)):
            return channel
    return None


class DiscordPlatform:
    """Outbound calls through the client's REST session (no cache needed for channels)."""

    # Discord: 50 requests a second in all, and about 5 messages per 5 s into one channel.
    limits = Limits(per_second=50.0, per_channel=1.0, burst=5)

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, place: Place) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(
            int(place.thread_id or place.channel_id), guild_id=int(place.workspace_id)
        )

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        """Post a card. A ``key`` becomes the message's nonce, which discord.py sends with
        ``enforce_nonce``: Discord answers a repeat (its own 5xx retries, or ours after an
        ambiguous failure) with the message already created instead of a second one."""
        options: dict[str, Any] = render.message(card)
        if key:
            options["nonce"] = nonce(key)
        with platform_errors("post"):
            message = await self._channel(place).send(**options)
        return str(message.id)

    async def find_post(self, place: Place, key: str) -> None:
        """Discord cannot be asked which nonce a message carried, and need not be: a post
        repeated with the same nonce within a few minutes returns the first message."""
        return None

    async def edit(self, place: Place, message_id: str, card: Card) -> None:
        target = self._channel(place).get_partial_message(int(message_id))
        with platform_errors("edit"):
            await target.edit(**render.message(card, clear=True))

    async def dm(self, member: MemberRef, card: Card) -> str:
        with platform_errors("dm"):
            channel = await self.client.create_dm(discord.Object(int(member.user_id)))
            message = await channel.send(**render.message(card, server=member.workspace_id))
        return str(message.id)

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        with platform_errors("thread"):  # the REST call itself: no cached guild needed
            thread = await self.client.http.start_thread_with_message(
                int(place.channel_id),
                int(message_id),
                name=render.clip(name, 100),
                auto_archive_duration=ARCHIVE_AFTER,
            )
        return place.in_thread(str(thread["id"]))

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        """A private thread with the members added: in ``near``'s channel (the mock channel),
        else in the server's usual channel."""
        workspace = members[0].workspace_id
        guild = self.client.get_guild(int(workspace))
        if guild is None:  # not loaded yet after a (re)connect
            raise PlatformError("server not loaded yet", retry_after=NOT_READY_RETRY)
        chosen = guild.get_channel(int(near.channel_id)) if near is not None else None
        channel = chosen if isinstance(chosen, discord.TextChannel) else writable_channel(guild)
        if channel is None:
            raise PlatformError("no channel to open a private thread in")
        with platform_errors("group"):
            thread = await channel.create_thread(
                name=render.clip(title, 100),
                type=discord.ChannelType.private_thread,
                invitable=False,
            )
            for member in members:
                await thread.add_user(discord.Object(int(member.user_id)))
        return Place(PLATFORM, workspace, str(channel.id), str(thread.id))

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        """Move the reward role: by id through REST, so no member cache (and no privileged
        intent) is needed."""
        guild, role = int(place.workspace_id), int(role_id)
        with platform_errors("role"):
            for user in remove:
                if user not in add:
                    await self.client.http.remove_role(
                        guild, int(user), role, reason="studybot weekly reward"
                    )
            for user in add:
                if user not in remove:
                    await self.client.http.add_role(
                        guild, int(user), role, reason="studybot weekly reward"
                    )
        return True

    async def check_channel(self, place: Place) -> str | None:
        """Why the bot could not post cards in this channel, or None if it can."""
        channel_id = int(place.thread_id or place.channel_id)
        channel = self.client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(channel_id)
            except (discord.NotFound, discord.Forbidden):
                return "the bot cannot see that channel"
            except discord.HTTPException as exc:
                raise PlatformError(f"channel check: {exc.text or exc.status}") from exc
        if not isinstance(channel, discord.TextChannel | discord.Thread) or (
            str(channel.guild.id) != place.workspace_id
        ):
            return "that is not a text channel of this server"
        me = channel.guild.me
        if me is None:
            return None  # nothing cached to judge by: the first post will tell
        allowed = channel.permissions_for(me)
        send = allowed.send_messages_in_threads if place.thread_id else allowed.send_messages
        needs = {
            "View Channel": allowed.view_channel,
            "Send Messages": send,
            "Embed Links": allowed.embed_links,
        }
        missing = [name for name, ok in needs.items() if not ok]
        if missing:
            return f"the bot lacks {' and '.join(missing)} in <#{channel.id}>"
        return None

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        target = self._channel(place).get_partial_message(int(message_id))
        with platform_errors("react"):
            await target.add_reaction(emoji)
