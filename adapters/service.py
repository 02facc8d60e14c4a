"""Running studybot as a service: its settings, its logs, and the line that says it is ready.

Standard library and pydantic only, so the command line can set logging up before it knows
which platform runs (the health server, which needs aiohttp, is ``adapters.http``).

Logs are plain lines (``LEVEL logger: message``) or, with ``STUDYBOT_LOG_FORMAT=json``, one
JSON object a line for log shippers. Either way every line passes through ``Redactor``, which
hides the configured tokens and secrets, anything shaped like a Slack or Discord token, and
the password of a database URL, wherever they appear (a message, an exception's text).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from pydantic import Field

from bot.config import EnvSettings, env

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Libraries speak at WARNING and above: at INFO they chatter (a line per request, job run or
# gateway event). With STUDYBOT_LOG_LEVEL=DEBUG they say INFO too, never their DEBUG, which
# holds request and gateway payloads (members' answers) and, for the database drivers, SQL
# with its parameters; SQLAlchemy's INFO is already that, so it stays at WARNING.
LIBRARIES = (
    "studybot",  # slack-bolt's logger for the app, named after it (AsyncApp(name="studybot"))
    "aiohttp",
    "aiosqlite",
    "alembic",
    "apscheduler",
    "asyncio",
    "asyncpg",
    "discord",
    "slack_bolt",
    "slack_sdk",
    "urllib3",
)
ALWAYS_QUIET = ("sqlalchemy",)
HIDDEN = "[hidden]"
HANDLER_NAME = "studybot"
TOKEN_SHAPES = re.compile(
    r"xox[abposre]-[0-9A-Za-z-]+"  # Slack bot, user and refresh tokens
    r"|xapp-[0-9A-Za-z-]+"  # Slack app-level tokens
    r"|[A-Za-z\d_-]{24,28}\.[A-Za-z\d_-]{6,7}\.[A-Za-z\d_-]{27,40}"  # Discord bot tokens
)
URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+(@)", re.IGNORECASE)

log = logging.getLogger(__name__)


class ServiceSettings(EnvSettings):
    """STUDYBOT_HTTP_PORT (health and metrics; unset: no server), STUDYBOT_HTTP_HOST,
    STUDYBOT_LOG_FORMAT (text or json)."""

    http_port: int | None = Field(None, ge=0, le=65535, validation_alias=env("STUDYBOT_HTTP_PORT"))
    http_host: str = Field("0.0.0.0", validation_alias=env("STUDYBOT_HTTP_HOST"))
    log_format: str = Field("text", validation_alias=env("STUDYBOT_LOG_FORMAT"))


class Redactor:
    """Hides secrets in a log line: the exact values given, and token-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is hidden whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, HIDDEN)
        text = TOKEN_SHAPES.sub(HIDDEN, text)
        return URL_PASSWORD.sub(rf"\g<1>{HIDDEN}\g<2>", text)


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, and the
    exception's traceback when there is one."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self.redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


class LibraryFilter(logging.Filter):
    """Keeps the libraries' lines to WARNING and above (INFO and above when studybot logs at
    DEBUG; SQLAlchemy's always WARNING): see LIBRARIES. A filter on studybot's handler, so
    the loggers themselves are left as they are."""

    def __init__(self, level: str) -> None:
        super().__init__()
        self.floor = logging.INFO if level == "DEBUG" else logging.WARNING

    def filter(self, record: logging.LogRecord) -> bool:
        top = record.name.split(".", 1)[0].split(":", 1)[0]
        if top in ALWAYS_QUIET:
            return record.levelno >= logging.WARNING
        return top not in LIBRARIES or record.levelno >= self.floor


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return None


def configure_logging(
    level: str, log_format: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send log lines at ``level`` and above to ``stream`` (default: standard error) in
    ``log_format`` (text or json), secrets hidden, the libraries kept quiet (LibraryFilter).
    Replaces the handler an earlier call installed; returns the new one."""
    redact = Redactor(secrets)
    handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redact) if log_format == "json" else TextFormatter(redact))
    handler.addFilter(LibraryFilter(level))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("studybot")
    except PackageNotFoundError:
        return "unknown"


def announce_ready(
    platform: str, mode: str, *, user: str, workspaces: int, health_port: int | None
) -> None:
    """The one line that says studybot is up, e.g. ``ready on Slack (HTTP :3000) as
    @studybot in 1 workspace, version 0.1.0; health and metrics on :8080``."""
    plural = "" if workspaces == 1 else "s"
    health = f"; health and metrics on :{health_port}" if health_port is not None else ""
    log.info(
        "ready on %s (%s) as @%s in %d workspace%s, version %s%s",
        platform,
        mode,
        user,
        workspaces,
        plural,
        version(),
        health,
    )
