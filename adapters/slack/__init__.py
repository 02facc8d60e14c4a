"""The Slack adapter: a bolt AsyncApp in Socket Mode or HTTP mode, Block Kit rendering.

Wiring (the CLI does this)::

    app = await build_app(settings=settings, platform=build_platform(settings))
    try:
        await run(settings, app)  # until cancelled
    finally:
        await app.close()
"""

from __future__ import annotations

import asyncio

from adapters.slack.listeners import EVENTS_PATH, SlackBot
from adapters.slack.platform import SlackPlatform, build_platform, make_client
from bot.app import App
from bot.config import Settings

__all__ = ["EVENTS_PATH", "SlackBot", "SlackPlatform", "build_platform", "make_client", "run"]


def missing_settings(settings: Settings) -> list[str]:
    """The environment variables this mode still needs, if any."""
    needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    if not settings.slack_app_token:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    return [name for name, value in needed.items() if not value]


async def run(settings: Settings, app: App) -> None:
    """Serve Slack until cancelled: Socket Mode when SLACK_APP_TOKEN is set, else HTTP
    on SLACK_HTTP_HOST:SLACK_HTTP_PORT at /slack/events. Starts the core's timed work
    (scheduled drops and reveals) once connected; ``app.close()`` stops it."""
    if missing := missing_settings(settings):
        raise RuntimeError(f"Slack needs {' and '.join(missing)} to run")
    bot = SlackBot(settings, app)
    await bot.check()
    try:
        if settings.slack_app_token:
            await bot.start_socket_mode()
        else:
            await bot.start_http(settings.slack_http_host, settings.slack_http_port)
        await app.start()
        await asyncio.Event().wait()
    finally:
        await bot.stop()
