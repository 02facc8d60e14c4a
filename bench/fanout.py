"""One drop fanned out to many channels through the outbound queue, against a fake platform
that enforces a rate limit (answering 429 with Retry-After above it, as Discord and Slack
do). Baseline: the same posts sent as fast as they come, with no queue (the SDKs' behaviour
before the queue), against the same fake."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import deque

from bot.chat import Card, Place
from bot.outbox import Limits, Outbox
from bot.ports import MemoryPlatform, PlatformError

CARD = Card(title="Question drop #1", body="…")


class Limited(MemoryPlatform):
    """Allows ``rate`` posts in any rolling second; above it answers 429 Retry-After."""

    def __init__(self, rate: float) -> None:
        super().__init__(platform="bench")
        self.rate = rate
        self.window: deque[float] = deque()
        self.refused = 0
        self.calls = 0

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        self.calls += 1
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= self.rate:
            self.refused += 1
            raise PlatformError("429 Too Many Requests", retry_after=1.0 - (now - self.window[0]))
        self.window.append(now)
        await asyncio.sleep(0.002)  # the request's own round trip
        return await super().post(place, card, key=key)


async def fan_out(
    channels: int, rate: float, *, queued: bool, allowed: float | None = None
) -> dict[str, float]:
    """``rate``: what the queue is told the limit is; ``allowed``: what the fake really
    allows (lower, for an overload)."""
    platform = Limited(allowed or rate)
    limits = Limits(per_second=rate, per_channel=1.0, burst=5, in_flight=16, queue=10_000)
    outbox = Outbox(platform, limits=limits if queued else None, attempts=8)
    if not queued:
        outbox.pacer = None
    start = time.monotonic()
    results = await asyncio.gather(
        *(
            outbox.post(Place("bench", "w", f"c{i}"), CARD, key=f"drop:{i}")
            for i in range(channels)
        ),
        return_exceptions=True,
    )
    took = time.monotonic() - start
    posted = sum(1 for r in results if not isinstance(r, BaseException))
    return {
        "channels": channels,
        "posted": posted,
        "seconds": took,
        "achieved_per_s": posted / took,
        "share_of_limit": posted / took / (allowed or rate),
        "refused_429": platform.refused,
        "requests": platform.calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the baseline's hundreds of retry warnings
    runs = [
        ("queue", dict(queued=True)),
        ("no queue", dict(queued=False)),
        ("queue, 5x overload", dict(queued=True, allowed=args.rate / 5)),
    ]
    for label, how in runs:
        r = asyncio.run(fan_out(args.channels, args.rate, **how))  # type: ignore[arg-type]
        print(
            f"{label:>18}: {r['posted']:.0f}/{r['channels']:.0f} posted in {r['seconds']:.1f} s, "
            f"{r['achieved_per_s']:.1f}/s = {r['share_of_limit']:.0%} of what the platform "
            f"allows; 429s {r['refused_429']:.0f} of {r['requests']:.0f} requests"
        )


if __name__ == "__main__":
    main()
