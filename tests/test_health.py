"""/healthz and /metrics, served by the real health server on 127.0.0.1 around a real core,
and by `run()` on Slack (HTTP mode and Socket Mode) and Discord against their fakes;
`studybot health` asks the same endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from adapters import discord as discord_adapter
from adapters import slack as slack_adapter
from adapters.cli import main
from adapters.health import HealthServer
from adapters.service import ServiceSettings
from adapters.settings import DiscordSettings
from adapters.slack import build_platform
from bot.app import App, build_app
from bot.config import Settings
from bot.ports import Platform, PlatformError
from tests.adapters.slack.conftest import slack_config, slack_settings
from tests.conftest import Chat, make_chat, mini_bank
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.slack_api import APP_TOKEN, FakeSlack, channel, user

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
LOCAL = ServiceSettings(http_host="127.0.0.1", http_port=0)
BOUND = 15.0  # seconds any wait below may take at most


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def health(port: int) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def scrape(port: int) -> Samples:
    status, content_type, text = await get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@contextlib.asynccontextmanager
async def server(chat: Chat, connection: Callable[[], Awaitable[str | None]]) -> AsyncIterator[int]:
    checks = HealthServer(chat.app, connection)
    port = await checks.start("127.0.0.1", 0)
    try:
        yield port
    finally:
        await checks.stop()


async def up() -> str | None:
    return None


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url)
    try:
        yield chat
    finally:
        await chat.app.close()


async def test_healthy_core_answers_200_and_its_metrics_count_what_happened(chat: Chat) -> None:
    """A drop, two answers and a reveal show up in /metrics; /healthz says every part is ok."""
    async with server(chat, up) as port:
        status, body = await health(port)
        assert status == 200
        assert body["status"] == "ok" and body["store"] == {"ok": True}
        assert body["platform"] == {"ok": True}
        before = await scrape(port)
        await chat.run("/drop now kind:choice", as_=chat.admin)
        drop = chat.last_post()
        await chat.choose(drop, 1, as_=chat.alice)
        await chat.choose(drop, 2, as_=chat.bob)
        await chat.run("/reveal", as_=chat.admin)
        after = await scrape(port)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("studybot_drops_total", trigger="command") == 1
    assert grew("studybot_answers_total", kind="choice", source="channel") == 2
    assert grew("studybot_reveals_total", resumed="false") == 1
    assert grew("studybot_handler_seconds_count", event="Command") == 2
    assert grew("studybot_handler_seconds_count", event="Action") == 2
    assert grew("studybot_platform_calls_total", call="post", outcome="ok") >= 2
    assert value(after, "process_resident_memory_bytes") > 0


async def test_platform_down_is_503_naming_the_platform(
    chat: Chat, capsys: pytest.CaptureFixture[str]
) -> None:
    async def down() -> str | None:
        return "the gateway connection dropped (reconnecting)"

    async with server(chat, down) as port:
        status, body = await health(port)
        asked = await asyncio.to_thread(main, ["health", "--port", str(port)])
    assert asked == 1
    assert capsys.readouterr().out == (
        "unhealthy (503); store: ok; platform: the gateway connection dropped (reconnecting)\n"
    )
    assert status == 503 and body["status"] == "unavailable"
    assert body["store"] == {"ok": True}
    assert body["platform"] == {
        "ok": False,
        "problem": "the gateway connection dropped (reconnecting)",
    }


async def test_a_broken_connection_check_is_reported_not_raised(chat: Chat) -> None:
    async def broken() -> str | None:
        raise RuntimeError("no idea")

    async with server(chat, broken) as port:
        status, body = await health(port)
    assert status == 503
    assert body["platform"]["problem"] == "could not check the connection: RuntimeError: no idea"


async def test_store_down_is_503_naming_the_store_and_counted_as_a_db_error(
    tmp_path: Path,
) -> None:
    """The SQLite file's folder is moved away under a running bot: the store part fails,
    and recovers once the folder is back."""
    folder, away = tmp_path / "data", tmp_path / "elsewhere"
    chat = await make_chat(f"sqlite+aiosqlite:///{folder / 'studybot.db'}")
    try:
        async with server(chat, up) as port:
            assert (await health(port))[0] == 200
            before = await scrape(port)
            folder.rename(away)
            await chat.app.ctx.engine.dispose()  # connections to the file as it was are gone
            status, body = await health(port)
            after = await scrape(port)
            away.rename(folder)
            assert (await health(port))[0] == 200
    finally:
        await chat.app.close()
    assert status == 503 and body["platform"] == {"ok": True}
    assert body["store"]["ok"] is False
    assert body["store"]["problem"].startswith("the database refused a query: ")
    assert "unable to open database file" in body["store"]["problem"]
    errors = value(after, "studybot_db_errors_total", error="OperationalError")
    assert errors > value(before, "studybot_db_errors_total", error="OperationalError")


async def test_scheduled_drops_record_scheduler_lag_and_failures_are_counted(chat: Chat) -> None:
    """A schedule's run is timed against when it fell due; a post the platform refuses is
    counted as a failed drop."""
    async with server(chat, up) as port:
        before = await scrape(port)
        await chat.run("/schedule add daily 10:00", as_=chat.admin)
        await chat.advance(timedelta(hours=1))  # 09:00 → 10:00: the schedule fires
        chat.platform.fail_next.append(PlatformError("channel_not_found"))
        await chat.run("/drop now", as_=chat.admin)
        after = await scrape(port)
    lagged = "studybot_scheduler_lag_seconds_count"
    assert value(after, lagged, job="schedule") - value(before, lagged, job="schedule") == 1
    # The manual clock stands still while the job runs: no lag at all.
    lag = "studybot_scheduler_lag_seconds_sum"
    assert value(after, lag, job="schedule") == value(before, lag, job="schedule")
    drops = "studybot_drops_total"
    assert value(after, drops, trigger="schedule") - value(before, drops, trigger="schedule") == 1
    failed = "studybot_failures_total"
    assert value(after, failed, what="drop") - value(before, failed, what="drop") == 1
    refused = {"call": "post", "outcome": "refused"}
    calls = "studybot_platform_calls_total"
    assert value(after, calls, **refused) - value(before, calls, **refused) == 1


# ---- run() on the platforms ---------------------------------------------------------------


class ReadyLine(logging.Handler):
    """Catches the "ready on …" line; ``port`` is the health port it names."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = asyncio.Event()
        self.line = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("ready on "):
            self.line = record.getMessage()
            self.seen.set()

    @property
    def port(self) -> int:
        found = re.search(r"health and metrics on :(\d+)$", self.line)
        assert found, self.line
        return int(found.group(1))


