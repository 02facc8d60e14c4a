"""`studybot run` on Discord as an operator starts it, against the tests' fake Discord
(tests/fakes/discord_fake.py): seconds from launch until the client opens its gateway
connection (its connect attempt), and its resident memory once idle. Baseline: importing
the libraries Discord mode needs, and nothing else.

discord.py's addresses cannot be set from the environment, so the process is started by a
short wrapper that calls the same ``main()`` as `studybot run`, and points
``discord.http.Route.BASE`` and the gateway at the fake (as the tests' ``FakeDiscord.patch``
does) once Discord mode starts, just before it would connect."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: tests/ is imported from the checkout
    sys.path.insert(0, str(ROOT))

from common import CACHING, IDLE, launch_until, starts_against  # noqa: E402

from tests.fakes.discord_fake import API, FakeDiscord  # noqa: E402

TOKEN = "bench-token"
# What Discord mode needs imported before it connects: the floor for its start-up.
DISCORD_LIBS = (
    "discord, aiohttp, sqlalchemy.ext.asyncio, aiosqlite, pydantic, pydantic_settings, "
    "apscheduler.schedulers.asyncio"
)
# discord is imported where `studybot run` imports it (when Discord mode starts), not ahead
# of main(): imported first, it loaded outside the run's own start-up conditions.
WRAPPER = """
import sys
from adapters import cli

def at_the_fake(run):
    async def patched(settings):
        import discord, yarl
        discord.http.Route.BASE = sys.argv[1]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv[2])
        return await run(settings)
    return patched

cli._run_discord = at_the_fake(cli._run_discord)
sys.exit(cli.main(["run"]))
"""


class Watched(FakeDiscord):
    """The fake, noting when each gateway connection is opened."""

    def __init__(self) -> None:
        super().__init__()
        self.connects: list[float] = []

    async def _gateway(self, request: Any) -> Any:
        self.connects.append(time.perf_counter())
        return await super()._gateway(request)


async def one_start(fake: Watched, db: Path, idle: float) -> tuple[float, float]:
    """Launch, wait for the gateway connection, read the idle memory, stop: (seconds, MB)."""
    env = {k: v for k, v in CACHING.items() if not k.startswith(("DISCORD_", "SLACK_"))} | {
        "DISCORD_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
    }
    base = f"http://127.0.0.1:{fake.port}{API}"
    gateway = f"ws://127.0.0.1:{fake.port}/"
    before = len(fake.connects)
    return await launch_until(
        [sys.executable, "-c", WRAPPER, base, gateway],
        env,
        lambda: fake.connects[before] if len(fake.connects) > before else None,
        idle,
    )


async def measure(runs: int, idle: float = IDLE) -> dict[str, float]:
    seconds, mb, bare = await starts_against(Watched(), one_start, runs, DISCORD_LIBS, idle)
    return {"connect_s": seconds, "idle_rss_mb": mb, "bare_import_s": bare}


def main(runs: int) -> None:
    r = asyncio.run(measure(runs))
    print(
        f"Discord: gateway connect attempt after {r['connect_s']:.2f} s (median of {runs}); "
        f"bare import of its libraries {r['bare_import_s']:.2f} s; ratio "
        f"{r['connect_s'] / r['bare_import_s']:.2f}; idle RSS {r['idle_rss_mb']:.1f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    main(parser.parse_args().runs)
