"""The core's single entry point: a neutral event in, what to show out."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from bot import commands as table
from bot.chat import (
    Action,
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
from bot.features import answers, help, mocks, practice, privacy
from bot.handlers import CommandError, Invocation, Permission
from bot.store import ops
from bot.store.schema import members, workspaces

log = logging.getLogger(__name__)


# Members seen within this window are not written again: last_seen is approximate by design.
TOUCH_EVERY = timedelta(minutes=5)


class Core:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._touched: dict[MemberRef, tuple[str, datetime]] = {}

    async def handle(self, event: Event) -> Reply | None:
        """Handle one inbound event. Unexpected failures become a polite private error;
        every handler works in transactions, so a failure leaves nothing half-saved."""
        member = self._with_configured_admin(event.member)
        event = replace(event, member=member)
        try:
            await self._touch(member)
            return await self._dispatch(event)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("error %s handling %r", ref, event)
            return Reply.error(
                f"Something went wrong on our side (ref {ref}); nothing was saved. "
                "Please try again in a moment."
            )

    async def _dispatch(self, event: Event) -> Reply | None:
        match event:
            case Command():
                return await self._command(event)
            case Action():
                return await self._action(event)
            case FormSubmit() if event.form_id == mocks.ROUND_FORM:
                return await mocks.on_join_form(self.ctx, event)
            case FormSubmit() if event.form_id.startswith("mock:"):
                return await mocks.on_feedback(self.ctx, event)
            case FormSubmit():
                return await answers.on_form(self.ctx, event)
            case Reaction():
                await answers.on_reaction(self.ctx, event)
                return None
            case MemberJoined():
                return Reply(card=help.welcome_card(), private=True)
        raise TypeError(f"unknown event {event!r}")

    async def _command(self, event: Command) -> Reply:
        try:
            if event.text:
                spec, options = table.parse(event.text)
            else:
                spec = table.find(event.name) or _unknown(event.name)
                options = table.normalise(spec, event.options)
        except CommandError as exc:
            return Reply.error(str(exc))
        if spec.permission is Permission.ADMIN and not event.member.is_admin:
            return Reply.error(
                f"`/{spec.name}` is for admins of this workspace. Ask one to run it, or to "
                "make you an admin."
            )
        try:
            return await spec.handler(
                self.ctx, Invocation(event.member, event.place, spec, options, event.files)
            )
        except CommandError as exc:  # a handler's own check of the input
            return Reply.error(str(exc))

    async def _action(self, event: Action) -> Reply:
        """Buttons are routed by the prefix of their stable action id."""
        if event.action_id == "practice:next":
            spec = table.find("practice")
            assert spec is not None
            return await practice.on_next(self.ctx, Invocation(event.member, event.place, spec, {}))
        if event.action_id == "me:forget":
            return await privacy.on_confirm(self.ctx, event.member.ref)
        if event.action_id.startswith("mock:"):
            return await mocks.on_action(self.ctx, event)
        return await answers.on_action(self.ctx, event)

    def _with_configured_admin(self, member: Member) -> Member:
        admins = self.ctx.settings.admins
        if not member.is_admin and (member.ref.user_id in admins or member.display_name in admins):
            return replace(member, is_admin=True)
        return member

    async def _touch(self, member: Member) -> None:
        """Remember the workspace and member (display names change; identity does not)."""
        ref, now = member.ref, self.ctx.clock.now()
        seen = self._touched.get(ref)
        if seen and seen[0] == member.display_name and now - seen[1] < TOUCH_EVERY:
            return
        async with self.ctx.engine.begin() as conn:
            await ops.upsert(
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
            await ops.upsert(
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
        if len(self._touched) > 100_000:  # bound the memory of a very large community
            self._touched.clear()
        self._touched[ref] = (member.display_name, now)


def _unknown(name: str) -> table.CommandSpec:
    return table.parse("/" + name)[0]  # raises CommandError with a suggestion
