"""A local Discord for tests: the REST API and a gateway websocket on 127.0.0.1 (aiohttp).

The real discord.py client talks to it once ``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` point here (see ``FakeDiscord.patch``).
It answers what the bot calls, keeps the messages, threads and reactions it was sent, and
lets a test dispatch gateway events as Discord would: interactions and reactions.

Details discord.py insists on: JSON responses have the content type exactly
``application/json``; a 429 without a ``Via`` header reads as a Cloudflare ban; a message
has no ``interaction_metadata`` key rather than a null one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import WSMsgType, web

API = "/api/v10"
TIMESTAMP = "2026-01-05T09:00:00+00:00"
EPHEMERAL = 64
TEXT_CHANNEL, PUBLIC_THREAD, PRIVATE_THREAD, DM_CHANNEL = 0, 11, 12, 1
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    read_message_history=True,
    add_reactions=True,
    create_public_threads=True,
    create_private_threads=True,
    use_application_commands=True,
)
Json = dict[str, Any]
BODY: web.RequestKey[Any] = web.RequestKey("body", object)


@dataclass(frozen=True)
class FakeUser:
    id: str
    name: str
    permissions: discord.Permissions = MEMBER_PERMISSIONS  # resolved in the guild
    roles: tuple[str, ...] = ()
    bot: bool = False

    def payload(self) -> Json:
        return {
            "id": self.id,
            "username": self.name.lower(),
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member(self, *, with_permissions: bool = False) -> Json:
        out = {
            "user": self.payload(),
            "roles": list(self.roles),
            "nick": None,
            "avatar": None,
            "joined_at": TIMESTAMP,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_permissions:
            out["permissions"] = str(self.permissions.value)
        return out


@dataclass
class Interaction:
    """One interaction as the fake saw it answered: callbacks, original message, follow-ups."""

    id: str
    token: str
    payload: Json
    callbacks: list[Json] = field(default_factory=list)
    original: Json | None = None  # the response message, as its latest edit left it
    followups: list[Json] = field(default_factory=list)

    @property
    def kind(self) -> int:
        """The first callback's type: 4 message, 5/6 deferred, 8 autocomplete, 9 modal."""
        return int(self.callbacks[0]["type"])

    @property
    def shown(self) -> Json:
        """What the member sees as the answer: the original response, else the follow-up."""
        found = self.original or (self.followups[0] if self.followups else None)
        assert found is not None, f"nothing shown for interaction {self.id}: {self.callbacks}"
        return found

    @property
    def text(self) -> str:
        return text_of(self.shown)

    @property
    def ephemeral(self) -> bool:
        return bool(self.shown.get("flags", 0) & EPHEMERAL)

    @property
    def modal(self) -> Json:
        assert self.kind == 9, f"expected a modal, got {self.callbacks}"
        return dict(self.callbacks[0]["data"])

    @property
    def choices(self) -> list[str]:
        assert self.kind == 8, f"expected autocomplete choices, got {self.callbacks}"
        return [c["value"] for c in self.callbacks[0]["data"]["choices"]]

    @property
    def labels(self) -> list[str]:
        assert self.kind == 8, f"expected autocomplete choices, got {self.callbacks}"
        return [c["name"] for c in self.callbacks[0]["data"]["choices"]]


def text_of(message: Json) -> str:
    """Every embed's title, description, fields and footer, one per line."""
    lines: list[str] = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        lines += [embed.get("title", ""), embed.get("description", "")]
        for f in embed.get("fields", []):
            lines += [f["name"], f["value"]]
        lines.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(line for line in lines if line)


def buttons_of(message: Json) -> list[Json]:
    return [c for row in message.get("components", []) for c in row.get("components", [])]


