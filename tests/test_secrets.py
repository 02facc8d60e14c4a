"""No token or signing secret in any log line or reply (issue 14): the real Slack app runs at
DEBUG with known tokens and a known signing secret, things go wrong on every side (forged and
stale signatures, Slack API errors and rate limits, a bad token, a failing handler), and every
log record (with its traceback) and everything sent back is searched for the secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from adapters.slack import SlackBot, build_platform
from bot.app import App, build_app
from bot.ports import ManualClock
from bot.scheduler import ManualDriver
from tests.adapters.slack.conftest import (
    ADMIN,
    ALICE,
    CHANNEL,
    NAMES,
    SECRET,
    Http,
    SlackChat,
    Socket,
    _welcomed_already,
    slack_config,
    slack_settings,
)
from tests.conftest import free_port, mini_bank
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack, channel, user

SECRETS = (BOT_TOKEN, APP_TOKEN, SECRET)
FORMATTER = logging.Formatter()


@pytest.fixture(params=["http", "socket"])
async def slack(
    request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[SlackChat, App]]:
    """The real bolt app at DEBUG, in HTTP mode (signing secret) and Socket Mode (app token)."""
    caplog.set_level(logging.DEBUG)  # everything, from every library
    fake = FakeSlack()
    fake.users = {ADMIN: user(ADMIN, "admin", admin=True), ALICE: user(ALICE, "alice")}
    fake.channels = {CHANNEL: channel(CHANNEL)}
    await fake.start()
    clock = ManualClock()
    socket = request.param == "socket"
    config = slack_config(fake, app_token=APP_TOKEN) if socket else slack_config(fake)
    app = await build_app(
        settings=slack_settings(tmp_path, fake, log_level="DEBUG"),
        platform=build_platform(config),
        clock=clock,
        rng=random.Random(7),
        items=mini_bank(),
        driver=ManualDriver(clock),
    )
    await _welcomed_already(app, {k: v for k, v in NAMES.items() if k in fake.users})
    bot = SlackBot(config, app)
    try:
        if socket:
            await bot.start_socket_mode()
            await asyncio.wait_for(fake.connected.wait(), 5)
            yield SlackChat(fake, bot, Socket(fake)), app
        else:
            port = await bot.start_http("127.0.0.1", 0)
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{port}/slack/events"
                yield SlackChat(fake, bot, Http(url, session)), app
    finally:
        await bot.stop()
        await app.close()
        await fake.close()


async def _refuse_unsigned(chat: SlackChat) -> None:
    """HTTP mode: requests Slack did not sign, or signed too long ago, get 401."""
    http = chat.transport
    if not isinstance(http, Http):
        return  # Socket Mode: Slack's own connection, no signatures
    forged = urlencode(chat.command_form("help", as_=ALICE))
    assert (await http.post(forged, "application/x-www-form-urlencoded", secret="wrong"))[0] == 401
    stale = int(time.time()) - 3600
    status, _ = await http.post(forged, "application/x-www-form-urlencoded", timestamp=stale)
    assert status == 401


def _logged(caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    """Each record as a handler would write it: the message, its arguments, its traceback."""
    for record in caplog.records:
        yield FORMATTER.format(record)
        yield repr(record.args)


def _sent(fake: FakeSlack) -> Iterator[str]:
    """Everything studybot sent to Slack: replies, posts, modals, uploads' metadata."""
    for call in fake.calls:
        yield json.dumps(call.args, default=str)


def _found(texts: Iterator[str]) -> list[str]:
    return sorted({secret for text in texts for secret in SECRETS if secret in text})


