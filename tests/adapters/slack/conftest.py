"""A Slack workspace for tests: the real bolt AsyncApp on 127.0.0.1, driven the way Slack
drives it (signed HTTP POSTs, or Socket Mode envelopes), against a fake Web API."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import pytest
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

from adapters.settings import SlackSettings
from adapters.slack import SlackBot, build_platform
from bot.app import App, build_app
from bot.config import Settings
from bot.ports import ManualClock
from bot.scheduler import ManualDriver
from bot.store.schema import members
from questions.schema import Item
from tests.conftest import migrated_sqlite, mini_bank
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    TEAM,
    Call,
    FakeSlack,
    channel,
    user,
)

SECRET = "test-signing-secret"
CHANNEL = "C1"
OUTSIDE = "C8"  # a channel studybot was not invited to
ADMIN, OWNER, ALICE, BOB, CAROL = "UADMIN", "UOWNER", "UALICE", "UBOB", "UCAROL"
NAMES = {ADMIN: "admin", OWNER: "owner", ALICE: "alice", BOB: "bob", CAROL: "carol"}
DAVE, ERIN = "UDAVE", "UERIN"  # never seen by the bot: their first contact brings a welcome


def slack_settings(tmp_path: Path, fake: FakeSlack, **changes: Any) -> Settings:
    """The core's settings for a Slack test: its own database, plus ``changes``."""
    database_url = migrated_sqlite(tmp_path / "slack.db")
    return Settings(database_url=database_url, sync_seconds=0, **changes)  # simulated time


