"""Every outbound call goes through here: paced under the platform's limits, retried when the
platform says "later", and counted.

One queue for every post, edit, DM, reaction and thread: a global rate, a per-channel pace,
a bound on calls in flight and on calls waiting (a full queue is refused with a clear log
line, never silently dropped), background work (digests) behind everything else, and a
``Retry-After`` that pauses the channel (or, without a channel, everything) it was about.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bot import metrics
from bot.chat import Card, MemberRef, Place
from bot.ports import Platform, PlatformError

log = logging.getLogger(__name__)
T = TypeVar("T")
AMBIGUOUS_WAIT = 1.0  # seconds before retrying a keyed post whose fate is unknown, times attempt

_BACKGROUND: contextvars.ContextVar[bool] = contextvars.ContextVar("background", default=False)


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Calls made inside wait while any other call waits (e.g. the weekly digest yields to
    reveals and answers' follow-ups)."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


@dataclass(frozen=True)
class Limits:
    """A platform's outbound limits, set by its adapter (``Platform.limits``)."""

    per_second: float = 50.0  # every call together (Discord's global limit)
    per_channel: float = 1.0  # sustained calls into one channel (Slack: about 1 message/s)
    burst: int = 5  # calls one channel may make at once before it is paced
    in_flight: int = 16  # calls waiting on the platform at once
    queue: int = 5_000  # calls waiting for their turn; beyond it a call is refused


class QueueFull(PlatformError):
    """Too many outbound calls are waiting; this one was not sent (the caller retries)."""


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float
    paused_until: float = 0.0

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if now < self.paused_until:
            return self.paused_until - now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class Pacer:
    """Token buckets: one for every call together, one per channel; callers wait their turn
    in the event loop (no thread, no busy platform)."""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    waiting: int = 0
    _foreground: int = 0
    _global: _Bucket | None = None
    _channels: dict[str, _Bucket] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None

    def _bucket(self, channel: str | None) -> _Bucket:
        now = self.clock()
        if channel is None:
            if self._global is None:
                # Smooth, no burst: any one-second window stays within the platform's rate.
                self._global = _Bucket(self.limits.per_second, 1.0, 1.0, now)
            return self._global
        bucket = self._channels.get(channel)
        if bucket is None:
            if len(self._channels) > 50_000:  # forget idle channels in a very large fan-out
                self._channels.clear()
            burst = float(self.limits.burst)
            bucket = self._channels[channel] = _Bucket(self.limits.per_channel, burst, burst, now)
        return bucket

    def pause(self, channel: str | None, seconds: float) -> None:
        """The platform said "retry after": nothing more into that channel (or at all) until
        then."""
        bucket = self._bucket(channel)
        bucket.paused_until = max(bucket.paused_until, self.clock() + seconds)
        # A 429 says the platform's real limit is tighter than ours: halve the global pace,
        # then win it back a little with each call that goes through (AIMD).
        overall = self._bucket(None)
        overall.rate = max(1.0, overall.rate / 2)

    def went_through(self) -> None:
        overall = self._bucket(None)
        overall.rate = min(self.limits.per_second, overall.rate + self.limits.per_second / 1000)

    @contextlib.asynccontextmanager
    async def turn(self, channel: str | None) -> AsyncIterator[None]:
        """Wait for this call's turn, then hold one of the in-flight slots while it runs."""
        if self.waiting >= self.limits.queue:
            log.error(
                "outbound queue full (%d calls waiting): refusing a call; it is retried later",
                self.waiting,
            )
            raise QueueFull(f"outbound queue full ({self.waiting} waiting)", retry_after=5.0)
        late = _BACKGROUND.get()
        self.waiting += 1
        self._foreground += 0 if late else 1
        metrics.queue_depth(self.waiting)
        queued = self.clock()
        try:
            await self._wait(channel, late)
        finally:
            self.waiting -= 1
            self._foreground -= 0 if late else 1
            metrics.queue_depth(self.waiting)
        metrics.queue_waited(self.clock() - queued)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.in_flight)
        async with self._slots:
            yield

    async def _wait(self, channel: str | None, late: bool) -> None:
        while True:
            now = self.clock()
            buckets = [self._bucket(None)] + ([self._bucket(channel)] if channel else [])
            wait = max(b.wait(now) for b in buckets)
            if wait <= 0 and not (late and self._foreground):
                for bucket in buckets:
                    bucket.tokens -= 1
                return
            await self.sleep(min(max(wait, 0.005), 0.25))


