"""Every outbound call goes through here: retried when the platform says "later"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot import metrics
from bot.chat import Card, MemberRef, Place
from bot.ports import Platform, PlatformError

log = logging.getLogger(__name__)
T = TypeVar("T")
AMBIGUOUS_WAIT = 1.0  # seconds before retrying a keyed post whose fate is unknown, times attempt


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

    async def _call(
        self, what: str, call: Callable[[], Awaitable[T]], *, idempotent: bool = False
    ) -> T:
        """Retry what the platform says to retry later; an ambiguous failure (it may have
        landed) only when the call is idempotent, e.g. a post with a key."""
        call = metrics.metered(what, call)
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except PlatformError as exc:
                safe = exc.retry_after is not None and not exc.ambiguous
                if not (safe or (exc.ambiguous and idempotent)) or attempt == self.attempts:
                    raise
                asked = exc.retry_after
                wait = min(AMBIGUOUS_WAIT * attempt if asked is None else asked, self.max_wait)
                log.warning("%s failed (%s); retry %d in %.1fs", what, exc, attempt, wait)
                await self.sleep(wait)
        raise AssertionError("unreachable")

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        return await self._call(
            "post", lambda: self.platform.post(place, card, key=key), idempotent=key is not None
        )

    async def find_post(self, place: Place, key: str) -> str | None:
        return await self._call(
            "find", lambda: self.platform.find_post(place, key), idempotent=True
        )

    async def edit(self, place: Place, message_id: str, card: Card) -> None:
        await self._call("edit", lambda: self.platform.edit(place, message_id, card))

    async def dm(self, member: MemberRef, card: Card) -> str:
        return await self._call("dm", lambda: self.platform.dm(member, card))

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        return await self._call(
            "thread", lambda: self.platform.open_thread(place, message_id, name)
        )

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        return await self._call(
            "group", lambda: self.platform.open_group(members, title, near=near)
        )

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        await self._call("react", lambda: self.platform.add_reaction(place, message_id, emoji))

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        return await self._call(
            "role", lambda: self.platform.award_role(place, role_id, add=add, remove=remove)
        )

    async def check_channel(self, place: Place) -> str | None:
        return await self._call("check", lambda: self.platform.check_channel(place))
