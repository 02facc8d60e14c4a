"""The core's Platform port on the Slack Web API, and the one way to build its client."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.settings import SlackSettings
from adapters.slack import blocks
from adapters.slack.inbound import PLATFORM
from bot.chat import Card, MemberRef, Place
from bot.outbox import Limits
from bot.ports import Platform, PlatformError

NOT_INVITED = "studybot is not in this channel: add it from the channel's details (Integrations)"
FRIENDLY = {
    "not_in_channel": NOT_INVITED,
    "channel_not_found": NOT_INVITED,
    "is_archived": "this channel is archived",
    "msg_too_long": "the message is too long for Slack",
}


def make_client(settings: SlackSettings) -> AsyncWebClient:
    """A Web API client on SLACK_API_URL that does not retry: a 429 comes back to the core as
    PlatformError(retry_after) and the core's Outbox alone decides whether to try again
    (docs/decisions/0005-one-retry-layer.md)."""
    base_url = settings.api_url
    return AsyncWebClient(
        token=settings.bot_token.get_secret_value() or None,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        retry_handlers=[],
    )


def build_platform(settings: SlackSettings) -> Platform:
    """The Platform the core is built with (``build_app(platform=build_platform(settings))``)."""
    return SlackPlatform(make_client(settings))


class SlackError(PlatformError):
    """A PlatformError that keeps Slack's error code (e.g. "not_in_channel")."""

    def __init__(
        self,
        message: str,
        *,
        error: str,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, retry_after=retry_after, ambiguous=ambiguous)
        self.error = error


def platform_error(exc: SlackApiError) -> SlackError:
    """A final Slack error as the core's PlatformError; "ratelimited" says when to retry."""
    response = exc.response
    error = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    if response.status_code == 429 or error == "ratelimited":
        after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), "1")
        return SlackError("Slack is rate limiting studybot", error=error, retry_after=float(after))
    return SlackError(
        FRIENDLY.get(error, f"Slack said {error or response.status_code}"),
        error=error,
        ambiguous=response.status_code >= 500,  # the request may have been carried out
    )


async def call(request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await one Web API call, turning its failures into PlatformError."""
    try:
        return await request
    except SlackApiError as exc:
        raise platform_error(exc) from exc
    except (aiohttp.ClientError, TimeoutError, OSError, SlackClientError) as exc:
        # No answer from Slack: the call may have landed all the same.
        raise PlatformError(
            f"could not reach Slack ({type(exc).__name__})", ambiguous=True
        ) from exc


POST_EVENT = "studybot_post"  # message metadata type carrying a post's idempotency key
LOOK_BACK = 50  # recent messages read back to find a post that landed despite an error


class SlackPlatform:
    """Posts the core sends on its own (drops, reveals, threads, DMs) through the Web API."""

    # Slack allows about one message a second per channel, with short bursts, and a few
    # hundred calls a minute per method tier; the core's outbound queue paces to this.
    limits = Limits(per_second=20.0, per_channel=1.0, burst=10)

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        """Post a card. With a ``key`` it rides in the message's metadata: after a failure
        that may have landed, the channel (or thread) is read back and a message carrying the
        key is returned instead of posting a second one."""
        metadata = {"event_type": POST_EVENT, "event_payload": {"key": key}} if key else None
        try:
            response = await call(
                self.client.chat_postMessage(
                    channel=place.channel_id,
                    thread_ts=place.thread_id,
                    blocks=blocks.blocks(card),
                    text=blocks.text(card),
                    unfurl_links=False,
                    metadata=metadata,
                )
            )
        except PlatformError as exc:
            landed = await self.find_post(place, key) if key and exc.ambiguous else None
            if landed is None:
                raise
            return landed
        return str(response["ts"])

    async def find_post(self, place: Place, key: str) -> str | None:
        """The ts of a recent message in ``place`` carrying ``key``, if one landed."""
        try:
            if place.thread_id:
                response = await call(
                    self.client.conversations_replies(
                        channel=place.channel_id,
                        ts=place.thread_id,
                        include_all_metadata=True,
                        limit=LOOK_BACK,
                    )
                )
            else:
                response = await call(
                    self.client.conversations_history(
                        channel=place.channel_id, include_all_metadata=True, limit=LOOK_BACK
                    )
                )
        except PlatformError:
            return None  # cannot tell: the caller reports the original failure
        for message in response.get("messages") or ():
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return str(message["ts"])
        return None

    async def edit(self, place: Place, message_id: str, card: Card) -> None:
        await call(
            self.client.chat_update(
                channel=place.channel_id,
                ts=message_id,
                blocks=blocks.blocks(card),
                text=blocks.text(card),
            )
        )

    async def _open(self, users: Sequence[str]) -> str:
        response = await call(self.client.conversations_open(users=",".join(users)))
        return str(response["channel"]["id"])

    async def dm(self, member: MemberRef, card: Card) -> str:
        channel = await self._open([member.user_id])
        return await self.post(Place(PLATFORM, member.workspace_id, channel), card)

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        """Slack threads need no call: replies name the parent message's ts."""
        return place.in_thread(message_id)

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        """A group DM (``near`` does not apply: Slack's private space is the DM itself)."""
        channel = await self._open([m.user_id for m in members])
        return Place(PLATFORM, members[0].workspace_id, channel)

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        name = blocks.emoji_name(emoji)
        try:
            await call(
                self.client.reactions_add(channel=place.channel_id, timestamp=message_id, name=name)
            )
        except SlackError as exc:
            if exc.error != "already_reacted":
                raise

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        return False  # Slack has no roles: the digest's announcement is the reward

    async def check_channel(self, place: Place) -> str | None:
        """None if studybot may post in the channel, else why not (for the admin)."""
        try:
            response = await call(self.client.conversations_info(channel=place.channel_id))
        except SlackError as exc:
            if exc.retry_after is not None:
                raise
            if exc.error == "channel_not_found":
                return "studybot cannot see that channel (it is private, or does not exist)"
            return str(exc)
        channel = response["channel"]
        if channel.get("is_archived"):
            return "that channel is archived"
        if channel.get("is_im") or channel.get("is_member"):
            return None
        return "studybot is not a member of that channel"
