"""The outbound queue: every call paced under the platform's limits, on a fake clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.chat import Card, Place
from bot.outbox import Limits, Outbox, QueueFull, background
from bot.ports import MemoryPlatform, PlatformError

CARD = Card(title="t", body="b")


class Clock:
    """Time that moves only when the queue sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Concurrent sleepers wake at their own time, not one after another: the clock
        # moves to the latest wake-up asked for, never by the sum of everyone's sleeps.
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)


class Recording(MemoryPlatform):
    """Notes when each post reached the platform, and how many were in flight at once."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(platform="memory")
        self.clock = clock
        self.at: list[tuple[float, str]] = []
        self.busy = self.most = 0

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        self.busy += 1
        self.most = max(self.most, self.busy)
        self.at.append((self.clock(), place.channel_id))
        await asyncio.sleep(0)
        self.busy -= 1
        return await super().post(place, card, key=key)


def _outbox(limits: Limits) -> tuple[Outbox, Recording, Clock]:
    clock = Clock()
    platform = Recording(clock)
    return Outbox(platform, sleep=clock.sleep, clock=clock, limits=limits), platform, clock


def _place(channel: str) -> Place:
    return Place("memory", "w", channel)


async def test_one_channel_is_paced_after_its_burst() -> None:
    outbox, platform, clock = _outbox(Limits(per_second=100, per_channel=1.0, burst=2))
    await asyncio.gather(*(outbox.post(_place("c1"), CARD) for _ in range(10)))
    times = sorted(t for t, _ in platform.at)
    assert len(times) == 10
    assert times[1] < 0.1 and times[2] >= 0.9  # a burst of two, then one a second
    assert clock.now >= 7.9


async def test_many_channels_share_the_global_rate() -> None:
    outbox, platform, clock = _outbox(Limits(per_second=50, per_channel=1.0, burst=5))
    await asyncio.gather(*(outbox.post(_place(f"c{i}"), CARD) for i in range(200)))
    assert len(platform.at) == 200
    assert 3.9 <= clock.now <= 4.1  # 50 a second, evenly: about 4 s for 200
    per_second: dict[int, int] = {}
    for t, _ in platform.at:
        per_second[int(t)] = per_second.get(int(t), 0) + 1
    assert max(per_second.values()) <= 51


async def test_retry_after_pauses_that_channel_then_the_post_lands_once() -> None:
    outbox, platform, clock = _outbox(Limits(per_second=50, per_channel=10.0, burst=10))
    platform.fail_next.append(PlatformError("rate limited", retry_after=3.0))
    message = await outbox.post(_place("c1"), CARD, key="drop:1")
    assert clock.now >= 3.0 and len(platform.messages) == 1 and message in platform.messages


async def test_background_calls_wait_while_others_wait() -> None:
    outbox, platform, _clock = _outbox(Limits(per_second=1, per_channel=100, burst=100))

    async def digest() -> None:
        with background():
            await outbox.post(_place("digest"), CARD)

    await asyncio.gather(*(outbox.post(_place(f"c{i}"), CARD) for i in range(4)), digest())
    order = [channel for _, channel in platform.at]  # in the order they reached the platform
    assert order[-1] == "digest"


async def test_a_full_queue_refuses_a_call_clearly(caplog: pytest.LogCaptureFixture) -> None:
    outbox, platform, _clock = _outbox(Limits(per_second=1, per_channel=1, burst=1, queue=3))
    caplog.set_level(logging.ERROR)
    results = await asyncio.gather(
        *(outbox.post(_place("c1"), CARD) for _ in range(6)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, QueueFull)]
    assert refused and all(r.retry_after for r in refused)  # the caller may try again later
    assert len(platform.messages) == len(results) - len(refused)
    assert "outbound queue full" in caplog.text


async def test_calls_in_flight_are_bounded() -> None:
    outbox, platform, _clock = _outbox(
        Limits(per_second=1000, per_channel=1000, burst=1000, in_flight=3)
    )
    await asyncio.gather(*(outbox.post(_place(f"c{i}"), CARD) for i in range(30)))
    assert platform.most <= 3 and len(platform.at) == 30


class Strict(Recording):
    """Allows ``allowed`` posts per second of the fake clock; above it, 429 Retry-After."""

    def __init__(self, clock: Clock, allowed: int) -> None:
        super().__init__(clock)
        self.allowed = allowed
        self.refused = 0

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        second = int(self.clock())
        if sum(1 for t, _ in self.at if int(t) == second) >= self.allowed:
            self.refused += 1
            raise PlatformError("429", retry_after=second + 1 - self.clock())
        return await super().post(place, card, key=key)


async def test_an_overloaded_platform_slows_the_queue_and_every_post_lands_once() -> None:
    """The platform allows a fifth of what the queue was told: after the first 429s the
    queue halves its pace until they stop, and every post lands exactly once."""
    clock = Clock()
    platform = Strict(clock, allowed=10)
    outbox = Outbox(
        platform,
        sleep=clock.sleep,
        clock=clock,
        attempts=10,
        limits=Limits(per_second=50, per_channel=1.0, burst=5),
    )
    await asyncio.gather(*(outbox.post(_place(f"c{i}"), CARD, key=f"drop:{i}") for i in range(200)))
    assert len(platform.messages) == 200
    assert platform.refused <= 0.1 * (200 + platform.refused)