def slack_config(fake: FakeSlack, **secrets: str) -> SlackSettings:
    """The Slack adapter's settings against the fake Web API; ``secrets`` override tokens."""
    values = {"bot_token": BOT_TOKEN, "signing_secret": SECRET} | secrets
    return SlackSettings(
        api_url=fake.base_url,
        http_host="127.0.0.1",
        http_port=0,
        **{name: SecretStr(value) for name, value in values.items()},
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.users = {
        ADMIN: user(ADMIN, "admin", admin=True),
        OWNER: user(OWNER, "owner", owner=True),
        ALICE: user(ALICE, "alice"),
        BOB: user(BOB, "bob"),
        CAROL: user(CAROL, "carol"),
        DAVE: user(DAVE, "dave"),
        ERIN: user(ERIN, "erin"),
    }
    fake.channels = {c: channel(c) for c in (CHANNEL, "C7", "C9")} | {
        OUTSIDE: channel(OUTSIDE, member=False)
    }
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
def settings(tmp_path: Path, fake: FakeSlack) -> Settings:
    return slack_settings(tmp_path, fake)


@pytest.fixture
def config(fake: FakeSlack) -> SlackSettings:
    return slack_config(fake)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def driver(clock: ManualClock) -> ManualDriver:
    """Scheduled jobs run when a test advances time."""
    return ManualDriver(clock)


@pytest.fixture
def bank_items() -> tuple[Item, ...]:
    """The questions the app asks; a test module may give its own."""
    return mini_bank()


@pytest.fixture
async def app(
    settings: Settings,
    config: SlackSettings,
    clock: ManualClock,
    driver: ManualDriver,
    bank_items: tuple[Item, ...],
) -> AsyncIterator[App]:
    """The real core, built through build_app with the Slack platform on the fake API."""
    app = await build_app(
        settings=settings,
        platform=build_platform(config),
        clock=clock,
        rng=random.Random(7),
        items=bank_items,
        driver=driver,
    )
    await _welcomed_already(app, NAMES)
    try:
        yield app
    finally:
        await app.close()


async def _welcomed_already(app: App, names: dict[str, str]) -> None:
    """The regular test members have met the bot before, so each test's replies come without
    the one first-contact welcome (tests/adapters/slack/test_events.py covers it with DAVE)."""
    now = app.ctx.clock.now()
    async with app.ctx.engine.begin() as conn:
        await conn.execute(
            members.insert(),
            [
                {
                    "platform": "slack",
                    "workspace_id": TEAM,
                    "user_id": user_id,
                    "display_name": name,
                    "first_seen": now,
                    "last_seen": now,
                    "welcomed_at": now,
                }
                for user_id, name in names.items()
            ],
        )


def slash_command(
    text: str, *, as_: str, response_url: str, channel: str = CHANNEL, trigger_id: str = "trigger-0"
) -> dict[str, str]:
    """The form Slack posts for `/prep <text>`."""
    return {
        "token": "legacy",
        "team_id": TEAM,
        "team_domain": "study",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": as_,
        "user_name": NAMES.get(as_, as_),
        "command": "/prep",
        "text": text,
        "api_app_id": "A1",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


class Transport(Protocol):
    async def command(self, form: Mapping[str, str]) -> None: ...
    async def interaction(self, payload: Mapping[str, Any]) -> None: ...
    async def event(self, body: Mapping[str, Any], *, retry: int = 0) -> None: ...


class Http:
    """Slack's side of HTTP mode: signed POSTs to /slack/events."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        assert signature is not None
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            return response.status, await response.text()

    async def command(self, form: Mapping[str, str]) -> None:
        status, _ = await self.post(urlencode(form), "application/x-www-form-urlencoded")
        assert status == 200

    async def interaction(self, payload: Mapping[str, Any]) -> None:
        body = urlencode({"payload": json.dumps(payload)})
        status, _ = await self.post(body, "application/x-www-form-urlencoded")
        assert status == 200

    async def event(self, body: Mapping[str, Any], *, retry: int = 0) -> None:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await self.post(
            json.dumps(body), "application/json", headers=headers if retry else None
        )
        assert status == 200


class Socket:
    """Slack's side of Socket Mode: envelopes over the fake's websocket."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    async def command(self, form: Mapping[str, str]) -> None:
        await self.fake.envelope("slash_commands", dict(form))

    async def interaction(self, payload: Mapping[str, Any]) -> None:
        await self.fake.envelope("interactive", dict(payload))

    async def event(self, body: Mapping[str, Any], *, retry: int = 0) -> None:
        await self.fake.envelope("events_api", dict(body), retry_attempt=retry)


class SlackChat:
    """Members using studybot in a Slack workspace, sent the way Slack sends it."""

    def __init__(self, fake: FakeSlack, bot: SlackBot, transport: Transport) -> None:
        self.fake = fake
        self.bot = bot
        self.transport = transport
        self._ids = itertools.count(1)

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    def _who(self, user_id: str) -> dict[str, str]:
        return {"id": user_id, "username": NAMES.get(user_id, user_id), "team_id": TEAM}

    async def command(self, text: str, *, as_: str, channel: str = CHANNEL) -> Call:
        """Run `/prep <text>`; return the reply studybot sent to the command's response_url."""
        await self.transport.command(self.command_form(text, as_=as_, channel=channel))
        return await self.fake.next_call("respond")

    def command_form(self, text: str, *, as_: str, channel: str = CHANNEL) -> dict[str, str]:
        return slash_command(
            text,
            as_=as_,
            channel=channel,
            response_url=self.fake.response_url(),
            trigger_id=self._next("trigger-"),
        )

    async def choose(self, message: Call, written: int, *, as_: str) -> None:
        """Press the button of option ``written`` (1-based, as the bank writes the options),
        wherever the shuffle put it."""
        await self.press(message, shown_letter(message, written), as_=as_)

    async def press(self, message: Call, label: str, *, as_: str, channel: str = CHANNEL) -> None:
        """Press the button labelled ``label`` on a posted (or ephemeral) message."""
        button = next(b for b in message.buttons if b["text"]["text"] == label)
        ts = message.result.get("ts") or self.fake.next_ts()
        await self.transport.interaction(
            {
                "type": "block_actions",
                "team": {"id": TEAM, "domain": "study"},
                "user": self._who(as_),
                "api_app_id": "A1",
                "container": {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": message.method == "respond",
                },
                "trigger_id": self._next("trigger-"),
                "channel": {"id": channel, "name": "general"},
                **({} if message.method == "respond" else {"message": {"ts": ts}}),
                "response_url": self.fake.response_url(),
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "block_id": "b1",
                        "value": button.get("value", ""),
                        "action_ts": ts,
                    }
                ],
            }
        )

    async def submit(self, opened: Call, answer: str, *, as_: str) -> None:
        """Fill the modal opened by views.open and press Submit."""
        view = opened.args["view"]
        values = {
            block["block_id"]: {
                block["element"]["action_id"]: {"type": "plain_text_input", "value": answer}
            }
            for block in view["blocks"]
            if block["type"] == "input"
        }
        await self.transport.interaction(
            {
                "type": "view_submission",
                "team": {"id": TEAM, "domain": "study"},
                "user": self._who(as_),
                "api_app_id": "A1",
                "view": {**view, "id": "V1", "state": {"values": values}},
                "response_urls": [],
            }
        )

    async def event(self, event: Mapping[str, Any], *, event_id: str = "", retry: int = 0) -> None:
        """Deliver an Events API event and wait until studybot has handled it."""
        await self.transport.event(
            {
                "token": "legacy",
                "team_id": TEAM,
                "api_app_id": "A1",
                "event": dict(event),
                "type": "event_callback",
                "event_id": event_id or self._next("Ev"),
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
            },
            retry=retry,
        )
        await self.bot.idle()

    async def react(
        self, message: Call, *, as_: str, emoji: str = "+1", added: bool = True
    ) -> None:
        await self.event(
            {
                "type": "reaction_added" if added else "reaction_removed",
                "user": as_,
                "reaction": emoji,
                "item_user": BOT_USER,
                "item": {"type": "message", "channel": CHANNEL, "ts": message.result["ts"]},
                "event_ts": self.fake.next_ts(),
            }
        )


