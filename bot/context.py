"""What every feature handler gets: the store, the outbound platform, time and settings."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.handlers import CommandSpec, Planned
from bot.outbox import Outbox
from bot.ports import Clock
from bot.store.schema import workspaces


class JobsPort(Protocol):
    """Timed work, for features: rebuild after a change, look ahead, one-off timers."""

    async def refresh(self) -> None: ...

    def put(self, job: Planned) -> None:
        """Plan one job at once (it is also re-planned from the database on refresh)."""
        ...

    def next_run(self, job_id: str) -> datetime | None: ...

    def forget(self, job_id: str) -> None: ...

    async def schedule_at(
        self,
        *,
        key: str,
        when: datetime,
        action: str,
        payload: Mapping[str, object],
        platform: str,
        workspace_id: str,
    ) -> None:
        """Run the handler registered for ``action`` once at ``when``, even across restarts."""
        ...

    async def cancel(self, key: str) -> None: ...


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    platform: Outbox
    clock: Clock
    rng: random.Random
    jobs: JobsPort
    commands: tuple[CommandSpec, ...] = field(default=())  # the table, in /help order


async def workspace_tz(conn: AsyncConnection, platform: str, workspace_id: str) -> ZoneInfo:
    name = await conn.scalar(
        select(workspaces.c.timezone).where(
            workspaces.c.platform == platform, workspaces.c.workspace_id == workspace_id
        )
    )
    return ZoneInfo(name or "UTC")
