"""Timed work runs on a bounded set of workers (bot/scheduler.py): a thousand schedules due
at the same minute queue for FIRE_WORKERS slots instead of all running at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from apscheduler.triggers.date import DateTrigger

from bot.ports import SystemClock
from bot.scheduler import FIRE_WORKERS, APSchedulerDriver


async def test_jobs_due_together_take_turns_for_the_workers() -> None:
    clock = SystemClock()
    driver = APSchedulerDriver(clock, grace=timedelta(minutes=5))
    running = peak = done = 0
    finished = asyncio.Event()
    jobs = FIRE_WORKERS * 5

    async def job(_due: object) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        done += 1
        if done == jobs:
            finished.set()

    at = clock.now() + timedelta(milliseconds=200)
    for n in range(jobs):
        driver.put(f"job-{n}", DateTrigger(at), job)
    driver.start()
    try:
        await asyncio.wait_for(finished.wait(), 10)
    finally:
        driver.shutdown()
    assert done == jobs and peak == FIRE_WORKERS
