"""The health and metrics server every platform mode starts on STUDYBOT_HTTP_PORT.

``GET /healthz`` answers 200 when the store answers a query and the platform connection is
up, else 503; its JSON body says which part failed and why. ``GET /metrics`` is the
Prometheus text exposition of ``bot.metrics``. aiohttp comes with both platforms' extras
(discord.py and slack-bolt's HTTP mode both use it); the console starts no server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from adapters.service import version
from bot import metrics
from bot.app import App

# aiohttp's server side is imported when a port is configured (STUDYBOT_HTTP_PORT), and the
# Prometheus client when first scraped: neither on the way to a platform's first connection.
if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
STORE_TIMEOUT = 5.0  # seconds the store has to answer SELECT 1 before it counts as down
# What the platform check says: None when the connection is up, else what is wrong.
ConnectionCheck = Callable[[], Awaitable[str | None]]


class HealthServer:
    """``/healthz`` and ``/metrics`` for one running bot: ``app`` (its store) and
    ``connection`` (the adapter's word on its platform connection)."""

    def __init__(self, app: App, connection: ConnectionCheck) -> None:
        self.app = app
        self.connection = connection
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        metrics.watch_engine(app.ctx.engine)

    def web_app(self) -> web.Application:
        from aiohttp import web

        web_app = web.Application()
        web_app.router.add_get(HEALTH_PATH, self.healthz)
        web_app.router.add_get(METRICS_PATH, self.metrics)
        return web_app

    async def start(self, host: str, port: int) -> int:
        """Serve on ``host:port`` (0: any free port); returns the port bound."""
        from aiohttp import web

        # No access log: a probe every few seconds would bury the lines that matter.
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise RuntimeError(
                f"the health server cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "choose a free port with STUDYBOT_HTTP_PORT, or unset it to run without one"
            ) from exc
        self.port = bound = int(self._runner.addresses[0][1])
        log.info("health and metrics on %s:%d (%s, %s)", host, bound, HEALTH_PATH, METRICS_PATH)
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def healthz(self, _request: web.Request) -> web.Response:
        from aiohttp import web

        store, platform = await asyncio.gather(self._store_problem(), self._platform_problem())
        body = {
            "status": "ok" if store is None and platform is None else "unavailable",
            "store": _part(store),
            "platform": _part(platform),
            "version": version(),
        }
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    async def metrics(self, _request: web.Request) -> web.Response:
        from aiohttp import web
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return web.Response(
            body=generate_latest(metrics.registry()), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _store_problem(self) -> str | None:
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                async with self.app.ctx.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except TimeoutError:
            return f"the database did not answer within {STORE_TIMEOUT:g} s"
        except (SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
            return f"the database refused a query: {reason}"
        return None

    async def _platform_problem(self) -> str | None:
        try:
            return await self.connection()
        except Exception as exc:  # a broken check is itself a failure to report, not a crash
            return f"could not check the connection: {type(exc).__name__}: {exc}"


def _part(problem: str | None) -> dict[str, object]:
    return {"ok": True} if problem is None else {"ok": False, "problem": problem}


async def serve(
    app: App, connection: ConnectionCheck, host: str, port: int | None
) -> HealthServer | None:
    """Start the health server on ``host:port``, or nothing when no port is configured."""
    if port is None:
        return None
    server = HealthServer(app, connection)
    await server.start(host, port)
    return server
