"""What every feature handler gets (``Context``, defined beside the handler types in
bot/handlers.py) and the small lookups handlers share."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.handlers import Context, JobsPort
from bot.store import sql
from bot.store.prepared import Prepared
from bot.store.schema import workspaces

__all__ = ["Context", "JobsPort", "workspace_tz"]

_TIMEZONE = Prepared(select(workspaces.c.timezone).where(*sql.by_workspace(workspaces)))


async def workspace_tz(conn: AsyncConnection, platform: str, workspace_id: str) -> ZoneInfo:
    name = await _TIMEZONE.scalar(conn, sql.workspace_params(platform, workspace_id))
    return ZoneInfo(name or "UTC")
