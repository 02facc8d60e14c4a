"""The Slack adapter: a bolt AsyncApp in Socket Mode or HTTP mode, Block Kit rendering.

Wiring (the CLI does this)::

    slack = SlackSettings()
    app = await build_app(settings=settings, platform=build_platform(slack))
    try:
        await run(slack, app)  # until cancelled
    finally:
        await app.close()
"""

from __future__ import annotations

import asyncio

from adapters.settings import SlackSettings
from adapters.slack.listeners import EVENTS_PATH, SlackBot
from adapters.slack.platform import SlackPlatform, build_platform, make_client
from bot.app import App

__all__ = [
    "EVENTS_PATH",
    "SlackBot",
    "SlackPlatform",
    "SlackSettings",
    "build_platform",
    "make_client",
    "run",
]


def missing_settings(settings: SlackSettings) -> list[str]:
    """The environment variables this mode still needs, if any."""
    needed = {"SLACK_BOT_TOKEN": settings.bot_token}
    if not settings.app_token.get_secret_value():
        needed["SLACK_SIGNING_SECRET"] = settings.signing_secret
    return [name for name, value in needed.items() if not value.get_secret_value()]


async def run(settings: SlackSettings, app: App) -> None:
    """Serve Slack until cancelled: Socket Mode when SLACK_APP_TOKEN is set, else HTTP
    on SLACK_HTTP_HOST:SLACK_HTTP_PORT at /slack/events. Starts the core's timed work
    (scheduled drops and reveals) once connected; ``app.close()`` stops it."""
    if missing := missing_settings(settings):
        raise RuntimeError(f"Slack needs {' and '.join(missing)} to run")
    bot = SlackBot(settings, app)
    await bot.check()
    try:
        if settings.app_token.get_secret_value():
            await bot.start_socket_mode()
        else:
            await bot.start_http(settings.http_host, settings.http_port)
        await app.start()
        await asyncio.Event().wait()
    finally:
        await bot.stop()
