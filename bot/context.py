"""What every feature handler gets: the store, the outbound platform, time and settings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import Settings
from bot.outbox import Outbox
from bot.ports import Clock
from bot.store.schema import workspaces


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    platform: Outbox
    clock: Clock
    rng: random.Random


async def workspace_tz(conn: AsyncConnection, platform: str, workspace_id: str) -> ZoneInfo:
    name = await conn.scalar(
        select(workspaces.c.timezone).where(
            workspaces.c.platform == platform, workspaces.c.workspace_id == workspace_id
        )
    )
    return ZoneInfo(name or "UTC")
