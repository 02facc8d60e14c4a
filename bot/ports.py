"""What the core needs from the outside world, and in-memory fakes of each."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.chat import Card, MemberRef, Place


class PlatformError(Exception):
    """An outbound call failed. ``retry_after`` (seconds) marks it as worth retrying;
    ``ambiguous`` says the call may have taken effect all the same (a timeout, a dropped
    connection or a server error after the request was sent), so repeating it blindly could
    post twice."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, ambiguous: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class Platform(Protocol):
    """Outbound messages not caused by an interaction: drops, reveals, announcements."""

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        """Post a card; return the platform's message id.

        With a ``key`` the post is idempotent: posting again with the same key (after an
        ambiguous failure) returns the message that already landed instead of a second one
        (Discord: a nonce the API enforces; Slack: the key in the message's metadata).
        """
        ...

    async def find_post(self, place: Place, key: str) -> str | None:
        """The message posted in ``place`` under ``key``, if one landed there recently.

        Asked before posting again when an earlier attempt may have landed and then died
        before recording it (a claim taken over from a dead instance). Slack reads the
        channel back; Discord answers None, because its nonce already turns a repeated post
        into the first message for a few minutes, longer than a claim's lease.
        """
        ...

    async def edit(self, place: Place, message_id: str, card: Card) -> None: ...

    async def dm(self, member: MemberRef, card: Card) -> str: ...

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        """Start a thread on a message; return the place to post into it."""
        ...

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        """A private space for a few members (Discord: a private thread in ``near``'s
        channel when given; Slack: a group DM)."""
        ...

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None: ...

    async def check_channel(self, place: Place) -> str | None:
        """None if the bot can post in this channel, else the reason it cannot (shown to
        the admin who tried to schedule drops there)."""
        ...

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        """Give a role to ``add`` and take it from ``remove`` (user ids); False where the
        platform has no roles (Slack: the digest's announcement is the reward)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class ScaledClock:
    """Simulated time that runs ``speed`` times faster than the wall clock: ``start`` at the
    Unix time ``anchor``. Processes built with the same three agree on the time."""

    start: datetime
    anchor: float
    speed: float

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor) * self.speed)


@dataclass
class ManualClock:
    """A clock tests and the console's simulated time move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current


@dataclass(frozen=True)
class Sent:
    """One message the in-memory platform holds, as the latest edit left it."""

    message_id: str
    place: Place
    card: Card
    to: MemberRef | None = None  # set for direct messages


@dataclass
class MemoryPlatform:
    """An in-memory Platform: records every post, edit, DM, thread and reaction."""

    platform: str = "memory"
    messages: dict[str, Sent] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)  # (operation, message id)
    reactions: list[tuple[str, str]] = field(default_factory=list)  # (message id, emoji)
    fail_next: list[BaseException] = field(default_factory=list)
    # Failures raised after the call took effect: the message lands, the caller hears an error.
    fail_after_landing: list[PlatformError] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # idempotency key → message id
    closed_channels: set[str] = field(default_factory=set)
    roles: dict[str, set[str]] = field(default_factory=dict)  # role id → holders
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _next_id(self) -> str:
        return f"m{next(self._ids)}"

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        self._maybe_fail()
        if key is not None and key in self.keys:
            return self.keys[key]  # the platform recognises the retry
        message_id = self._next_id()
        self.messages[message_id] = Sent(message_id, place, card)
        self.log.append(("post", message_id))
        if key is not None:
            self.keys[key] = message_id
        if self.fail_after_landing:
            raise self.fail_after_landing.pop(0)
        return message_id

    async def find_post(self, place: Place, key: str) -> str | None:
        self._maybe_fail()
        found = self.keys.get(key)
        return found if found is not None and self.messages[found].place == place else None

    async def edit(self, place: Place, message_id: str, card: Card) -> None:
        self._maybe_fail()
        old = self.messages[message_id]
        self.messages[message_id] = Sent(message_id, old.place, card, old.to)
        self.log.append(("edit", message_id))

    async def dm(self, member: MemberRef, card: Card) -> str:
        self._maybe_fail()
        message_id = self._next_id()
        place = Place(member.platform, member.workspace_id, f"dm:{member.user_id}")
        self.messages[message_id] = Sent(message_id, place, card, member)
        self.log.append(("dm", message_id))
        return message_id

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        self.log.append(("thread", message_id))
        return place.in_thread(f"t-{message_id}")

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        first = members[0]
        group = "group:" + ",".join(sorted(m.user_id for m in members))
        self.log.append(("group", group))
        return Place(first.platform, first.workspace_id, group)

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        self.reactions.append((message_id, emoji))

    async def check_channel(self, place: Place) -> str | None:
        if place.channel_id in self.closed_channels:
            return "the bot is not a member of that channel"
        return None

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        self.roles.setdefault(role_id, set()).difference_update(remove)
        self.roles[role_id].update(add)
        return True

    def posts_in(self, place: Place) -> list[Sent]:
        return [m for m in self.messages.values() if m.place == place and m.to is None]