@dataclass
class Outbox:
    """A Platform that retries rate-limited or transient failures, at most ``attempts`` times.

    Calls that fail for good raise PlatformError; the caller decides what to undo, so a
    retried call never posts twice (each call is retried only when it did not land).
    """

    platform: Platform
    attempts: int = 4
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    max_wait: float = 60.0
    limits: Limits | None = None  # None: the platform's own (``Platform.limits``), if any
    clock: Callable[[], float] = time.monotonic  # for pacing (tests pass a fake one)
    pacer: Pacer | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        limits = self.limits or getattr(self.platform, "limits", None)
        if isinstance(limits, Limits):
            self.pacer = Pacer(limits, clock=self.clock, sleep=self.sleep)

    async def _call(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = False,
        channel: str | None = None,
    ) -> T:
        """Wait for the call's turn, then retry what the platform says to retry later; an
        ambiguous failure (it may have landed) only when the call is idempotent, e.g. a post
        with a key, after a jittered back-off."""
        call = metrics.metered(what, call)
        for attempt in range(1, self.attempts + 1):
            try:
                if self.pacer is None:
                    return await call()
                async with self.pacer.turn(channel):
                    result = await call()
                self.pacer.went_through()
                return result
            except QueueFull:
                raise
            except PlatformError as exc:
                safe = exc.retry_after is not None and not exc.ambiguous
                if not (safe or (exc.ambiguous and idempotent)) or attempt == self.attempts:
                    raise
                asked = exc.retry_after
                jitter = random.uniform(0.5, 1.5)  # spreads retries apart
                wait = min(
                    AMBIGUOUS_WAIT * attempt * jitter if asked is None else asked, self.max_wait
                )
                log.warning("%s failed (%s); retry %d in %.1fs", what, exc, attempt, wait)
                if asked is not None and self.pacer is not None:
                    self.pacer.pause(channel, asked)  # others into that channel wait too
                    continue
                await self.sleep(wait)
        raise AssertionError("unreachable")

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        return await self._call(
            "post",
            lambda: self.platform.post(place, card, key=key),
            idempotent=key is not None,
            channel=_channel(place),
        )

    async def find_post(self, place: Place, key: str) -> str | None:
        return await self._call(
            "find", lambda: self.platform.find_post(place, key), idempotent=True
        )

    async def edit(self, place: Place, message_id: str, card: Card) -> None:
        await self._call(
            "edit", lambda: self.platform.edit(place, message_id, card), channel=_channel(place)
        )

    async def dm(self, member: MemberRef, card: Card) -> str:
        return await self._call("dm", lambda: self.platform.dm(member, card))

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        return await self._call(
            "thread",
            lambda: self.platform.open_thread(place, message_id, name),
            channel=_channel(place),
        )

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        return await self._call(
            "group", lambda: self.platform.open_group(members, title, near=near)
        )

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        await self._call(
            "react",
            lambda: self.platform.add_reaction(place, message_id, emoji),
            channel=_channel(place),
        )

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        return await self._call(
            "role", lambda: self.platform.award_role(place, role_id, add=add, remove=remove)
        )

    async def check_channel(self, place: Place) -> str | None:
        return await self._call("check", lambda: self.platform.check_channel(place))


def _channel(place: Place) -> str:
    """The pacing scope of a call: the channel (a thread shares its channel's pace)."""
    return f"{place.platform}:{place.workspace_id}:{place.channel_id}"
