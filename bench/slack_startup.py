"""`studybot run` on Slack (HTTP mode) as an operator starts it, against the tests' fake
Slack Web API (tests/fakes/slack_api.py, via SLACK_API_URL): seconds from launch until its
port accepts a connection, and its resident memory once idle. Baseline: importing the
libraries Slack mode needs, and nothing else.

Discord is measured the same way in bench/discord_startup.py, against the tests' fake
Discord."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: tests/ is imported from the checkout
    sys.path.insert(0, str(ROOT))

from common import CACHING, IDLE, launch_until, starts_against  # noqa: E402

from tests.fakes.slack_api import BOT_TOKEN, FakeSlack  # noqa: E402

STUDYBOT = Path(sys.executable).parent / "studybot"
# What Slack's HTTP mode needs imported before its port opens: the floor for its start-up.
SLACK_LIBS = (
    "slack_bolt.async_app, slack_sdk.web.async_client, aiohttp, sqlalchemy.ext.asyncio, "
    "aiosqlite, pydantic, pydantic_settings, apscheduler.schedulers.asyncio"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.05)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def one_start(fake: FakeSlack, db: Path, idle: float) -> tuple[float, float]:
    """Launch, wait for the port, read the idle memory, stop: (seconds, MB)."""
    port = _free_port()
    env = {k: v for k, v in CACHING.items() if k != "STUDYBOT_HTTP_PORT"} | {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "bench-secret",
        "SLACK_API_URL": fake.base_url,
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
    }
    return await launch_until(
        [str(STUDYBOT), "run"], env, lambda: time.perf_counter() if _accepts(port) else None, idle
    )


async def measure(runs: int, idle: float = IDLE) -> dict[str, float]:
    seconds, mb, bare = await starts_against(FakeSlack(), one_start, runs, SLACK_LIBS, idle)
    return {"port_open_s": seconds, "idle_rss_mb": mb, "bare_import_s": bare}


def main(runs: int) -> None:
    r = asyncio.run(measure(runs))
    print(
        f"Slack HTTP mode: port open after {r['port_open_s']:.2f} s (median of {runs}); "
        f"bare import of its libraries {r['bare_import_s']:.2f} s; ratio "
        f"{r['port_open_s'] / r['bare_import_s']:.2f}; idle RSS {r['idle_rss_mb']:.1f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
