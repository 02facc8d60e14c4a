"""What every feature uses: the handler types, how entry points are declared, the Context.

Features import only this module (never ``bot.commands``, which parses text against the table
that ``bot.features`` builds), so the command table and the features form no import cycle.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat import Action, Attachment, FormSubmit, Member, MemberRef, Place, Reply
from bot.config import Settings
from bot.outbox import Outbox
from bot.ports import Clock
from bot.review import Reviewer


class Permission(Enum):
    MEMBER = "member"
    ADMIN = "admin"


class Kind(Enum):
    TEXT = "text"
    INT = "int"
    CHOICE = "choice"
    MEMBER = "member"  # a user id; text may say <@U123>, <@U123|name> or @name
    CHANNEL = "channel"  # a channel id; text may say <#C123>, <#C123|name> or #name
    FILE = "file"  # the name of a file that comes with the command (Command.files)
    ROLE = "role"  # a role id (Discord); text may say <@&123> or the id


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    kind: Kind = Kind.TEXT
    choices: tuple[str, ...] = ()
    required: bool = False
    positional: bool = True  # may be given without ``name:`` in text
    rest: bool = False  # takes the remaining free words, e.g. "daily 09:00"
    suggest: str = ""  # values the core can suggest while typing ("schedules"): App.suggest
    minimum: int | None = None
    maximum: int | None = None

    def usage(self) -> str:
        value = "|".join(self.choices) if 0 < len(self.choices) <= 4 else self.name.upper()
        text = f"{value}…" if self.rest else f"{self.name}:{value}"
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class Invocation:
    """A parsed, validated command, ready for its handler."""

    member: Member
    place: Place
    spec: CommandSpec
    options: Mapping[str, str | int]
    files: tuple[Attachment, ...] = ()

    def get(self, name: str) -> str | None:
        value = self.options.get(name)
        return None if value is None else str(value)


Handler = Callable[["Context", Invocation], Awaitable[Reply]]


@dataclass(frozen=True)
class CommandSpec:
    name: str  # one word, or "group sub" for subcommands
    help: str
    handler: Handler
    options: tuple[Option, ...] = ()
    permission: Permission = Permission.MEMBER
    example: str = ""  # one working line, as typed, shown by /help (e.g. "/quiz nlp hard")

    @property
    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(o.usage() for o in self.options)])


# What a member is told when a button or form id is not (or no longer) understood.
UNKNOWN_BUTTON = "That button is no longer understood. Run `/help` to start again."
UNKNOWN_FORM = "That form is no longer understood. Run `/help` to start again."


class CommandError(Exception):
    """Bad command input; the message says what was wrong and how to fix it."""


# ---- entry points other than commands --------------------------------------------------

ActionHandler = Callable[["Context", Action], Awaitable[Reply]]
FormHandler = Callable[["Context", FormSubmit], Awaitable[Reply]]
TimerHandler = Callable[["Context", Mapping[str, object]], Awaitable[None]]
# A neutral event (a Reaction, MemberJoined, BotAdded…): handlers take that event's type.
EventHandler = Callable[["Context", Any], Awaitable[Reply | None]]
SuggestHandler = Callable[["Context", MemberRef, str], Awaitable[list[tuple[str, str]]]]
SyncHook = Callable[["Context"], Awaitable[None]]


@dataclass(frozen=True)
class Planned:
    """A job a feature wants run, derived from the database (the truth) on every refresh.

    ``signature`` changes when the job must be re-planned; a ``trigger`` of None means the
    job is overdue (missed while down) and runs once now.
    """

    job_id: str
    signature: str
    trigger: BaseTrigger | None
    run: Callable[[datetime], Awaitable[None]]


JobSource = Callable[["Context", datetime], Awaitable[Sequence[Planned]]]


@dataclass(frozen=True)
class Feature:
    """Everything one feature answers: declared beside its handlers, wired by one list.

    ``actions`` and ``forms`` map the prefix of an id (``"drop"`` in ``drop:12:3``) to the
    handler; the feature alone builds and parses the rest of its ids. ``timers`` map the kind
    of a one-off timer (``ctx.jobs.schedule_at(action=…)``) to what runs it; ``jobs`` plan
    recurring work from the database; ``on_sync`` hooks run at start-up and on every sync
    tick (catching up on fires missed or left by a stopped instance); ``events`` map a
    neutral event's type to a handler;
    ``suggestions`` name the values an option's ``suggest`` asks for.
    """

    name: str
    commands: tuple[CommandSpec, ...] = ()
    actions: Mapping[str, ActionHandler] = field(default_factory=dict)
    forms: Mapping[str, FormHandler] = field(default_factory=dict)
    timers: Mapping[str, TimerHandler] = field(default_factory=dict)
    jobs: tuple[JobSource, ...] = ()
    on_sync: tuple[SyncHook, ...] = ()
    events: Mapping[type, EventHandler] = field(default_factory=dict)
    suggestions: Mapping[str, SuggestHandler] = field(default_factory=dict)


def prefix_of(entry_id: str) -> str:
    """The owning feature's prefix of a button or form id: the part before the first colon."""
    return entry_id.split(":", 1)[0]


# ---- what every handler gets ------------------------------------------------------------


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
    commands: tuple[CommandSpec, ...] = ()  # the table, in /help order
    # This process among the instances sharing the database (holder of the fires it claims).
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    # The optional LLM reviewer of open answers (advice only); None when not configured.
    reviewer: Reviewer | None = None
