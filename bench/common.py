"""What the benchmarks share: an app on its own SQLite file, the bare INSERT of one answer
row that serves as the answer benchmarks' baseline, percentiles, and timing a process to
the line that says it is ready, or to a platform mode being ready, with its idle memory."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from adapters.cli import settled
from bot.app import App, build_app
from bot.config import Settings
from bot.ports import MemoryPlatform
from bot.store.schema import answers
from questions.loader import load_file

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"


async def bench_app(name: str = "bench") -> tuple[App, MemoryPlatform]:
    """A fresh app, built through the real bootstrap, on its own SQLite file, and settled as
    `studybot run` settles it: what exists once it is built is frozen out of the garbage
    collector's reach (here that includes what earlier steps left behind)."""
    platform = MemoryPlatform()
    app = await settled(
        build_app(
            settings=Settings(database_url=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/{name}.db"),
            platform=platform,
            rng=random.Random(1),
            items=load_file(MINI_BANK),
        )
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


def bare_import(libraries: str) -> list[str]:
    """A process that imports ``libraries`` and prints ``ready`` once done: a mode's floor
    for its start-up, timed with ``seconds_to(..., b"ready")`` (teardown not counted)."""
    return [sys.executable, "-c", f"import {libraries}; print('ready', flush=True)"]


def import_seconds(libraries: str, runs: int) -> float:
    """Median seconds from launch until a bare import of ``libraries`` is done."""
    return statistics.median(seconds_to(bare_import(libraries), b"ready") for _ in range(runs))


READY_LIMIT = 60.0  # seconds a launched process may take to be ready, or to stop
IDLE = 2.0  # seconds after a platform mode is ready before its idle memory is read


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def launch_until(
    command: Sequence[str],
    env: dict[str, str],
    ready: Callable[[], float | None],
    idle: float = IDLE,
) -> tuple[float, float]:
    """Launch ``command`` and poll ``ready`` (the perf_counter moment the process was seen
    ready, or None); then read its memory ``idle`` seconds later and stop it: (seconds, MB).
    A process that exits first stops the benchmark: there is nothing to measure."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while (seen := ready()) is None:
            if proc.returncode is not None:
                raise RuntimeError(f"{command[0]} exited with {proc.returncode}")
            if time.perf_counter() - start > READY_LIMIT:
                raise RuntimeError(f"{command[0]} was not ready after {READY_LIMIT:g} s")
            await asyncio.sleep(0.005)
        await asyncio.sleep(idle)
        return seen - start, _rss_mb(proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), READY_LIMIT)
        except TimeoutError:  # a stop that hangs is reported, not waited on for ever
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"{command[0]} did not stop within {READY_LIMIT:g} s") from None


async def median_starts(
    one_start: Callable[[float], Awaitable[tuple[float, float]]],
    runs: int,
    libraries: str,
    idle: float = IDLE,
) -> tuple[float, float, float]:
    """One untimed start (it makes the store and caches bytecode), then ``runs`` timed ones,
    each given ``idle`` seconds before its memory is read: the median seconds to ready, the
    median idle MB, and the libraries' bare import."""
    await one_start(0.0)
    samples = [await one_start(idle) for _ in range(runs)]
    return (
        statistics.median(s for s, _ in samples),
        statistics.median(m for _, m in samples),
        await asyncio.to_thread(import_seconds, libraries, runs),
    )


class Fake(Protocol):
    """A platform fake the start-up benchmarks launch studybot against."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


F = TypeVar("F", bound=Fake)


async def starts_against(
    fake: F,
    one_start: Callable[[F, Path, float], Awaitable[tuple[float, float]]],
    runs: int,
    libraries: str,
    idle: float = IDLE,
) -> tuple[float, float, float]:
    """``median_starts`` of ``one_start`` against ``fake``, started for the run and closed
    after, on one fresh store: (median seconds to ready, median idle MB, bare import)."""
    await fake.start()
    db = Path(tempfile.mkdtemp()) / "startup.db"
    try:
        return await median_starts(
            lambda idle_s: one_start(fake, db, idle_s), runs, libraries, idle
        )
    finally:
        await fake.close()
