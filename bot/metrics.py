"""What the bot counts and logs as it runs: Prometheus metrics and one log line per event.

Every hook is one call at the place it describes (``metrics.dropped(...)`` where a drop is
confirmed, ``@metrics.timed`` on ``Core.handle``), so instrumenting a module never changes its
shape. The metrics live in their own registry, made on first use and served at ``/metrics``
by the adapters' health server. Log lines name places, ids and counts, never a token or an
answer's text.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat import Action, Command, Event, FormSubmit, Place, Reaction

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

log = logging.getLogger("bot.activity")  # one line per drop, reveal and failure


@dataclass(frozen=True)
class _Metrics:
    registry: CollectorRegistry
    answers: Counter
    drops: Counter
    reveals: Counter
    failures: Counter
    platform_calls: Counter
    queue_depth: Gauge
    queue_wait: Histogram
    handler_seconds: Histogram
    scheduler_lag: Histogram
    db_errors: Counter


@functools.cache
def _made() -> _Metrics:
    """The registry and its metrics, made when first counted or served: prometheus_client
    takes a noticeable part of start-up to import, and the console never serves them."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # process_*: memory, CPU time, open files
    return _Metrics(registry=registry, **_counters(registry), **_timings(registry))


def _counters(registry: CollectorRegistry) -> dict[str, Any]:
    from prometheus_client import Counter

    return {
        "answers": Counter(
            "studybot_answers",
            "Answers recorded, by kind (choice or open) and where the question came from",
            ["kind", "source"],
            registry=registry,
        ),
        "drops": Counter(
            "studybot_drops",
            "Questions posted to a channel, by trigger (command or schedule)",
            ["trigger"],
            registry=registry,
        ),
        "reveals": Counter(
            "studybot_reveals",
            "Drops revealed (resumed: finished for an instance that stopped part-way)",
            ["resumed"],
            registry=registry,
        ),
        "failures": Counter(
            "studybot_failures",
            "Drops and reveals that could not be posted, and events whose handling failed",
            ["what"],
            registry=registry,
        ),
        "platform_calls": Counter(
            "studybot_platform_calls",
            "Outbound platform calls (post, edit, dm, ...) by outcome, each attempt counted",
            ["call", "outcome"],
            registry=registry,
        ),
        "db_errors": Counter(
            "studybot_db_errors",
            "Errors raised by the database driver, by exception type",
            ["error"],
            registry=registry,
        ),
    }