@pytest.fixture
async def bot(config: SlackSettings, app: App) -> AsyncIterator[SlackBot]:
    bot = SlackBot(config, app)
    try:
        yield bot
    finally:
        await bot.stop()


@pytest.fixture
async def http(bot: SlackBot) -> AsyncIterator[Http]:
    """HTTP mode on an ephemeral port, and a client that signs like Slack."""
    port = await bot.start_http("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield Http(f"http://127.0.0.1:{port}/slack/events", session)


@pytest.fixture
def chat(fake: FakeSlack, bot: SlackBot, http: Http) -> SlackChat:
    """A workspace talking to studybot in HTTP mode."""
    return SlackChat(fake, bot, http)


@pytest.fixture(params=["http", "socket"])
async def slack(
    request: pytest.FixtureRequest, config: SlackSettings, app: App, fake: FakeSlack
) -> AsyncIterator[SlackChat]:
    """The same workspace, in HTTP mode and in Socket Mode."""
    if request.param == "socket":
        config = slack_config(fake, app_token=APP_TOKEN)
    bot = SlackBot(config, app)
    try:
        if request.param == "socket":
            await bot.start_socket_mode()
            await asyncio.wait_for(fake.connected.wait(), 5)
            yield SlackChat(fake, bot, Socket(fake))
        else:
            port = await bot.start_http("127.0.0.1", 0)
            async with aiohttp.ClientSession() as session:
                yield SlackChat(fake, bot, Http(f"http://127.0.0.1:{port}/slack/events", session))
    finally:
        await bot.stop()


def shown_letter(message: Call, written: int) -> str:
    """The label option ``written`` (1-based, as in the bank) was shown under."""
    return str(
        next(
            b["text"]["text"]
            for b in message.buttons
            if str(b["action_id"]).endswith(f":{written - 1}")
        )
    )
