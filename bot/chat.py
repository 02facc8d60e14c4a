"""Platform-neutral chat types: who, where, what to show, and what happened.

Adapters translate their platform's payloads into these events and render these cards;
the core never sees a Discord or Slack object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

ELLIPSIS = "…"
_LAST_GAP = re.compile(r"\s+\S*\Z")  # the whitespace before the word a cut would split
_LOOSE_END = " \t\n,;:.-–—·("  # left off the end of a cut, before the ellipsis


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: whole, or cut after its last whole word that
    fits, with an ellipsis. Line breaks are kept. Only a single word longer than the whole
    limit is cut inside itself, as there is no word boundary to cut at."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[: max(limit, 0)]
    room = text[: limit - len(ELLIPSIS)]
    if not text[len(room)].isspace():  # the cut falls inside a word: drop that word
        gap = _LAST_GAP.search(room)
        if gap is not None and gap.start() > 0:
            room = room[: gap.start()]
    return (room.rstrip(_LOOSE_END) or room) + ELLIPSIS


def pieces(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, for a platform that caps one block
    of text: cut at a line break (or, if that would leave a piece under half full, at a
    space) so no word is split, unless a single word is longer than ``limit``."""
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= limit // 2:
            cut = max(text.rfind(" ", 0, limit + 1), cut)
        if cut <= 0:
            cut = limit
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n ")
    return [*out, text] if text else out


def plural(count: int, one: str, many: str = "") -> str:
    """The count with its noun in the right number: "1 day", "2 days", "0 answers";
    ``many`` for nouns that do not just take an s ("1 reply", "3 replies")."""
    return f"{count:,} {one if count == 1 else many or one + 's'}"


@dataclass(frozen=True)
class MemberRef:
    """The opaque identity of a member: unique across platforms and workspaces."""

    platform: str
    workspace_id: str
    user_id: str


@dataclass(frozen=True)
class Member:
    """A member as an adapter reports them: identity plus facts for rendering and permission."""

    ref: MemberRef
    display_name: str
    is_admin: bool = False

    @property
    def mention(self) -> str:
        return f"@{self.display_name}"


@dataclass(frozen=True)
class Place:
    """Where a message lives: a channel in a workspace, optionally a thread in it."""

    platform: str
    workspace_id: str
    channel_id: str
    thread_id: str | None = None

    def in_thread(self, thread_id: str) -> Place:
        return Place(self.platform, self.workspace_id, self.channel_id, thread_id)


class Style(Enum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SUCCESS = "success"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """A button; ``action_id`` is stable so a press still works after a restart."""

    label: str
    action_id: str
    style: Style = Style.SECONDARY


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = False


class Tone(Enum):
    """The card's accent: adapters map it to a colour."""

    NEUTRAL = "neutral"
    QUESTION = "question"
    GOOD = "good"
    BAD = "bad"
    INFO = "info"


@dataclass(frozen=True)
class Card:
    title: str
    body: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    footer: str = ""
    tone: Tone = Tone.NEUTRAL


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    multiline: bool = True
    required: bool = True
    min_length: int = 0
    max_length: int = 2000
    placeholder: str = ""
    value: str = ""  # text the field opens with, for the member to edit (a draft)


@dataclass(frozen=True)
class Form:
    """A form to open for the member; ``form_id`` comes back on submit."""

    form_id: str
    title: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class Reply:
    """What a handler wants shown in answer to an interaction.

    A card (private to the member by default) or a form to open; never both. ``files`` go
    with the card (an export, a chart). ``notes`` are further private cards for the member,
    shown after it (the one first-contact welcome).
    """

    card: Card | None = None
    private: bool = True
    form: Form | None = None
    files: tuple[Attachment, ...] = ()
    notes: tuple[Card, ...] = ()

    @staticmethod
    def text(message: str, *, title: str = "", tone: Tone = Tone.INFO) -> Reply:
        return Reply(card=Card(title=title, body=message, tone=tone))

    @staticmethod
    def error(message: str) -> Reply:
        return Reply(card=Card(title="", body=message, tone=Tone.BAD))


# ---- inbound events -------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file that came with a command (a Discord attachment, a Slack file, a console path)."""

    name: str
    content: bytes


@dataclass(frozen=True)
class Command:
    """A slash command. ``text`` for platforms without typed options (Slack, console);
    ``name`` + ``options`` for platforms that parse them (Discord)."""

    member: Member
    place: Place
    text: str = ""
    name: str = ""
    options: Mapping[str, object] = field(default_factory=dict)
    files: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Action:
    """A button press on a message."""

    member: Member
    place: Place
    action_id: str
    message_id: str = ""


@dataclass(frozen=True)
class FormSubmit:
    member: Member
    place: Place
    form_id: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class Reaction:
    """A reaction added to (or, with ``added=False``, removed from) a message."""

    member: Member
    place: Place
    message_id: str
    emoji: str
    added: bool = True


@dataclass(frozen=True)
class MemberJoined:
    member: Member
    place: Place


@dataclass(frozen=True)
class BotAdded:
    """The bot was added to a workspace, server or channel; ``member`` added it, if known."""

    place: Place
    member: Member | None = None


Event = Command | Action | FormSubmit | Reaction | MemberJoined | BotAdded
