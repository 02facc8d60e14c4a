"""Bootstrap: build the core, store and platform in one place (tests use the same path)."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import bank
from bot.chat import Card, Event, Member, Reply
from bot.config import Settings
from bot.context import Context
from bot.core import Core
from bot.jobs import Jobs
from bot.outbox import Outbox
from bot.ports import Clock, Platform, SystemClock
from bot.scheduler import APSchedulerDriver, Driver
from bot.store.db import create_engine, migrate
from questions.loader import load_bank
from questions.schema import Item

log = logging.getLogger(__name__)


@dataclass
class App:
    ctx: Context
    core: Core

    async def handle(self, event: Event) -> Reply | None:
        return await self.core.handle(event)

    async def home(self, member: Member) -> Card:
        """The member's summary card (Slack's Home tab, a console `home`)."""
        from bot.features.home import home_card

        return await home_card(self.ctx, member)

    @property
    def jobs(self) -> Jobs:
        assert isinstance(self.ctx.jobs, Jobs)
        return self.ctx.jobs

    async def start(self) -> None:
        """Start timed work: catch up on fires missed while down, then run the scheduler."""
        await self.jobs.start()

    async def is_new(self, member: Member) -> bool:
        """Whether the core has never seen this member (for a first-use welcome that a
        restart does not repeat). Ask before handling the member's first event."""
        from sqlalchemy import select

        from bot.store import ops
        from bot.store.schema import members

        async with self.ctx.engine.connect() as conn:
            known = await conn.scalar(
                select(members.c.user_id).where(*ops.of_member(members, member.ref))
            )
        return known is None

    async def suggest(
        self, member: Member, *, command: str, option: str, typed: str
    ) -> list[tuple[str, str]]:
        """Values to offer while an option is typed (Discord autocomplete): (label, value)."""
        from bot import commands
        from bot.features import schedules

        spec = commands.find(command)
        wanted = next((o for o in spec.options if o.name == option), None) if spec else None
        if wanted is None or wanted.suggest != "schedules":
            return []
        return await schedules.suggest_ids(self.ctx, member.ref, typed)

    async def close(self) -> None:
        self.jobs.stop()
        await self.ctx.engine.dispose()


async def build_app(
    *,
    settings: Settings,
    platform: Platform,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    items: Sequence[Item] | None = None,
    outbox: Outbox | None = None,
    driver: Driver | None = None,
) -> App:
    """Migrate the database, sync the shipped bank, and wire the core to ``platform``."""
    engine = create_engine(settings.database_url)
    clock = clock or SystemClock()
    await migrate(engine)
    async with engine.begin() as conn:
        changed = await bank.sync_shipped(
            conn, load_bank() if items is None else items, now=clock.now()
        )
    log.info("bank synced: %d question(s) changed", changed)
    grace = timedelta(minutes=settings.grace_minutes)
    jobs = Jobs(driver or APSchedulerDriver(clock=clock, grace=grace), grace=grace)
    ctx = Context(
        settings=settings,
        engine=engine,
        platform=outbox or Outbox(platform),
        clock=clock,
        rng=rng or random.Random(),
        jobs=jobs,
    )
    jobs.bind(ctx)
    from bot.features import mocks, practice

    jobs.on(practice.REMIND_ACTION, practice.send_reminder)
    jobs.on(mocks.FOLLOW_UP_ACTION, mocks.follow_up)
    return App(ctx=ctx, core=Core(ctx))
