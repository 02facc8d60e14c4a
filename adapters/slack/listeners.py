"""The bolt AsyncApp wired to the core: ack at once, translate in, render what comes back."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.settings import SlackSettings
from adapters.slack import blocks, files, inbound
from adapters.slack.blocks import COMMAND
from adapters.slack.inbound import PLATFORM
from adapters.slack.platform import make_client
from bot.app import App
from bot.chat import BotAdded, Card, Event, Member, MemberJoined, MemberRef, Place, Reply

if TYPE_CHECKING:  # Socket Mode's client is imported only when an app token asks for it
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
IDLE_WAIT = 10.0
SEND_ERRORS = (SlackClientError, aiohttp.ClientError, TimeoutError)
Listener = Callable[..., Awaitable[None]]


class Members:
    """Who a user is (display name, workspace admin or owner) from users.info, cached briefly
    so a renamed member or a new admin shows up within minutes."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 300.0, size: int = 10_000) -> None:
        self.client, self.ttl, self.size = client, ttl, size
        self._cache: dict[tuple[str, str], tuple[float, Member]] = {}

    async def get(self, team_id: str, user_id: str, *, name: str = "") -> Member:
        now = time.monotonic()
        hit = self._cache.get((team_id, user_id))
        if hit and hit[0] > now:
            return hit[1]
        ref = MemberRef(PLATFORM, team_id, user_id)
        try:
            user = (await self.client.users_info(user=user_id))["user"]
        except SEND_ERRORS as exc:  # still answer, without the admin right
            log.warning("users.info %s failed: %s", user_id, exc)
            return Member(ref, name or user_id)
        profile = user.get("profile") or {}
        display = profile.get("display_name") or profile.get("real_name") or user.get("name")
        member = Member(
            ref,
            str(display or name or user_id),
            is_admin=bool(user.get("is_admin") or user.get("is_owner")),
        )
        if len(self._cache) >= self.size:
            self._cache.clear()
        self._cache[(team_id, user_id)] = (now + self.ttl, member)
        return member


