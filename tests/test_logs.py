"""Log lines: one per drop, reveal and failure; text or JSON; never a token or an answer's
text, at INFO (a platform's default) or DEBUG, through the real Slack app and the core."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from adapters.cli import _logging, main, parser
from adapters.service import Redactor, configure_logging
from adapters.slack import SlackBot, build_platform
from bot.app import build_app
from bot.chat import FormSubmit, Reply
from bot.config import Settings
from bot.context import Context
from bot.features import FEATURES
from bot.handlers import Feature
from bot.registry import Registry
from tests.adapters.slack.conftest import (
    ADMIN,
    ALICE,
    BOB,
    SECRET,
    Http,
    SlackChat,
    shown_letter,
    slack_config,
    slack_settings,
)
from tests.conftest import make_chat, member, mini_bank
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, channel, user

ANSWER = "Variance dominates here; zebra-7719 is the mark of this member's private answer"
MARK = "zebra-7719"
DISCORD_SHAPED = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Where configure_logging sends lines in a test; logging is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield io.StringIO()
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    names = {ADMIN: "admin", ALICE: "alice", BOB: "bob"}
    fake.users = {uid: user(uid, name, admin=uid == ADMIN) for uid, name in names.items()}
    fake.channels = {"C1": channel("C1")}
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


async def slack_session(tmp_path: Path, fake: FakeSlack) -> None:
    """An admin drops an open and a multiple-choice question; members answer (one in a
    modal, with ANSWER); both are revealed; one reveal's first post is refused by Slack."""
    config = slack_config(fake)
    app = await build_app(
        settings=slack_settings(tmp_path, fake), platform=build_platform(config), items=mini_bank()
    )
    bot = SlackBot(config, app)
    try:
        port = await bot.start_http("127.0.0.1", 0)
        async with aiohttp.ClientSession() as session:
            slack = SlackChat(fake, bot, Http(f"http://127.0.0.1:{port}/slack/events", session))
            await slack.command("drop now kind:open", as_=ADMIN)
            await bot.idle()
            drop = await fake.next_call("chat.postMessage")
            await slack.press(drop, "Answer", as_=ALICE)
            await slack.submit(await fake.next_call("views.open"), ANSWER, as_=ALICE)
            await bot.idle()
            await slack.command("reveal", as_=ADMIN)
            await bot.idle()  # each command's work goes on after Slack's ack
            await slack.command("drop now kind:choice", as_=ADMIN)
            choice = await fake.next_call("chat.postMessage")
            while "drop:2:" not in json.dumps(choice.buttons):  # the open reveal's posts
                choice = await fake.next_call("chat.postMessage")
            await slack.press(choice, shown_letter(choice, 2), as_=BOB)
            await bot.idle()
            refused = {"ok": False, "error": "channel_not_found"}
            fake.failures["chat.postMessage"].append((200, {}, refused))
            await slack.command("reveal", as_=ADMIN)  # refused: the drop stays open
            await bot.idle()
            await slack.command("reveal", as_=ADMIN)
            await bot.idle()
    finally:
        await bot.stop()
        await app.close()


@pytest.mark.parametrize(("level", "log_format"), [("INFO", "text"), ("DEBUG", "json")])
async def test_a_slack_session_logs_each_drop_reveal_and_failure_never_a_secret(
    tmp_path: Path, fake: FakeSlack, logs: io.StringIO, level: str, log_format: str
) -> None:
    configure_logging(level, log_format, secrets=[BOT_TOKEN, SECRET], stream=logs)
    await slack_session(tmp_path, fake)
    text = logs.getvalue()
    assert MARK not in text and ANSWER not in text
    assert BOT_TOKEN not in text and SECRET not in text
    lines = text.splitlines()
    if log_format == "json":
        entries = [json.loads(line) for line in lines]  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= set(entries[0])
        messages = [e["message"] for e in entries if e["logger"] == "bot.activity"]
    else:
        messages = [
            line.split(" bot.activity: ", 1)[1] for line in lines if " bot.activity: " in line
        ]
    assert messages == [
        "drop #1 posted in slack:T1/C1 (command)",
        "drop #1 revealed in slack:T1/C1 (1 answers)",
        "drop #2 posted in slack:T1/C1 (command)",
        "reveal of drop #2 failed in slack:T1/C1: studybot is not in this channel: add it "
        "from the channel's details (Integrations)",
        "drop #2 revealed in slack:T1/C1 (1 answers)",
    ]


