"""/ping: is studybot alive, and is its clock ticking? A reply now, a DM later on request.

A whole feature in one module: a command, a button, a form and a timer, declared in
``FEATURE`` and wired by the list in bot/features/__init__.py (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from bot.chat import (
    Action,
    Button,
    Card,
    Form,
    FormField,
    FormSubmit,
    MemberRef,
    Reply,
    Style,
    Tone,
    plural,
)
from bot.context import Context
from bot.handlers import CommandError, CommandSpec, Feature, Invocation

PREFIX = "ping"
LATER = f"{PREFIX}:later"  # the button, and the form it opens
TIMER = "ping-later"
MAX_MINUTES = 24 * 60


async def ping_command(ctx: Context, inv: Invocation) -> Reply:
    now = ctx.clock.now()
    return Reply(
        card=Card(
            title="Pong",
            body=f"studybot is here; its clock says {now:%Y-%m-%d %H:%M} UTC.",
            footer="Press the button to check that timed work runs too.",
            buttons=(Button("Ping me later", LATER, Style.SECONDARY),),
            tone=Tone.GOOD,
        )
    )


async def on_action(ctx: Context, action: Action) -> Reply:
    if action.action_id != LATER:
        raise CommandError("That button is no longer understood. Run `/ping` again.")
    return Reply(
        form=Form(
            form_id=LATER,
            title="Ping me later",
            fields=(
                FormField(
                    "minutes",
                    "In how many minutes?",
                    multiline=False,
                    max_length=4,
                    placeholder=f"1 to {MAX_MINUTES}",
                ),
            ),
        )
    )


def _minutes(text: str) -> int:
    text = text.strip()
    if not text.isdecimal() or len(text) > 6 or not 1 <= int(text) <= MAX_MINUTES:
        shown = text if len(text) <= 20 else text[:19] + "…"
        raise CommandError(
            f"`{shown}` is not a number of minutes from 1 to {MAX_MINUTES}; press the button "
            "and try e.g. 5."
        )
    return int(text)


async def on_form(ctx: Context, submit: FormSubmit) -> Reply:
    minutes = _minutes(submit.values.get("minutes", ""))
    ref = submit.member.ref
    when = ctx.clock.now() + timedelta(minutes=minutes)
    await ctx.jobs.schedule_at(
        key=f"{PREFIX}:{ref.platform}:{ref.workspace_id}:{ref.user_id}",
        when=when,
        action=TIMER,
        payload={"platform": ref.platform, "workspace": ref.workspace_id, "user": ref.user_id},
        platform=ref.platform,
        workspace_id=ref.workspace_id,
    )
    return Reply.text(
        f"I will send you a direct message in {plural(minutes, 'minute')}, at {when:%H:%M} UTC."
    )


async def on_timer(ctx: Context, payload: Mapping[str, object]) -> None:
    member = MemberRef(str(payload["platform"]), str(payload["workspace"]), str(payload["user"]))
    await ctx.platform.dm(
        member, Card(title="Pong, later", body="Timed work runs: this came from /ping.")
    )


FEATURE = Feature(
    "ping",
    commands=(
        CommandSpec(
            "ping",
            "Check that studybot answers, and that its timers run",
            ping_command,
            example="/ping",
        ),
    ),
    actions={PREFIX: on_action},
    forms={PREFIX: on_form},
    timers={TIMER: on_timer},
)
