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
import heapq
import itertools
import logging
import math
import random
import time
from collections import deque
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
    """Calls made inside go only when no other waiting call can use the turn (e.g. the
    weekly digest yields to reveals and answers' follow-ups, but not to a call that must
    wait for its own channel anyway)."""
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
        # A token short by a rounding error is a token (a clock plus a tiny sleep can stay put).
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate


@dataclass(eq=False)
class _Waiter:
    seq: int
    channel: str | None
    granted: asyncio.Future[None]


@dataclass
class _Line:
    """Calls of one class (replies, or background work) waiting for their turn: a queue per
    channel, and the channels in the order of their first caller's arrival (a heap)."""

    queues: dict[str | None, deque[_Waiter]] = field(default_factory=dict)
    heads: list[tuple[int, str | None]] = field(default_factory=list)
    count: int = 0  # waiters granted nothing yet and not cancelled

    def add(self, waiter: _Waiter) -> None:
        queue = self.queues.get(waiter.channel)
        if queue is None:
            queue = self.queues[waiter.channel] = deque()
            heapq.heappush(self.heads, (waiter.seq, waiter.channel))
        queue.append(waiter)
        self.count += 1

    def first_ready(self, ready: Callable[[str | None], float]) -> tuple[_Waiter | None, float]:
        """The longest-waiting call whose channel may send now, taken out of the line; or
        None and how long until the earliest channel here may send again."""
        skipped: list[tuple[int, str | None]] = []
        chosen, earliest = None, math.inf
        while self.heads:
            seq, channel = heapq.heappop(self.heads)
            queue = self.queues[channel]
            while queue and queue[0].granted.done():  # cancelled while waiting
                queue.popleft()
            if not queue:
                del self.queues[channel]
                continue
            if queue[0].seq != seq:  # its first caller left: file it under the next one
                heapq.heappush(self.heads, (queue[0].seq, channel))
                continue
            wait = ready(channel)
            if wait > 0:
                skipped.append((seq, channel))
                earliest = min(earliest, wait)
                continue
            chosen = queue.popleft()
            if queue:
                heapq.heappush(self.heads, (queue[0].seq, channel))
            else:
                del self.queues[channel]
            self.count -= 1
            break
        for entry in skipped:
            heapq.heappush(self.heads, entry)
        return chosen, earliest

    def fail(self, error: Exception) -> None:
        """Every call still waiting here gets ``error``; the line is empty after."""
        for queue in self.queues.values():
            for waiter in queue:
                if not waiter.granted.done():
                    waiter.granted.set_exception(error)
        self.queues.clear()
        self.heads.clear()
        self.count = 0


@dataclass
class Pacer:
    """Token buckets: one for every call together, one per channel; callers wait their turn
    in the event loop (no thread, no busy platform).

    Calls that cannot go at once queue, and one dispatcher hands each token of the global
    bucket to the longest-waiting call whose channel may send: replies first, background
    calls only when no reply can use it. Only the dispatcher sleeps on the clock; a waiting
    call sleeps until it is handed its turn. (When every waiter slept until the next token
    itself, each token woke all of them, and under a fan-out of a thousand posts the wake-ups
    cost a tenth of the rate.)"""

    limits: Limits
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    waiting: int = 0
    _global: _Bucket | None = None
    _channels: dict[str, _Bucket] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None
    _replies: _Line = field(default_factory=_Line)
    _later: _Line = field(default_factory=_Line)
    _order: Iterator[int] = field(default_factory=itertools.count)
    _dispatcher: asyncio.Task[None] | None = None
    _stuck_until: float = -math.inf  # till then no queued call's channel may send

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
        self.waiting += 1
        metrics.queue_depth(self.waiting)
        queued = self.clock()
        try:
            await self._wait(channel, _BACKGROUND.get())
        finally:
            self.waiting -= 1
            metrics.queue_depth(self.waiting)
        metrics.queue_waited(self.clock() - queued)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.in_flight)
        async with self._slots:
            yield

    @property
    def _queued(self) -> int:
        """Calls waiting in either line to be handed their turn."""
        return self._replies.count + self._later.count

    def _ready(self, channel: str | None) -> float:
        """Seconds until ``channel`` may send (0: now); the global bucket aside."""
        return 0.0 if channel is None else self._bucket(channel).wait(self.clock())

    def _take(self, channel: str | None) -> None:
        self._bucket(None).tokens -= 1
        if channel is not None:
            self._bucket(channel).tokens -= 1

    async def _wait(self, channel: str | None, late: bool) -> None:
        now = self.clock()
        # Straight through when nobody queued could go first: the queue is empty (for a
        # background call, both queues), or every queued call waits on its own channel.
        nobody_ahead = not self._replies.count and not (late and self._later.count)
        if (
            (nobody_ahead or now < self._stuck_until)
            and self._bucket(None).wait(now) <= 0
            and self._ready(channel) <= 0
        ):
            self._take(channel)
            return
        waiter = _Waiter(next(self._order), channel, asyncio.get_running_loop().create_future())
        line = self._later if late else self._replies
        line.add(waiter)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        try:
            await waiter.granted
        except BaseException:
            turn_given = waiter.granted.done() and not waiter.granted.cancelled()
            if not turn_given:  # cancelled while queued: out of the line
                waiter.granted.cancel()
                line.count -= 1
                if not self._queued and self._dispatcher:
                    self._dispatcher.cancel()  # nobody left: no sleeping task outlives them
            raise

    async def _dispatch(self) -> None:
        """Hand out the global bucket's tokens one at a time while anyone waits."""
        try:
            await self._hand_out()
        except Exception as error:  # nobody is left waiting for a turn that never comes
            log.exception("outbound queue failed; failing the calls that waited")
            self._replies.fail(error)
            self._later.fail(error)
        finally:
            self._stuck_until = -math.inf

    async def _hand_out(self) -> None:
        while self._queued:
            now = self.clock()
            overall = self._bucket(None).wait(now)
            if overall > 0:
                self._stuck_until = -math.inf  # a token is coming: newcomers queue for it
                await self.sleep(overall)
                continue
            waiter, stuck = self._replies.first_ready(self._ready)
            if waiter is None:
                waiter, later = self._later.first_ready(self._ready)
                stuck = min(stuck, later)
            if waiter is not None:
                self._take(waiter.channel)
                waiter.granted.set_result(None)
                continue
            # Every queued call waits on its channel: sleep until the first may send (a
            # newcomer whose channel may send goes straight through meanwhile).
            self._stuck_until = now + stuck
            await self.sleep(min(stuck, 0.25))


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
