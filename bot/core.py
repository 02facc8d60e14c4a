"""The core's single entry point: a neutral event in, what to show out."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import commands as table
from bot import metrics
from bot.chat import (
    Action,
    Card,
    Command,
    Event,
    FormSubmit,
    Member,
    MemberJoined,
    MemberRef,
    Reaction,
    Reply,
)
from bot.context import Context
from bot.handlers import (
    UNKNOWN_BUTTON,
    UNKNOWN_FORM,
    CommandError,
    CommandSpec,
    Invocation,
    Permission,
)
from bot.registry import Registry
from bot.store import sql
from bot.store.db import LOCK_WAIT
from bot.store.prepared import Prepared
from bot.store.schema import members, workspaces

log = logging.getLogger(__name__)


# Members seen within this window are not written again: last_seen is approximate by design.
TOUCH_EVERY = timedelta(minutes=5)
BOOKKEEPING_WAIT = 0.25  # seconds


class Core:
    """Routes each event through the tables the features declared (``Registry``)."""

    def __init__(self, ctx: Context, registry: Registry) -> None:
        self.ctx = ctx
        self.registry = registry
        self._touched: dict[MemberRef, tuple[str, datetime]] = {}
        self._welcomed: set[MemberRef] = set()  # welcomed already: no need to ask the store
        # Remembering a member and their welcome may wait: while another process holds
        # SQLite's write lock they are skipped after a moment, so reads still answer.
        self._bookkeeping = ctx.engine.execution_options(**{LOCK_WAIT: BOOKKEEPING_WAIT})

    @metrics.timed
    async def handle(self, event: Event) -> Reply | None:
        """Handle one inbound event. Bad input (``CommandError`` from a command, button or
        form) becomes a clear private reply; unexpected failures a polite private error;
        every handler works in transactions, so a failure leaves nothing half-saved."""
        cleaned = _cleaned(event)
        if cleaned is None:
            return None  # a reaction no platform could send (ids past any stored width)
        event = cleaned
        claimed: datetime | None = None  # when this event claimed the member's welcome
        try:
            if event.member is not None:
                member = self._with_configured_admin(event.member)
                event = replace(event, member=member)
                claimed = await self._touch(member, claim=_first_contact(event))
            reply = await self._dispatch(event)
        except CommandError as exc:
            await self._unclaim(event.member, claimed)
            return Reply.error(str(exc))
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("error %s handling %s", ref, metrics.failed_event(event))
            await self._unclaim(event.member, claimed)
            # Not "nothing was saved": the failure may come after a commit (handlers send
            # what follows a saved answer only after it is saved, and say so themselves).
            return Reply.error(
                f"Something went wrong on our side (ref {ref}). Please try again in a moment; "
                "if you were answering, pressing again tells you whether your answer counted."
            )
        try:
            return await self._with_welcome(event, reply, claimed)
        except Exception:  # the reply stands: a welcome is never worth failing it for
            log.exception("could not welcome %r", event.member)
            return reply

    async def _dispatch(self, event: Event) -> Reply | None:
        match event:
            case Command():
                return await self._command(event)
            case Action():
                on_action = self.registry.action(event.action_id)
                return (
                    await on_action(self.ctx, event) if on_action else Reply.error(UNKNOWN_BUTTON)
                )
            case FormSubmit():
                on_form = self.registry.form(event.form_id)
                if on_form is None:
                    return Reply.error(UNKNOWN_FORM)
                return await on_form(self.ctx, event)
        if isinstance(event, MemberJoined):
            return None  # the welcome rule (_with_welcome) decides whether to greet
        reply: Reply | None = None
        for handler in self.registry.events.get(type(event), ()):
            reply = await handler(self.ctx, event) or reply
        return reply

    async def _command(self, event: Command) -> Reply:
        if event.text:
            spec, options = table.parse(event.text)
        else:
            spec = self.registry.find(event.name) or _unknown(event.name)
            options = table.normalise(spec, event.options)
        if spec.permission is Permission.ADMIN and not event.member.is_admin:
            return Reply.error(
                f"`/{spec.name}` is for admins of this workspace. Ask one to run it, or to "
                "make you an admin."
            )
        return await spec.handler(
            self.ctx, Invocation(event.member, event.place, spec, options, event.files)
        )

    async def _with_welcome(
        self, event: Event, reply: Reply | None, claimed: datetime | None
    ) -> Reply | None:
        """One rule for every platform: a member's first interaction, or their joining the
        channel, brings one private welcome, never repeated (it is stored, so not after a
        restart either). A form cannot carry it, so a first press that opens one waits.

        The welcome is claimed with the member's first record (``_touch``), in the same
        transaction; only when that record was skipped is it claimed here, after the reply."""
        member = event.member
        if not _first_contact(event) or member is None:
            return reply
        if reply is not None and reply.form:
            await self._unclaim(member, claimed)
            return reply
        if claimed is None and (
            member.ref in self._welcomed or not await self._claim_welcome(member.ref)
        ):
            return reply
        greeting = await self._greeting(MemberJoined(member, event.place))
        if greeting is None:
            return reply
        if isinstance(event, MemberJoined) or reply is None:
            return Reply(card=greeting, private=True)
        return replace(reply, notes=(*reply.notes, greeting))

    async def _greeting(self, joined: MemberJoined) -> Card | None:
        """The welcome the features declare for a member joining (help's welcome card)."""
        for handler in self.registry.events.get(MemberJoined, ()):
            said = await handler(self.ctx, joined)
            if said is not None and said.card is not None:
                return said.card
        return None

    async def _claim_welcome(self, ref: MemberRef) -> bool:
        """Mark the member welcomed; True only for the one call that did it (False, to try
        again on their next event, while another process holds SQLite's write lock)."""
        try:
            async with self._bookkeeping.begin() as conn:
                won = await _claim(conn, ref, self.ctx.clock.now())
        except OperationalError as exc:
            log.info("not welcoming %s now: %s", ref, exc)
            return False
        self._claimed(ref)
        return won

    def _claimed(self, ref: MemberRef) -> None:
        """The member's welcome is settled: theirs already, or given by this process."""
        if len(self._welcomed) > 100_000:  # bound the memory of a very large community
            self._welcomed.clear()
        self._welcomed.add(ref)

    async def _unclaim(self, member: Member | None, claimed: datetime | None) -> None:
        """Give back a welcome this event claimed but cannot carry (its reply is a form, or
        an error), so the member's next event brings it."""
        if member is None or claimed is None:
            return
        try:
            async with self._bookkeeping.begin() as conn:
                await conn.execute(_UNCLAIM, {**sql.member_params(member.ref), "at": claimed})
        except Exception:  # the welcome is lost, not the reply
            log.exception("could not give back %s's welcome", member.ref)
            return
        self._welcomed.discard(member.ref)

    def _with_configured_admin(self, member: Member) -> Member:
        """STUDYBOT_ADMINS names user ids, matched exactly; never a display name, which its
        owner can change to anything (bot/config.py refuses names at start-up)."""
        if not member.is_admin and member.ref.user_id in self.ctx.settings.admins:
            return replace(member, is_admin=True)
        return member

    async def _touch(self, member: Member, *, claim: bool) -> datetime | None:
        """Remember the workspace and member (display names change; identity does not);
        with ``claim``, also claim their welcome unless they had it. Returns when the
        welcome was claimed, if this call claimed it."""
        ref, now = member.ref, self.ctx.clock.now()
        seen = self._touched.get(ref)
        if seen and seen[0] == member.display_name and now - seen[1] < TOUCH_EVERY:
            return None
        claim = claim and ref not in self._welcomed
        try:
            won = await self._remember(member, now, claim=claim)
        except OperationalError as exc:  # another process holds the write lock: skip it
            log.info("not recording %s now: %s", ref, exc)
            return None
        if claim:
            self._claimed(ref)
        if len(self._touched) > 100_000:  # bound the memory of a very large community
            self._touched.clear()
        self._touched[ref] = (member.display_name, now)
        return now if won else None

    async def _remember(self, member: Member, now: datetime, *, claim: bool) -> bool:
        ref = member.ref
        async with self._bookkeeping.begin() as conn:
            await sql.upsert(
                conn,
                workspaces,
                {
                    "platform": ref.platform,
                    "workspace_id": ref.workspace_id,
                    "timezone": self.ctx.settings.timezone,
                    "created_at": now,
                },
                keys=("platform", "workspace_id"),
            )
            await sql.upsert(
                conn,
                members,
                {
                    "platform": ref.platform,
                    "workspace_id": ref.workspace_id,
                    "user_id": ref.user_id,
                    "display_name": member.display_name,
                    "first_seen": now,
                    "last_seen": now,
                },
                keys=("platform", "workspace_id", "user_id"),
                update=("display_name", "last_seen"),
            )
            return claim and await _claim(conn, ref, now)


async def _claim(conn: AsyncConnection, ref: MemberRef, now: datetime) -> bool:
    """Mark the member welcomed unless they were; True if this did it."""
    return bool(await _CLAIM.write(conn, {**sql.member_params(ref), "at": now}))


_CLAIM = Prepared(
    update(members)
    .where(*sql.by_member(members), members.c.welcomed_at.is_(None))
    .values(welcomed_at=bindparam("at"))
)
_UNCLAIM = (
    update(members)
    .where(*sql.by_member(members), members.c.welcomed_at == bindparam("at"))
    .values(welcomed_at=None)
)


def _first_contact(event: Event) -> bool:
    """Events that may bring the welcome: the member did something, or joined."""
    return isinstance(event, Command | Action | FormSubmit | MemberJoined)


def _unknown(name: str) -> CommandSpec:
    return table.parse("/" + name)[0]  # raises CommandError with a suggestion


MAX_REF_CHARS = 64  # message ids and emoji names, as the store keeps them


def _cleaned(event: Event) -> Event | None:
    """What no member means to send and no database column takes: NUL characters are
    dropped from form values (PostgreSQL refuses them in text), and a reaction whose message
    id or emoji is not a plausible platform value is ignored."""
    if isinstance(event, FormSubmit) and any("\x00" in v for v in event.values.values()):
        values = {k: v.replace("\x00", "") for k, v in event.values.items()}
        return replace(event, values=values)
    if isinstance(event, Reaction):
        for value in (event.message_id, event.emoji):
            if len(value) > MAX_REF_CHARS or "\x00" in value:
                return None
    return event