class FakeDiscord:
    """Discord's REST API and gateway, enough for studybot, in one aiohttp server."""

    def __init__(self) -> None:
        self._ids = itertools.count(1_300_000_000_000_000_001)
        self.app_id = "1200000000000000001"
        self.bot = FakeUser(self.app_id, "studybot", bot=True)
        self.guild_id = "1100000000000000001"
        self.channel_id = "1100000000000000002"
        self.admin_role_id = "1100000000000000003"
        self.channels: dict[str, Json] = {}
        self.guilds: dict[str, Json] = {}
        self.add_guild(self.guild_id, self.channel_id, name="Study group")
        self.calls: list[tuple[str, str, Any]] = []  # (method, path, JSON body)
        self.role_holders: dict[str, set[str]] = {}  # role id → member ids
        self.commands: dict[str | None, list[Json]] = {}  # guild id (None: global) -> commands
        self.messages: dict[str, Json] = {}
        self.reactions: list[tuple[str, str, str]] = []  # (message id, emoji, user id)
        self.thread_members: list[tuple[str, str]] = []  # (thread id, user id)
        self.interactions: dict[str, Interaction] = {}
        self.uploads: dict[str, bytes] = {}  # attachment id -> content, served as the CDN
        self.identifies: list[Json] = []
        self.failures: list[tuple[str, re.Pattern[str], int, Json, float]] = []
        self.after_failures: list[tuple[str, re.Pattern[str], int, Json]] = []
        self.nonces: dict[str, str] = {}  # nonce → message id
        self.delays: list[tuple[str, re.Pattern[str], float]] = []
        self._sockets: list[tuple[web.WebSocketResponse, Iterator[int]]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- set-up ---------------------------------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_guild(self, guild_id: str, channel_id: str, *, name: str) -> Json:
        """A server with a #general channel (its system channel) and two roles."""
        roles = [
            self._role(guild_id, "@everyone", MEMBER_PERMISSIONS),
            self._role(self.admin_role_id, "Study admins", MEMBER_PERMISSIONS),
        ]
        guild = {
            "id": guild_id,
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": "1",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "features": [],
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "system_channel_id": channel_id,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "joined_at": TIMESTAMP,
            "large": False,
            "unavailable": False,
            "member_count": 1,
            "members": [self.bot.member()],
            "channels": [],
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
        self.guilds[guild_id] = guild
        self.add_channel(guild_id, channel_id, name="general")
        return guild

    def add_channel(
        self,
        guild_id: str,
        channel_id: str,
        *,
        name: str,
        deny: discord.Permissions | None = None,
    ) -> Json:
        """A text channel; ``deny`` overwrites @everyone's permissions (sent at the next READY)."""
        overwrites = []
        if deny is not None:
            overwrites.append({"id": guild_id, "type": 0, "allow": "0", "deny": str(deny.value)})
        channel = {
            "id": channel_id,
            "type": TEXT_CHANNEL,
            "guild_id": guild_id,
            "name": name,
            "position": len(self.guilds[guild_id]["channels"]),
            "permission_overwrites": overwrites,
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        self.channels[channel_id] = channel
        self.guilds[guild_id]["channels"].append(
            {k: v for k, v in channel.items() if k != "guild_id"}
        )
        return channel

    @staticmethod
    def _role(role_id: str, name: str, permissions: discord.Permissions) -> Json:
        return {
            "id": role_id,
            "name": name,
            "color": 0,
            "hoist": False,
            "position": 0 if name == "@everyone" else 1,
            "permissions": str(permissions.value),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def fail(
        self, method: str, path: str, *, status: int, body: Json, retry_after: float = 0.0
    ) -> None:
        """Answer the next matching request with an error (429s carry a Via header)."""
        self.failures.append((method, re.compile(path), status, body, retry_after))

    def fail_after(self, method: str, path: str, *, status: int, body: Json) -> None:
        """Carry out the next matching request, then answer it with an error anyway (a
        response lost after the message was created)."""
        self.after_failures.append((method, re.compile(path), status, body))

    def delay(self, method: str, path: str, seconds: float) -> None:
        """Answer every matching request only after ``seconds``."""
        self.delays.append((method, re.compile(path), seconds))

    @contextmanager
    def patch(self) -> Iterator[None]:
        """Point discord.py at this server, and put Discord's addresses back afterwards."""
        base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = f"http://127.0.0.1:{self.port}{API}"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{self.port}/")
        try:
            yield
        finally:
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_get("/", self._gateway)
        r.add_get("/attachments/{id}/{name}", self._download)
        r.add_get(API + "/users/@me", self._me)
        r.add_get(API + "/oauth2/applications/@me", self._application)
        r.add_get(API + "/gateway/bot", self._gateway_bot)
        r.add_put(API + "/applications/{app}/commands", self._sync)
        r.add_put(API + "/applications/{app}/guilds/{guild}/commands", self._sync)
        r.add_post(API + "/interactions/{id}/{token}/callback", self._callback)
        r.add_post(API + "/webhooks/{app}/{token}", self._followup)
        r.add_patch(API + "/webhooks/{app}/{token}/messages/{mid}", self._edit_original)
        r.add_delete(API + "/webhooks/{app}/{token}/messages/{mid}", self._delete_original)
        r.add_get(API + "/channels/{channel}", self._channel)
        r.add_post(API + "/channels/{channel}/messages", self._post)
        r.add_patch(API + "/channels/{channel}/messages/{mid}", self._edit)
        r.add_post(API + "/channels/{channel}/messages/{mid}/threads", self._thread_from_message)
        r.add_post(API + "/channels/{channel}/threads", self._thread)
        r.add_put(API + "/channels/{channel}/thread-members/{user}", self._thread_member)
        r.add_put(API + "/channels/{channel}/messages/{mid}/reactions/{emoji}/@me", self._react)
        r.add_post(API + "/users/@me/channels", self._dm_channel)
        r.add_get(API + "/guilds/{guild}/members/{user}", self._member)
        r.add_put(API + "/guilds/{guild}/members/{user}/roles/{role}", self._member_role)
        r.add_delete(API + "/guilds/{guild}/members/{user}/roles/{role}", self._member_role)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        for ws, _ in self._sockets:
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    def upload(self, name: str, content: bytes) -> Json:
        """A file a member attached: its resolved-attachment payload, served by this server."""
        attachment_id = self.next_id()
        self.uploads[attachment_id] = content
        return {
            "id": attachment_id,
            "filename": name,
            "size": len(content),
            "url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{name}",
            "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{name}",
            "content_type": "application/octet-stream",
        }

    async def _download(self, request: web.Request) -> web.Response:
        return web.Response(body=self.uploads[request.match_info["id"]])

    # ---- what tests read ------------------------------------------------------------------

    def dms_to(self, user_id: str) -> list[Json]:
        """Messages the bot sent in its DM with ``user_id``."""
        dms = {
            c["id"]
            for c in self.channels.values()
            if c["type"] == DM_CHANNEL and c["recipients"][0]["id"] == user_id
        }
        return [m for m in self.messages.values() if m["channel_id"] in dms]

    def posts(self, channel_id: str | None = None) -> list[Json]:
        """Messages the bot posted in a channel or thread (not interaction responses)."""
        channel_id = channel_id or self.channel_id
        return [
            m
            for m in self.messages.values()
            if m["channel_id"] == channel_id and "webhook_id" not in m
        ]

    @property
    def connections(self) -> int:
        """Gateway connections that have identified and are still open."""
        return len(self._sockets)

    def threads(self) -> list[Json]:
        return [c for c in self.channels.values() if c["type"] in (PUBLIC_THREAD, PRIVATE_THREAD)]

    def requests(self, method: str, path: str) -> list[Any]:
        pattern = re.compile(path)
        return [body for m, p, body in self.calls if m == method and pattern.fullmatch(p)]

    # ---- the gateway ----------------------------------------------------------------------

    async def dispatch(self, event: str, data: Json) -> None:
        for ws, seq in self._sockets:
            await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(seq), "d": data}))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        seq = itertools.count(1)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45_000}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif frame["op"] == 2:
                self.identifies.append(frame["d"])
                self._sockets.append((ws, seq))
                await self._ready(ws, seq, frame["d"])
        self._sockets = [(s, q) for s, q in self._sockets if s is not ws]
        return ws

    async def _ready(self, ws: web.WebSocketResponse, seq: Iterator[int], identify: Json) -> None:
        ready = {
            "v": 10,
            "user": {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": g, "unavailable": True} for g in self.guilds],
            "session_id": "session-1",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/",
            "application": {"id": self.app_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if "shard" in identify:
            ready["shard"] = identify["shard"]
        frames = [("READY", ready), *(("GUILD_CREATE", g) for g in self.guilds.values())]
        for event, data in frames:
            await ws.send_str(json.dumps({"op": 0, "t": event, "s": next(seq), "d": data}))

    # ---- REST -----------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)  # type: ignore[no-any-return]
        body = await _body(request)
        self.calls.append((request.method, request.path[len(API) :], body))
        path = request.path[len(API) :]
        for method, pattern, seconds in self.delays:
            if method == request.method and pattern.fullmatch(path):
                await asyncio.sleep(seconds)
        for rule in self.failures:
            method, pattern, status, error, retry_after = rule
            if method == request.method and pattern.fullmatch(path):
                self.failures.remove(rule)
                headers = {"Via": "1.1 google"} if status == 429 else {}
                if status == 429:
                    error = {**error, "retry_after": retry_after, "global": False}
                return _json(error, status=status, headers=headers)
        request[BODY] = body
        response = await handler(request)
        for rule in self.after_failures:
            method, pattern, status, error = rule
            if method == request.method and pattern.fullmatch(path):
                self.after_failures.remove(rule)
                return _json(error, status=status)
        return response  # type: ignore[no-any-return]

    async def _me(self, _: web.Request) -> web.Response:
        return _json(self.bot.payload())

    async def _application(self, _: web.Request) -> web.Response:
        return _json(
            {
                "id": self.app_id,
                "name": "studybot",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": FakeUser("1", "owner").payload(),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
            }
        )

    async def _gateway_bot(self, _: web.Request) -> web.Response:
        return _json(
            {
                "url": f"ws://127.0.0.1:{self.port}/",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        synced = [
            {**c, "id": self.next_id(), "application_id": self.app_id, "version": "1"}
            for c in request[BODY]
        ]
        self.commands[guild] = synced
        return _json(synced)

    def _message(self, channel_id: str, body: Json, **extra: Any) -> Json:
        message = {
            "id": self.next_id(),
            "channel_id": channel_id,
            "author": self.bot.payload(),
            "content": body.get("content") or "",
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            **extra,
        }
        self.messages[message["id"]] = message
        return message

    async def _channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["channel"])
        if channel is None:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        return _json(channel)

    async def _post(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        if channel not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        body = request[BODY]
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce in self.nonces:  # Discord's own dedupe
            return _json(self.messages[self.nonces[nonce]])
        message = self._message(channel, body, **({"nonce": nonce} if nonce else {}))
        if nonce:
            self.nonces[nonce] = message["id"]
        return _json(message)

    async def _edit(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["mid"])
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        body = request[BODY]
        message.update({k: body[k] for k in ("content", "embeds", "components") if k in body})
        message["edited_timestamp"] = TIMESTAMP
        return _json(message)

    def _new_thread(self, parent: str, name: str, kind: int) -> Json:
        parent_channel = self.channels[parent]
        thread = {
            "id": self.next_id(),
            "guild_id": parent_channel["guild_id"],
            "parent_id": parent,
            "owner_id": self.bot.id,
            "type": kind,
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": TIMESTAMP,
                "locked": False,
                "invitable": kind == PUBLIC_THREAD,
            },
        }
        self.channels[thread["id"]] = thread
        return thread

    async def _thread_from_message(self, request: web.Request) -> web.Response:
        body = request[BODY]
        thread = self._new_thread(request.match_info["channel"], body["name"], PUBLIC_THREAD)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _thread(self, request: web.Request) -> web.Response:
        body = request[BODY]
        thread = self._new_thread(request.match_info["channel"], body["name"], int(body["type"]))
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _thread_member(self, request: web.Request) -> web.Response:
        self.thread_members.append((request.match_info["channel"], request.match_info["user"]))
        return web.Response(status=204)

    async def _react(self, request: web.Request) -> web.Response:
        channel, message_id = request.match_info["channel"], request.match_info["mid"]
        emoji = request.match_info["emoji"]
        self.reactions.append((message_id, emoji, self.bot.id))
        # Discord tells every client about every reaction, the bot's own included.
        await self.dispatch(
            "MESSAGE_REACTION_ADD", self.reaction(self.bot, channel, message_id, emoji)
        )
        return web.Response(status=204)

    async def _dm_channel(self, request: web.Request) -> web.Response:
        user_id = str(request[BODY]["recipient_id"])
        channel: Json = {
            "id": self.next_id(),
            "type": DM_CHANNEL,
            "last_message_id": None,
            "recipients": [FakeUser(user_id, f"user{user_id[-3:]}").payload()],
        }
        self.channels[channel["id"]] = channel
        return _json(channel)

    async def _member_role(self, request: web.Request) -> web.Response:
        """Add (PUT) or remove (DELETE) a member's role; tests read ``self.role_holders``."""
        role, user = request.match_info["role"], request.match_info["user"]
        holders = self.role_holders.setdefault(role, set())
        if request.method == "PUT":
            holders.add(user)
        else:
            holders.discard(user)
        return web.Response(status=204)

    async def _member(self, request: web.Request) -> web.Response:
        user_id = request.match_info["user"]
        return _json(FakeUser(user_id, f"user{user_id[-3:]}").member())

    # ---- interactions ---------------------------------------------------------------------

    def interaction(
        self,
        kind: int,
        user: FakeUser,
        data: Json,
        *,
        channel_id: str | None = None,
        message: Json | None = None,
    ) -> Interaction:
        """An INTERACTION_CREATE payload from ``user`` (dispatch it with ``dispatch``)."""
        interaction_id = self.next_id()
        channel = self.channels[channel_id or self.channel_id]
        if channel["type"] == DM_CHANNEL:  # a DM: no server, a user instead of a member
            payload = {
                "id": interaction_id,
                "application_id": self.app_id,
                "type": kind,
                "token": f"token-{interaction_id}",
                "version": 1,
                "channel_id": channel["id"],
                "channel": channel,
                "user": user.payload(),
                "data": data,
                "locale": "en-US",
                "app_permissions": str(MEMBER_PERMISSIONS.value),
                "entitlements": [],
                "authorizing_integration_owners": {"0": channel["recipients"][0]["id"]},
                "context": 1,
                "attachment_size_limit": 8 * 1024 * 1024,
            }
            if message is not None:
                payload["message"] = message
            record = Interaction(interaction_id, payload["token"], payload)
            self.interactions[payload["token"]] = record
            return record
        payload: Json = {
            "id": interaction_id,
            "application_id": self.app_id,
            "type": kind,
            "token": f"token-{interaction_id}",
            "version": 1,
            "guild_id": channel["guild_id"],
            "channel_id": channel["id"],
            "channel": channel,
            "member": user.member(with_permissions=True),
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str(MEMBER_PERMISSIONS.value),
            "entitlements": [],
            "authorizing_integration_owners": {"0": channel["guild_id"]},
            "context": 0,
            "attachment_size_limit": 8 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        record = Interaction(interaction_id, payload["token"], payload)
        self.interactions[payload["token"]] = record
        return record

    def reaction(self, user: FakeUser, channel_id: str, message_id: str, emoji: str) -> Json:
        return {
            "user_id": user.id,
            "channel_id": channel_id,
            "message_id": message_id,
            "guild_id": self.channels[channel_id]["guild_id"],
            "emoji": {"id": None, "name": emoji},
            "member": user.member(),
            "message_author_id": self.bot.id,
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }

    async def _callback(self, request: web.Request) -> web.Response:
        record = self.interactions[request.match_info["token"]]
        body = request[BODY]
        record.callbacks.append(body)
        kind, data = int(body["type"]), body.get("data") or {}
        flags = int(data.get("flags", 0))
        interaction: Json = {"id": record.id, "type": record.payload["type"]}
        resource: Json = {"type": kind}
        if kind in (4, 5):  # a message now, or a "thinking…" one to edit later
            message = self._message(
                record.payload["channel_id"],
                data,
                webhook_id=self.app_id,
                application_id=self.app_id,
                interaction_token=record.token,
            )
            record.original = message
            resource["message"] = message
            interaction.update(
                response_message_id=message["id"],
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(flags & EPHEMERAL),
            )
        return _json({"interaction": interaction, "resource": resource})

    async def _followup(self, request: web.Request) -> web.Response:
        record = self.interactions[request.match_info["token"]]
        message = self._message(record.payload["channel_id"], request[BODY], webhook_id=self.app_id)
        record.followups.append(message)
        return _json(message)

    async def _edit_original(self, request: web.Request) -> web.Response:
        record = self.interactions[request.match_info["token"]]
        assert record.original is not None, "no original response to edit"
        body = request[BODY]
        record.original.update(
            {k: body[k] for k in ("content", "embeds", "components") if k in body}
        )
        return _json(record.original)

    async def _delete_original(self, request: web.Request) -> web.Response:
        record = self.interactions[request.match_info["token"]]
        if record.original is not None:
            self.messages.pop(record.original["id"], None)
        record.original = None
        return web.Response(status=204)


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py does not parse "application/json; charset=utf-8".
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        return json.loads(str(form["payload_json"]))
    return await request.json()