async def test_an_unexpected_failure_is_logged_without_what_the_member_typed(
    database_url: str, logs: io.StringIO
) -> None:
    """A form whose handler fails: the log names the form, its fields and who sent it, with
    the traceback; the values typed into it stay out."""

    async def broken(_ctx: Context, _submit: FormSubmit) -> Reply:
        raise RuntimeError("the handler broke")

    features = Registry.of([*FEATURES, Feature("broken", forms={"broken": broken})])
    chat = await make_chat(database_url, features=features)
    configure_logging("INFO", "text", stream=logs)
    try:
        alice = member("Alice")
        reply = await chat.app.handle(FormSubmit(alice, chat.place, "broken:1", {"answer": ANSWER}))
    finally:
        await chat.app.close()
    assert reply is not None and reply.card is not None and "ref " in reply.card.body
    text = logs.getvalue()
    assert MARK not in text
    assert "handling form broken:1 (answer) by alice in memory:w1/c1" in text
    assert "RuntimeError: the handler broke" in text  # the traceback is kept


def test_redactor_hides_configured_secrets_token_shapes_and_url_passwords() -> None:
    redact = Redactor(["s3cret-signing-value", "abc"])  # too short to hide safely: kept
    line = (
        "token xoxb-1234-5678-abcdef app xapp-1-A0-123-abc discord "
        f"{DISCORD_SHAPED} secret s3cret-signing-value "
        "url postgresql+asyncpg://studybot:hunter2@db:5432/studybot abc"
    )
    assert redact(line) == (
        "token [hidden] app [hidden] discord [hidden] secret [hidden] "
        "url postgresql+asyncpg://studybot:[hidden]@db:5432/studybot abc"
    )


def test_json_lines_carry_the_exception_redacted(logs: io.StringIO) -> None:
    configure_logging("INFO", "json", secrets=["very-secret-token"], stream=logs)
    try:
        raise ValueError("refused very-secret-token")
    except ValueError:
        logging.getLogger("bot.activity").exception("call failed for %s", "xoxb-9-9-z")
    entry = json.loads(logs.getvalue())
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.activity"
    assert entry["message"] == "call failed for [hidden]"
    assert "ValueError: refused [hidden]" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_libraries_stay_quiet_at_info_and_sql_stays_out_even_at_debug(
    logs: io.StringIO,
) -> None:
    def say_everything() -> None:
        for name in ("bot.core", "slack_sdk.web", "discord.gateway", "sqlalchemy.engine"):
            logging.getLogger(name).info("%s info", name)
            logging.getLogger(name).debug("%s debug", name)

    configure_logging("INFO", "text", stream=logs)
    say_everything()
    assert logs.getvalue().splitlines() == ["INFO bot.core: bot.core info"]
    configure_logging("DEBUG", "text", stream=logs)
    logs.truncate(0)
    logs.seek(0)
    say_everything()
    assert logs.getvalue().splitlines() == [
        "INFO bot.core: bot.core info",
        "DEBUG bot.core: bot.core debug",
        "INFO slack_sdk.web: slack_sdk.web info",  # never their DEBUG: request payloads
        "INFO discord.gateway: discord.gateway info",
    ]  # and never SQLAlchemy's INFO: statements with their parameters


def test_a_log_format_that_is_neither_text_nor_json_stops_studybot(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], logs: io.StringIO
) -> None:
    monkeypatch.setenv("STUDYBOT_LOG_FORMAT", "xml")
    assert main(["questions", "validate"]) == 2
    err = capsys.readouterr().err
    assert "STUDYBOT_LOG_FORMAT is 'xml'; use text" in err and "or json" in err


@pytest.mark.parametrize(
    ("argv", "env", "level"),
    [
        (["run"], {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, logging.INFO),  # a platform: INFO
        (["run"], {"DISCORD_TOKEN": "abc"}, logging.INFO),
        (["run"], {}, logging.WARNING),  # the console stays quiet
        (["run", "--console"], {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, logging.WARNING),
        (["migrate"], {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}, logging.WARNING),
        (["run"], {"SLACK_BOT_TOKEN": "x", "STUDYBOT_LOG_LEVEL": "error"}, logging.ERROR),
        (["run"], {"STUDYBOT_LOG_LEVEL": "debug"}, logging.DEBUG),
    ],
)
def test_the_default_level_is_info_on_a_platform_and_warning_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
    logs: io.StringIO,
    argv: list[str],
    env: dict[str, str],
    level: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _logging(parser().parse_args(argv), Settings())
    assert logging.getLogger().level == level
