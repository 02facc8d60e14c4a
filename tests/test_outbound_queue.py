"""The outbound queue: every call paced under the platform's limits, on a fake clock."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.chat import Card, Place
from bot.outbox import Limits, Outbox, QueueFull, background
from bot.ports import MemoryPlatform, PlatformError
from tests.conftest import until

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


class CountingClock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        await super().sleep(seconds)


async def test_each_token_wakes_one_sleeper_not_every_waiting_call() -> None:
    """A fan-out of 300 posts sleeps about once per post. When every waiting call slept
    until the next token itself, each token woke all of them (tens of thousands of
    wake-ups), and the late ones cost a tenth of the rate."""
    clock = CountingClock()
    platform = Recording(clock)
    outbox = Outbox(
        platform, sleep=clock.sleep, clock=clock, limits=Limits(per_second=50, per_channel=1.0)
    )
    await asyncio.gather(*(outbox.post(_place(f"c{i}"), CARD) for i in range(300)))
    assert len(platform.at) == 300
    assert 5.9 <= clock.now <= 6.1  # still 50 a second, evenly
    assert clock.sleeps <= 310, clock.sleeps
    assert [t for t, _ in platform.at] == sorted(t for t, _ in platform.at)  # in arrival order


async def test_a_reply_is_not_held_behind_calls_waiting_on_their_own_channel() -> None:
    """Twenty posts wait on one busy channel (one a second after a burst of five); a reply
    into another channel goes at once, not behind them."""
    outbox, platform, clock = _outbox(Limits(per_second=50, per_channel=1.0, burst=5))
    busy = [asyncio.create_task(outbox.post(_place("busy"), CARD)) for _ in range(20)]
    # The burst went, the rest are paced (the queue's fake clock moves as it sleeps).
    await until(lambda: len(platform.at) >= 5 and clock.now >= 2.0, tries=100_000, pause=0)
    asked = clock.now
    await outbox.post(_place("elsewhere"), CARD)
    replied = next(t for t, channel in platform.at if channel == "elsewhere")
    assert replied - asked < 0.05
    await asyncio.gather(*busy)
    assert [c for _, c in platform.at].count("busy") == 20


async def test_a_reply_goes_before_background_calls_that_queued_first() -> None:
    outbox, platform, _clock = _outbox(Limits(per_second=2, per_channel=100, burst=100))

    async def digest(n: int) -> None:
        with background():
            await outbox.post(_place(f"digest{n}"), CARD)

    digests = [asyncio.create_task(digest(n)) for n in range(10)]
    await until(lambda: len(platform.at) >= 2, tries=100_000, pause=0)
    await outbox.post(_place("reply"), CARD)
    order = [channel for _, channel in platform.at]
    assert order.index("reply") <= 3, order  # next but the one already handed its turn
    await asyncio.gather(*digests)
    assert len(platform.at) == 11


async def test_a_call_cancelled_while_queued_leaves_the_queue() -> None:
    outbox, platform, clock = _outbox(Limits(per_second=1, per_channel=100, burst=100))
    assert outbox.pacer is not None
    calls = [asyncio.create_task(outbox.post(_place(f"c{i}"), CARD)) for i in range(5)]
    await asyncio.sleep(0)
    calls[1].cancel()
    calls[3].cancel()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 2
    assert [c for _, c in platform.at] == ["c0", "c2", "c4"]
    assert outbox.pacer.waiting == 0
    assert 1.9 <= clock.now <= 2.1  # no turn was spent on the cancelled calls
    # Every queued call cancelled (a shutdown): the queue's own task ends with them.
    calls = [asyncio.create_task(outbox.post(_place(f"d{i}"), CARD)) for i in range(3)]
    await asyncio.sleep(0)
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    dispatcher = outbox.pacer._dispatcher
    assert dispatcher is not None
    await asyncio.gather(dispatcher, return_exceptions=True)
    assert dispatcher.done() and outbox.pacer.waiting == 0


async def test_calls_waiting_when_the_queue_breaks_hear_why_instead_of_waiting_for_ever() -> None:
    clock = Clock()
    platform = Recording(clock)

    async def broken_sleep(_seconds: float) -> None:
        raise RuntimeError("the clock broke")

    outbox = Outbox(
        platform, sleep=broken_sleep, clock=clock, limits=Limits(per_second=1, per_channel=100)
    )
    assert outbox.pacer is not None
    results = await asyncio.gather(
        *(outbox.post(_place(f"c{i}"), CARD) for i in range(3)), return_exceptions=True
    )
    assert isinstance(results[0], str)  # it went straight through
    assert [str(r) for r in results[1:]] == ["the clock broke", "the clock broke"]
    assert outbox.pacer.waiting == 0 and len(platform.at) == 1