@pytest.fixture
def ready() -> Iterator[ReadyLine]:
    handler, logger = ReadyLine(), logging.getLogger("adapters.service")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.users = {"UADMIN": user("UADMIN", "admin", admin=True)}
    fake.channels = {"C1": channel("C1")}
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@contextlib.asynccontextmanager
async def running(work: Awaitable[None], ready: ReadyLine) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(work)
    try:
        waiting = asyncio.ensure_future(ready.seen.wait())
        await asyncio.wait({task, waiting}, timeout=BOUND, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if task.done():
            task.result()  # raises why it stopped
        assert ready.seen.is_set(), "no ready line"
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_slack_http_mode_serves_health_and_metrics_and_studybot_health_asks_it(
    tmp_path: Path, fake_slack: FakeSlack, ready: ReadyLine
) -> None:
    config = slack_config(fake_slack)
    app = await build_app(
        settings=slack_settings(tmp_path, fake_slack),
        platform=build_platform(config),
        items=mini_bank(),
    )
    try:
        async with running(slack_adapter.run(config, app, LOCAL), ready):
            assert re.fullmatch(
                r"ready on Slack \(HTTP :\d+\) as @studybot in 1 workspace, version \S+; "
                r"health and metrics on :\d+",
                ready.line,
            )
            status, body = await health(ready.port)
            assert status == 200 and body["platform"] == {"ok": True}
            assert (
                "studybot_handler_seconds"
                in (await get(f"http://127.0.0.1:{ready.port}/metrics"))[2]
            )
            asked = await asyncio.to_thread(main, ["health", "--port", str(ready.port)])
            assert asked == 0
        stopped = await asyncio.to_thread(main, ["health", "--port", str(ready.port)])
        assert stopped == 1  # nothing answers once the bot has stopped
    finally:
        await app.close()


async def test_slack_socket_mode_health_follows_the_connection(
    tmp_path: Path, fake_slack: FakeSlack, ready: ReadyLine
) -> None:
    """Connected: 200. Slack closes the websocket: 503 naming Socket Mode, until the client
    has reconnected."""
    config = slack_config(fake_slack, app_token=APP_TOKEN)
    app = await build_app(
        settings=slack_settings(tmp_path, fake_slack),
        platform=build_platform(config),
        items=mini_bank(),
    )
    try:
        async with running(slack_adapter.run(config, app, LOCAL), ready):
            assert "ready on Slack (Socket Mode) as @studybot" in ready.line
            assert (await health(ready.port))[0] == 200
            assert fake_slack.socket is not None
            await fake_slack.socket.close()
            status, body = await health(ready.port)
            assert status == 503
            assert "Socket Mode connection to Slack is down" in body["platform"]["problem"]
    finally:
        await app.close()


async def test_slack_refuses_one_port_for_both_servers(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    config = slack_config(fake_slack).model_copy(update={"http_port": 3999})
    app = await build_app(
        settings=slack_settings(tmp_path, fake_slack),
        platform=build_platform(config),
        items=mini_bank(),
    )
    try:
        same = ServiceSettings(http_host="127.0.0.1", http_port=3999)
        with pytest.raises(
            RuntimeError, match="STUDYBOT_HTTP_PORT and SLACK_HTTP_PORT are both 3999"
        ):
            await slack_adapter.run(config, app, same)
    finally:
        await app.close()


async def test_discord_serves_health_once_the_gateway_is_ready(
    tmp_path: Path, ready: ReadyLine
) -> None:
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}", sync_seconds=0)

    async def factory(platform: Platform) -> App:
        return await build_app(settings=settings, platform=platform, items=mini_bank())

    try:
        with fake.patch():
            token = DiscordSettings(token=SecretStr("fake-token"))
            async with running(discord_adapter.run(token, factory, LOCAL), ready):
                assert re.fullmatch(
                    r"ready on Discord \(gateway\) as @studybot in 1 workspace, version \S+; "
                    r"health and metrics on :\d+",
                    ready.line,
                )
                status, body = await health(ready.port)
                assert status == 200 and body == {
                    "status": "ok",
                    "store": {"ok": True},
                    "platform": {"ok": True},
                    "version": body["version"],
                }
    finally:
        await fake.close()
