"""Bootstrap: build the core, store and platform in one place (tests use the same path)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from bot import bank, commands, registry
from bot.chat import Attachment, Card, Command, Event, Member, MemberRef, Reply
from bot.config import Settings
from bot.context import Context
from bot.core import Core
from bot.features import packs
from bot.features.home import home_card
from bot.handlers import CommandError, Kind
from bot.jobs import Jobs
from bot.outbox import Outbox
from bot.ports import Clock, Platform, ScaledClock, SystemClock
from bot.registry import Registry
from bot.review import Reviewer
from bot.scheduler import APSchedulerDriver, Driver, PacedDriver
from bot.store import sql
from bot.store.db import create_engine, migrate
from bot.store.schema import inbound_seen
from questions.schema import Item

log = logging.getLogger(__name__)

FORGET_SEEN_CHANCE = 0.01  # one new delivery in a hundred sweeps out those older than a day


@dataclass
class App:
    ctx: Context
    core: Core

    async def handle(self, event: Event) -> Reply | None:
        return await self.core.handle(event)

    async def home(self, member: Member) -> Card:
        """The member's summary card (Slack's Home tab, a console `home`)."""
        return await home_card(self.ctx, member)

    @property
    def jobs(self) -> Jobs:
        assert isinstance(self.ctx.jobs, Jobs)
        return self.ctx.jobs

    async def start(self) -> None:
        """Start timed work: catch up on fires missed while down, then run the scheduler."""
        await self.jobs.start()

    async def first_delivery(self, platform: str, workspace_id: str, delivery_id: str) -> bool:
        """Whether this inbound delivery (Slack's event_id) is new to every instance; False for
        a platform's retry, whichever process or restart it reaches. Deliveries older than a
        day are forgotten."""
        now = self.ctx.clock.now()
        key = {"platform": platform, "workspace_id": workspace_id, "delivery_id": delivery_id}
        async with self.ctx.engine.begin() as conn:
            fresh = await sql.insert_ignore(
                conn, inbound_seen, {**key, "seen_at": now}, keys=tuple(key)
            )
            if fresh and self.ctx.rng.random() < FORGET_SEEN_CHANCE:
                await conn.execute(
                    delete(inbound_seen).where(inbound_seen.c.seen_at < now - timedelta(days=1))
                )
        return fresh

    def read_command(self, event: Command) -> tuple[Command, bool]:
        """Parse a typed command once, for platforms that send text (Slack): the command with
        its options read, and whether it takes a file (so the adapter fetches one). A command
        that does not parse comes back as typed; handling it explains the mistake."""
        if not event.text:
            return event, False
        try:
            spec, options = commands.parse(event.text)
        except CommandError:
            return event, False
        takes_file = any(option.kind is Kind.FILE for option in spec.options)
        return replace(event, text="", name=spec.name, options=options), takes_file

    async def suggest(
        self, member: Member, *, command: str, option: str, typed: str
    ) -> list[tuple[str, str]]:
        """Values to offer while an option is typed (Discord autocomplete): (label, value)."""
        spec = self.core.registry.find(command)
        wanted = next((o for o in spec.options if o.name == option), None) if spec else None
        source = self.core.registry.suggestions.get(wanted.suggest) if wanted else None
        return await source(self.ctx, member.ref, typed) if source else []

    # ---- the operator's command line (studybot questions …) ----------------------------

    async def import_pack(self, workspace: MemberRef, file: Attachment) -> packs.ImportResult:
        """Import a pack into a workspace, all or nothing (BankError lists every problem)."""
        return await packs.import_pack(
            self.ctx.engine, workspace=workspace, file=file, now=self.ctx.clock.now()
        )

    async def export_pack(self, workspace: MemberRef | None) -> str:
        return await packs.export_pack(self.ctx.engine, workspace=workspace)

    async def item_analysis(self, workspace: MemberRef) -> list[packs.ItemStats]:
        return await packs.analyse(self.ctx.engine, workspace)

    async def close(self) -> None:
        self.jobs.stop()
        await self.jobs.release()
        await self.ctx.engine.dispose()


def _simulated(settings: Settings) -> tuple[Clock, Driver]:
    """A clock that runs ``sim_speed`` times faster than the wall clock, and its driver."""
    start = settings.sim_start or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    anchor = settings.sim_anchor if settings.sim_anchor is not None else time.time()
    clock = ScaledClock(start, anchor, settings.sim_speed)
    log.warning("simulated time: %sx from %s", settings.sim_speed, start.isoformat())
    return clock, PacedDriver(clock)


async def build_app(
    *,
    settings: Settings,
    platform: Platform,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    items: Sequence[Item] | None = None,
    outbox: Outbox | None = None,
    driver: Driver | None = None,
    features: Registry | None = None,
    reviewer: Reviewer | None = None,
) -> App:
    """Migrate the database, sync the shipped bank, and wire the core to ``platform``."""
    engine = create_engine(settings.database_url)
    if clock is None and driver is None and settings.sim_speed:
        clock, driver = _simulated(settings)
    clock = clock or SystemClock()
    await migrate(engine)
    async with engine.begin() as conn:
        if items is None:  # the shipped bank: loaded only when it differs from the store's
            changed = await bank.sync_shipped_if_changed(conn, now=clock.now())
        else:
            changed = await bank.sync_shipped(conn, items, now=clock.now())
    log.info("bank: %s", "unchanged" if changed is None else f"{changed} questions synced")
    wired = features or registry.default()
    grace = timedelta(minutes=settings.grace_minutes)
    jobs = Jobs(driver or APSchedulerDriver(clock=clock, grace=grace), registry=wired)
    ctx = Context(
        settings=settings,
        engine=engine,
        platform=outbox or Outbox(platform),
        clock=clock,
        rng=rng or random.Random(),
        jobs=jobs,
        commands=wired.commands,
        reviewer=reviewer,
    )
    jobs.bind(ctx)
    return App(ctx=ctx, core=Core(ctx, wired))
