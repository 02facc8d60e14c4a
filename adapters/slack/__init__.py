"""The Slack adapter: a bolt AsyncApp in Socket Mode or HTTP mode, Block Kit rendering.

Wiring (the CLI does this)::

    slack = SlackSettings()
    app = await build_app(settings=settings, platform=build_platform(slack))
    try:
        await run(slack, app)  # until cancelled
    finally:
        await app.close()

With STUDYBOT_HTTP_PORT set, ``run`` also serves ``/healthz`` and ``/metrics`` there.
"""

from __future__ import annotations

import asyncio

from adapters import health
from adapters.service import ServiceSettings, announce_ready
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


async def run(settings: SlackSettings, app: App, service: ServiceSettings | None = None) -> None:
    """Serve Slack until cancelled: Socket Mode when SLACK_APP_TOKEN is set, else HTTP
    on SLACK_HTTP_HOST:SLACK_HTTP_PORT at /slack/events. Starts the core's timed work
    (scheduled drops and reveals) once connected; ``app.close()`` stops it. With
    STUDYBOT_HTTP_PORT (``service``), health and metrics are served from the start."""
    service = service or ServiceSettings()
    if missing := missing_settings(settings):
        raise RuntimeError(f"Slack needs {' and '.join(missing)} to run")
    socket_mode = bool(settings.app_token.get_secret_value())
    if not socket_mode and service.http_port and service.http_port == settings.http_port:
        raise RuntimeError(
            f"STUDYBOT_HTTP_PORT and SLACK_HTTP_PORT are both {service.http_port}; give the "
            "health server a port of its own (e.g. STUDYBOT_HTTP_PORT=8080)"
        )
    bot, connected = SlackBot(settings, app), asyncio.Event()
    checks = await health.serve(
        app, lambda: _connection_problem(bot, connected), service.http_host, service.http_port
    )
    try:
        await bot.check()
        if socket_mode:
            await bot.start_socket_mode()
            mode = "Socket Mode"
        else:
            mode = f"HTTP :{await bot.start_http(settings.http_host, settings.http_port)}"
        await app.start()
        connected.set()
        me = await bot.client.auth_test()
        port = checks.port if checks else None
        announce_ready("Slack", mode, user=str(me.get("user")), workspaces=1, health_port=port)
        await asyncio.Event().wait()
    finally:
        await bot.stop()
        if checks is not None:
            await checks.stop()


async def _connection_problem(bot: SlackBot, connected: asyncio.Event) -> str | None:
    """None while studybot is connected to Slack, else what is wrong (for /healthz)."""
    if not connected.is_set():
        return "not connected to Slack yet (starting up)"
    socket = bot._socket
    if socket is not None and not await socket.client.is_connected():
        return "the Socket Mode connection to Slack is down (reconnecting)"
    return None