class SlackBot:
    """One Slack app: the bolt listeners, served over HTTP or Socket Mode."""

    def __init__(
        self, settings: SlackSettings, app: App, *, client: AsyncWebClient | None = None
    ) -> None:
        self.settings = settings
        self.app = app
        self.client = client or make_client(settings)
        self.members = Members(self.client)
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=settings.signing_secret.get_secret_value(),
            request_verification_enabled=not settings.app_token.get_secret_value(),
            name="studybot",
        )
        self.bolt.middleware(self._dedupe)
        self.bolt.command(COMMAND)(self._tracked(self._on_command))
        self.bolt.action(re.compile(".+"))(self._tracked(self._on_action))
        self.bolt.view(re.compile(".+"))(self._tracked(self._on_view))
        self.bolt.event("reaction_added")(self._tracked(self._on_reaction))
        self.bolt.event("reaction_removed")(self._tracked(self._on_reaction))
        self.bolt.event("member_joined_channel")(self._tracked(self._on_member_joined))
        self.bolt.event("app_home_opened")(self._tracked(self._on_home_opened))
        self._working: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None

    def _tracked(self, listener: Listener) -> Listener:
        """Remember the listener's task, so stop() (and tests) can wait for work after acks."""

        @functools.wraps(listener)  # bolt injects arguments by the wrapped function's names
        async def run(**kwargs: Any) -> None:
            if task := asyncio.current_task():
                self._working.add(task)
                task.add_done_callback(self._working.discard)
            await listener(**kwargs)

        return run

    async def idle(self) -> None:
        """Wait (up to IDLE_WAIT s) until the listeners still working after their ack are done."""
        await asyncio.sleep(0)
        if self._working:
            await asyncio.wait(set(self._working), timeout=IDLE_WAIT)

    # ---- serving ---------------------------------------------------------------------

    async def check(self) -> None:
        """Fail fast, with a readable message, when the bot token is refused or Slack's Web
        API cannot be reached (a connection failure is an OSError, which must not pass for
        a problem with the database)."""
        try:
            await self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error")
            raise RuntimeError(f"Slack refused SLACK_BOT_TOKEN ({error})") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RuntimeError(
                f"cannot reach Slack's Web API at {self.settings.api_url} ({exc}). Check the "
                "network, or SLACK_API_URL if you set it."
            ) from exc

    async def start_http(self, host: str, port: int) -> int:
        """Serve events, commands and interactivity at EVENTS_PATH; return the bound port."""
        self._runner = web.AppRunner(self.bolt.web_app(path=EVENTS_PATH), shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = int(self._runner.addresses[0][1])
        log.info("Slack HTTP mode on %s:%d%s", host, bound, EVENTS_PATH)
        return bound

    async def start_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._socket = AsyncSocketModeHandler(
            self.bolt, self.settings.app_token.get_secret_value(), web_client=self.client
        )
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")

    async def stop(self) -> None:
        """Stop taking requests, then let the ones already acked finish."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        await self.idle()

    # ---- inbound ---------------------------------------------------------------------

    async def _dedupe(
        self, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Slack retries an event it thinks was not received; handle each event_id once."""
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            team = str(body.get("team_id", ""))
            if not await self.app.first_delivery(PLATFORM, team, event_id[:128]):
                log.info("skipping retried event %s", event_id)
                return BoltResponse(status=200, body="")
        await next()
        return None

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()  # within 3 s, always; the work below may take longer
        payload = cast(inbound.SlashCommand, body)
        member = await self.members.get(
            payload["team_id"], payload["user_id"], name=payload.get("user_name", "")
        )
        event, takes_file = self.app.read_command(inbound.command(payload, member))
        if takes_file:
            found = files.shared_files(self.client, channel=event.place.channel_id, user=member)
            event = replace(event, files=await found)
        await self._answer(
            event, response_url=payload.get("response_url"), trigger_id=payload.get("trigger_id")
        )

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        payload = cast(inbound.BlockActions, body)
        await self._answer(
            inbound.action(payload, await self._interacting(payload)),
            response_url=payload.get("response_url"),
            trigger_id=payload.get("trigger_id"),
        )

    async def _on_view(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()  # closes the modal; the result comes as a message
        payload = cast(inbound.ViewSubmission, body)
        event = inbound.form(payload, await self._interacting(payload))
        await self._answer(event, response_url=inbound.read_metadata(payload["view"])[2])

    async def _interacting(self, payload: inbound.BlockActions | inbound.ViewSubmission) -> Member:
        user = payload["user"]
        return await self.members.get(
            payload["team"]["id"], user["id"], name=user.get("username", "")
        )

    async def _on_reaction(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        payload = cast(inbound.ReactionEvent, event)
        user = payload.get("user")
        # The bot's own 👍 on each open answer must never count as a vote.
        if payload.get("item", {}).get("type") != "message" or user in (None, context.bot_user_id):
            return
        member = await self.members.get(body["team_id"], str(user))
        await self.app.handle(inbound.reaction(body["team_id"], payload, member))

    async def _on_member_joined(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        user, place = event["user"], Place(PLATFORM, body["team_id"], event["channel"])
        if user != context.bot_user_id:
            await self._answer(MemberJoined(await self.members.get(body["team_id"], user), place))
        elif inviter := event.get("inviter"):  # studybot was added: the core guides whoever did
            await self._answer(BotAdded(place, await self.members.get(body["team_id"], inviter)))

    async def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return
        card = await self.app.home(await self.members.get(body["team_id"], event["user"]))
        view = {"type": "home", "blocks": blocks.blocks(card)}
        await quietly(self.client.views_publish(user_id=event["user"], view=view), "Home tab")

    # ---- outbound --------------------------------------------------------------------

    async def _answer(
        self, event: Event, *, response_url: str | None = None, trigger_id: str | None = None
    ) -> None:
        """Ask the core, then render its reply: a modal, or a private or public message."""
        reply = await self.app.handle(event)
        if reply is not None and reply.form is not None and trigger_id:
            view = blocks.modal(reply.form, metadata=inbound.metadata(event.place, response_url))
            await quietly(self.client.views_open(trigger_id=trigger_id, view=view), "views.open")
        elif reply is not None and reply.card is not None:
            assert event.member is not None, "every event Slack sends to the core has a member"
            card, user_id = reply.card, event.member.ref.user_id
            if reply.files:
                await quietly(self._send_files(reply, event.place, user_id), "files")
                if reply.private:
                    names = ", ".join(f.name for f in reply.files)
                    note = f"📎 {names}: in your direct messages with studybot."
                    card = replace(card, footer="\n".join(filter(None, (card.footer, note))))
            await self._message(
                card,
                private=reply.private,
                place=event.place,
                user_id=user_id,
                response_url=response_url,
            )
        member = event.member
        for extra in reply.notes if reply is not None and member is not None else ():
            await self._message(  # the core's one first-contact welcome
                extra,
                private=True,
                place=event.place,
                user_id=member.ref.user_id if member else "",
                response_url=response_url,
            )

    async def _send_files(self, reply: Reply, place: Place, user_id: str) -> None:
        channel, thread = place.channel_id, place.thread_id
        if reply.private or not channel:  # Slack has no private files in a channel
            opened = await self.client.conversations_open(users=user_id)
            channel, thread = opened["channel"]["id"], None
        await files.send_files(self.client, reply.files, channel=channel, thread=thread)

    async def _message(
        self, card: Card, *, private: bool, place: Place, user_id: str, response_url: str | None
    ) -> None:
        rendered, fallback = blocks.blocks(card), blocks.text(card)
        request: Awaitable[object]
        if response_url:  # works even where studybot is not a channel member
            request = AsyncWebhookClient(response_url).send(
                text=fallback,
                blocks=rendered,
                response_type="ephemeral" if private else "in_channel",
                replace_original=False,
            )
        elif private and place.channel_id:
            request = self.client.chat_postEphemeral(
                channel=place.channel_id,
                user=user_id,
                thread_ts=place.thread_id,
                blocks=rendered,
                text=fallback,
            )
        else:  # public, or with no channel (a form opened from the Home tab): the app's DM
            request = self.client.chat_postMessage(
                channel=place.channel_id or user_id,
                thread_ts=place.thread_id,
                blocks=rendered,
                text=fallback,
            )
        await quietly(request, f"a reply to {user_id}")


async def quietly(request: Awaitable[object], what: str) -> None:
    """Send what a member asked for; if Slack refuses, log it (there is no one else to tell)."""
    try:
        result = await request
    except SEND_ERRORS as exc:
        log.warning("sending %s failed: %s", what, exc)
        return
    if isinstance(result, WebhookResponse) and result.status_code != 200:
        log.warning("sending %s failed: %s %s", what, result.status_code, result.body)
