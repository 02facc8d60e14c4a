"""What the benchmarks share: an app on its own SQLite file, the bare INSERT of one answer
row that serves as the answer benchmarks' baseline, percentiles, and timing a process to
the line that says it is ready."""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.app import App, build_app
from bot.config import Settings
from bot.ports import MemoryPlatform
from bot.store.schema import answers
from questions.loader import load_file

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"


async def bench_app(name: str = "bench") -> tuple[App, MemoryPlatform]:
    """A fresh app, built through the real bootstrap, on its own SQLite file."""
    platform = MemoryPlatform()
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/{name}.db"),
        platform=platform,
        rng=random.Random(1),
        items=load_file(MINI_BANK),
    )
    return app, platform


async def bare_answer(app: App, drop_id: int, user_id: str) -> None:
    """The baseline: one answer row in its own write transaction, nothing else."""
    async with app.ctx.engine.begin() as conn:
        await conn.execute(
            answers.insert().values(
                platform="memory",
                workspace_id="w",
                drop_id=drop_id,
                user_id=user_id,
                question_id="x",
                option_index=0,
                correct=False,
                answered_at=app.ctx.clock.now(),
            )
        )


def pct_ms(seconds: Sequence[float], q: float) -> float:
    """The ``q`` quantile of durations in seconds, in milliseconds (nan when empty)."""
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


# Python caches each module's compiled bytecode on its first import, and pip did so for the
# libraries at install; a machine with PYTHONDONTWRITEBYTECODE set would have our own code
# compiled again on every start while the libraries' stays cached. Start-up benchmarks run
# with this environment, and a warm-up run caches ours as any first run does (a wheel
# install, as in the Docker image, ships it).
CACHING = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def seconds_to(command: list[str], marker: bytes, env: dict[str, str] | None = None) -> float:
    """Seconds from launching ``command`` (its input empty) to its first line holding
    ``marker``; the process then finishes unhurried."""
    start = time.perf_counter()
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env or CACHING
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if marker in line:
                seen = time.perf_counter() - start
                break
        else:
            raise RuntimeError(f"{command[0]} never printed {marker!r}")
        proc.stdout.read()
    return seen