async def test_no_secret_in_logs_or_replies_when_things_go_wrong(
    slack: tuple[SlackChat, App], caplog: pytest.LogCaptureFixture
) -> None:
    chat, app = slack
    await _refuse_unsigned(chat)
    # Slack's API failing under the bot: posts, member lookups, rate limits, lost answers.
    chat.fake.fail("chat.postMessage", 500, "internal_error")
    chat.fake.fail("chat.postMessage", 429, "ratelimited", **{"Retry-After": "0"})
    await chat.command("drop now kind:choice", as_=ADMIN)
    chat.fake.fail("users.info", 200, "invalid_auth")
    await chat.command("quiz", as_="UNEW")
    chat.fake.fail_after("chat.postMessage", 502)
    await chat.command("drop now kind:open", as_=ADMIN)
    # Input the core refuses, and buttons and forms it does not know.
    await chat.command("schedule add cron 0 0 30 2 *", as_=ADMIN)
    await chat.command("quiz topic:" + "x" * 300, as_=ALICE)
    await chat.transport.interaction(_block_action("drop:99999999999999999999:0"))
    await chat.transport.interaction(_block_action("mock:1:feedback:bogus"))
    # A handler that fails outright: the catch-all error, logged with its traceback.
    broken = app.core.registry.find("help")
    assert broken is not None

    async def fail(*_: object) -> None:
        raise RuntimeError("the help handler broke")

    # The command table is shared by every app in this process: put the handler back, or
    # each later /help in this worker fails too.
    working = broken.handler
    object.__setattr__(broken, "handler", fail)
    try:
        await chat.transport.command(chat.command_form("help", as_=ALICE))
        await chat.bot.idle()
    finally:
        object.__setattr__(broken, "handler", working)
    assert any("went wrong on our side" in call.text for call in chat.fake.of("respond"))
    assert any(r.exc_info for r in caplog.records), "the failure was logged with its traceback"
    assert any(r.levelno == logging.DEBUG for r in caplog.records), "DEBUG lines were captured"
    assert _found(_logged(caplog)) == []
    assert _found(_sent(chat.fake)) == []


def _block_action(action_id: str) -> dict[str, object]:
    return {
        "type": "block_actions",
        "team": {"id": "T1", "domain": "study"},
        "user": {"id": ALICE, "username": "alice", "team_id": "T1"},
        "api_app_id": "A1",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": CHANNEL},
        "trigger_id": "trigger-x",
        "channel": {"id": CHANNEL, "name": "general"},
        "message": {"ts": "1.1"},
        "response_url": "http://127.0.0.1:9/respond/x",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": ""}],
    }


async def test_no_secret_in_logs_when_the_token_is_wrong(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Started with a bot token Slack refuses, the bot says so without printing the token,
    and members' commands, whose every API call now fails, log no token either."""
    caplog.set_level(logging.DEBUG)
    fake = FakeSlack()
    fake.channels = {CHANNEL: channel(CHANNEL)}
    await fake.start()
    wrong = "xoxb-wrong-0123456789-known"
    config = slack_config(fake, bot_token=wrong)
    clock = ManualClock()
    app = await build_app(
        settings=slack_settings(tmp_path, fake, log_level="DEBUG"),
        platform=build_platform(config),
        clock=clock,
        items=mini_bank(),
        driver=ManualDriver(clock),
    )
    bot = SlackBot(config, app)
    try:
        with pytest.raises(RuntimeError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"):
            await bot.check()
        port = await bot.start_http("127.0.0.1", 0)
        async with aiohttp.ClientSession() as session:
            chat = SlackChat(fake, bot, Http(f"http://127.0.0.1:{port}/slack/events", session))
            for text in ("help", "drop now", "quiz"):
                await chat.transport.command(chat.command_form(text, as_=ALICE))
                await bot.idle()
    finally:
        await bot.stop()
        await app.close()
        await fake.close()
    assert any("invalid_auth" in text for text in _logged(caplog)), "the failures were logged"
    assert [t for t in _logged(caplog) if wrong in t] == []
    assert [t for t in _sent(fake) if wrong in t] == []


async def test_a_slack_that_cannot_be_reached_is_named_not_the_database(tmp_path: Path) -> None:
    """`studybot run` on Slack with nothing listening at SLACK_API_URL says it cannot reach
    Slack's Web API there (a connection failure is an OSError, which the run command once
    reported as a database it could not use)."""
    closed = free_port()  # nothing listens here
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": f"http://127.0.0.1:{closed}/api/",
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": "0",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
    }
    done = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "studybot"),
        "run",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(done.communicate(), timeout=60)
    said = err.decode()
    assert done.returncode == 2, said
    assert f"cannot reach Slack's Web API at http://127.0.0.1:{closed}/api/" in said
    assert "database" not in said
