"""SIGTERM (`docker stop`, systemd) stops a platform run cleanly, whatever the main thread is
doing when it lands, here on Slack in HTTP mode against the fake Web API."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from tests.conftest import free_port, migrated_sqlite
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

# `studybot run` whose event loop keeps dropping objects with a slow finalizer: the main
# thread is inside a finalizer nearly all the time, so that is where the signal lands.
# Python drops an exception raised there ("Exception ignored in ..."), so a handler that
# raised KeyboardInterrupt was lost and the process ran on until killed.
CHURNING = """
import asyncio, sys, time
from adapters import cli

class Slow:
    def __del__(self):
        time.sleep(0.05)

def churn():
    Slow()
    asyncio.get_running_loop().call_later(0.001, churn)

async def settled(building, settle=cli.settled):
    app = await settle(building)
    churn()
    return app

cli.settled = settled
sys.exit(cli.main(["run"]))
"""


async def _listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError(f"studybot never listened on {port}")


async def test_sigterm_stops_a_slack_run_even_inside_a_finalizer(tmp_path: Path) -> None:
    fake = FakeSlack()
    await fake.start()
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "sigterm-test",
        "SLACK_API_URL": fake.base_url,
        "SLACK_HTTP_HOST": "127.0.0.1",
        "SLACK_HTTP_PORT": str(port),
        "DATABASE_URL": migrated_sqlite(tmp_path / "run.db"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHURNING,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _listening(port, time.monotonic() + 60)
        await asyncio.sleep(0.5)  # past start-up: the timed work runs, finalizers churn
        process.terminate()  # once, as `docker stop` does
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await fake.close()
    assert process.stderr is not None
    errors = (await process.stderr.read()).decode()
    assert "Traceback" not in errors, errors
