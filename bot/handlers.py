"""The types every feature uses to declare and handle its entry points (a leaf module).

Features import only this module (never ``bot.commands``, which parses text against the table
that ``bot.features`` builds), so the command table and the features form no import cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from bot.chat import Attachment, Member, Place, Reply

if TYPE_CHECKING:
    from bot.context import Context


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

    @property
    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(o.usage() for o in self.options)])


class CommandError(Exception):
    """Bad command input; the message says what was wrong and how to fix it."""