def _timings(registry: CollectorRegistry) -> dict[str, Any]:
    from prometheus_client import Gauge, Histogram

    return {
        # The outbound queue reports these two (queue_depth, queue_waited).
        "queue_depth": Gauge(
            "studybot_outbound_queue_depth",
            "Outbound calls waiting in the queue",
            registry=registry,
        ),
        "queue_wait": Histogram(
            "studybot_outbound_queue_wait_seconds",
            "How long an outbound call waited in the queue before it was sent",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
            registry=registry,
        ),
        "handler_seconds": Histogram(
            "studybot_handler_seconds",
            "Time the core took to handle one inbound event, by event type",
            ["event"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
            registry=registry,
        ),
        "scheduler_lag": Histogram(
            "studybot_scheduler_lag_seconds",
            "How late a timed job started after it fell due, by job kind",
            ["job"],
            buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=registry,
        ),
    }


def registry() -> CollectorRegistry:
    """The registry the health server serves at ``/metrics``."""
    return _made().registry


T = TypeVar("T")
S = TypeVar("S")
E = TypeVar("E", bound=Event)
R = TypeVar("R")


def where(place: Place) -> str:
    """A place as log lines show it: platform, workspace and channel ids."""
    thread = f"/{place.thread_id}" if place.thread_id else ""
    return f"{place.platform}:{place.workspace_id}/{place.channel_id}{thread}"


# ---- inbound ------------------------------------------------------------------------------


def timed(handle: Callable[[S, E], Awaitable[R]]) -> Callable[[S, E], Awaitable[R]]:
    """Decorate ``Core.handle``: how long each event took, by its type."""

    @functools.wraps(handle)
    async def run(self: S, event: E) -> R:
        started = time.perf_counter()
        try:
            return await handle(self, event)
        finally:
            elapsed = time.perf_counter() - started
            _made().handler_seconds.labels(type(event).__name__).observe(elapsed)

    return run


def describe(event: Event) -> str:
    """An event as a log line may show it: its kind, who and where, and no typed values (a
    form carries answers, a command's options may carry anything a member typed)."""
    match event:
        case Command():
            what = "/" + (event.name or next(iter(event.text.split()), "?").lstrip("/"))
        case Action():
            what = f"button {event.action_id}"
        case FormSubmit():
            what = f"form {event.form_id} ({', '.join(sorted(event.values))})"
        case Reaction():
            what = f"reaction on {event.message_id}"
        case _:
            what = type(event).__name__
    who = f" by {event.member.ref.user_id}" if event.member is not None else ""
    return f"{what}{who} in {where(event.place)}"


def failed_event(event: Event) -> str:
    """Count an event whose handling failed unexpectedly; its description for the log."""
    _made().failures.labels("handler").inc()
    return describe(event)


def answered(kind: str, source: str) -> None:
    _made().answers.labels(kind, source).inc()


# ---- drops and reveals ---------------------------------------------------------------------


def dropped(place: Place, drop_id: int, *, scheduled: bool) -> None:
    trigger = "schedule" if scheduled else "command"
    _made().drops.labels(trigger).inc()
    log.info("drop #%d posted in %s (%s)", drop_id, where(place), trigger)


def drop_failed(place: Place, drop_id: int, error: Exception) -> None:
    _made().failures.labels("drop").inc()
    fate = "may not have been posted" if getattr(error, "ambiguous", False) else "was not posted"
    log.warning("drop #%d %s in %s: %s", drop_id, fate, where(place), error)


def revealed(place: Place, drop_id: int, *, answers: int, resumed: bool) -> None:
    _made().reveals.labels(str(resumed).lower()).inc()
    how = ", resumed from a stopped instance" if resumed else ""
    log.info("drop #%d revealed in %s (%d answers%s)", drop_id, where(place), answers, how)


def reveal_failed(place: Place, drop_id: int, error: Exception) -> None:
    _made().failures.labels("reveal").inc()
    log.warning("reveal of drop #%d failed in %s: %s", drop_id, where(place), error)


# ---- outbound ------------------------------------------------------------------------------


def metered(call: str, send: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """Wrap one outbound call so each attempt is counted by its outcome: ``ok``,
    ``rate_limited`` (the platform said when to retry), ``ambiguous`` (it may have landed),
    ``refused`` (failed for good) or ``error`` (anything else)."""

    async def attempt() -> T:
        try:
            result = await send()
        except Exception as exc:
            _made().platform_calls.labels(call, _outcome(exc)).inc()
            raise
        _made().platform_calls.labels(call, "ok").inc()
        return result

    return attempt


def _outcome(exc: Exception) -> str:
    # PlatformError's attributes, read without importing the ports (a lower layer's leaf).
    if getattr(exc, "ambiguous", False):
        return "ambiguous"
    if getattr(exc, "retry_after", None) is not None:
        return "rate_limited"
    return "refused" if hasattr(exc, "retry_after") else "error"


def queue_depth(waiting: int) -> None:
    """The outbound queue's length, set whenever it changes."""
    _made().queue_depth.set(waiting)


def queue_waited(seconds: float) -> None:
    """How long one outbound call waited in the queue."""
    _made().queue_wait.observe(max(0.0, seconds))


# ---- timed work and the store --------------------------------------------------------------


def lagging(
    job_id: str, run: Callable[[datetime], Awaitable[None]], now: Callable[[], datetime]
) -> Callable[[datetime], Awaitable[None]]:
    """Wrap a timed job: how late it started after the time it was due (``now`` is the
    core's clock, so simulated time shows no lag)."""
    kind = job_id.split(":", 1)[0]

    async def late(due: datetime) -> None:
        _made().scheduler_lag.labels(kind).observe(max(0.0, (now() - due).total_seconds()))
        await run(due)

    return late


def watch_engine(engine: AsyncEngine) -> None:
    """Count every error the database driver raises on ``engine`` (once per engine)."""
    target = engine.sync_engine
    if not sa_event.contains(target, "handle_error", _count_db_error):
        sa_event.listen(target, "handle_error", _count_db_error)


def _count_db_error(context: ExceptionContext) -> None:
    _made().db_errors.labels(type(context.original_exception).__name__).inc()


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one sample (tests and the health page read it): 0 if unset."""
    value: Any = _made().registry.get_sample_value(name, labels or {})
    return float(value or 0.0)
