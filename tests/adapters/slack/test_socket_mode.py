"""`run()`: Socket Mode with SLACK_APP_TOKEN, else HTTP mode; refusing to start without what
it needs."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp
import pytest

from adapters.settings import SlackSettings
from adapters.slack import run
from bot.app import App
from tests.adapters.slack.conftest import ALICE, Http, slack_config, slash_command
from tests.conftest import free_port
from tests.fakes.slack_api import APP_TOKEN, FakeSlack


async def test_socket_mode_connects_and_answers_a_command(app: App, fake: FakeSlack) -> None:
    """run() opens the websocket from apps.connections.open and answers `/prep help`."""
    task = asyncio.create_task(run(slack_config(fake, app_token=APP_TOKEN), app))
    try:
        await asyncio.wait_for(fake.connected.wait(), 5)
        opened = fake.of("apps.connections.open")
        assert len(opened) == 1 and opened[0].result["url"].startswith("ws://127.0.0.1:")
        form = slash_command("help", as_=ALICE, response_url=fake.response_url())
        ack = await fake.envelope("slash_commands", form)
        assert set(ack) == {"envelope_id"}  # acknowledged at once, with no payload
        reply = await fake.next_call("respond")
        assert reply.args["response_type"] == "ephemeral" and "*studybot*" in reply.text
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_refused_bot_token_stops_run(app: App, fake: FakeSlack) -> None:
    """A bot token Slack refuses fails at start with a readable message."""
    wrong = slack_config(fake, bot_token="xoxb-wrong", app_token="x")
    with pytest.raises(RuntimeError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"):
        await run(wrong, app)


async def test_http_mode_needs_the_signing_secret(app: App, fake: FakeSlack) -> None:
    """Without SLACK_APP_TOKEN, run() needs SLACK_SIGNING_SECRET and says so."""
    unsigned = slack_config(fake, signing_secret="")
    with pytest.raises(RuntimeError, match="SLACK_SIGNING_SECRET"):
        await run(unsigned, app)


async def test_without_app_token_run_serves_http(config: SlackSettings, app: App) -> None:
    """run() without SLACK_APP_TOKEN serves /slack/events on SLACK_HTTP_HOST:PORT."""
    port = free_port()  # for the bot to bind
    task = asyncio.create_task(run(config.model_copy(update={"http_port": port}), app))
    try:
        async with aiohttp.ClientSession() as session:
            http = Http(f"http://127.0.0.1:{port}/slack/events", session)
            body = json.dumps({"type": "url_verification", "challenge": "c-1"})
            async with asyncio.timeout(5):
                while True:
                    with contextlib.suppress(aiohttp.ClientConnectionError):
                        status, text = await http.post(body, "application/json")
                        break
                    await asyncio.sleep(0.05)
        assert status == 200 and json.loads(text) == {"challenge": "c-1"}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
