"""Core cards as Slack Block Kit: messages, modals and the Home tab. Pure functions only."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from bot.chat import Card, Form, FormField, Style, Tone, clip, pieces, plural
from bot.commands import commands

COMMAND = "/prep"
Block = dict[str, Any]

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_TEXT = 3000
MAX_FIELD = 2000
MAX_SECTION_FIELDS = 10
MAX_BUTTONS = 25
MAX_BLOCKS = 50

BUTTON_STYLES = {Style.PRIMARY: "primary", Style.SUCCESS: "primary", Style.DANGER: "danger"}
TONE_MARKS = {Tone.BAD: ":warning: "}

# Slack names reactions by short name; the core speaks Unicode. Only the emoji the core
# itself uses or members commonly vote with need a name; others pass through as :name:.
EMOJI_NAMES = {"👍": "+1", "👎": "-1", "✅": "white_check_mark", "🎉": "tada", "🔥": "fire"}
EMOJI_ALIASES = {"thumbsup": "👍", "thumbsdown": "👎"}

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_MENTION = re.compile(r"(<[#@][A-Z0-9]+>)")


@functools.cache
def _command_mentions() -> re.Pattern[str]:
    """`/word` inside code spans, and the table's own command names in prose."""
    names = "|".join(sorted({re.escape(c.name.split()[0]) for c in commands()}, reverse=True))
    return re.compile(rf"(?<=`)/(?!prep\b)(?=[a-z])|(?<![\w/`])/(?=(?:{names})\b)")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Our light markdown as Slack mrkdwn, commands written as `/prep <name>`.

    &, < and > are escaped, except in the channel and user mentions the core writes
    (<#C123>, <@U123>), which Slack shows as links."""
    parts = _MENTION.split(text)
    text = "".join(p if i % 2 else _escape(p) for i, p in enumerate(parts))
    text = _BOLD.sub(r"*\1*", text)
    return _command_mentions().sub(COMMAND + " ", text)


def _plain(text: str, limit: int) -> Block:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def _sections(text: str) -> list[Block]:
    """Text in sections of at most 3,000 characters, split at line breaks or spaces."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in pieces(text, MAX_TEXT)
    ]


def blocks(card: Card) -> list[Block]:
    """A card as message blocks: title and body, fields, buttons, then the footer. Long
    text is split over sections, never cut; past Slack's 50 blocks, the buttons and the
    footer are kept and a note says how many parts were left out."""
    title = f"*{mrkdwn(card.title)}*" if card.title else ""
    lead = "\n".join(p for p in (title, mrkdwn(card.body)) if p)
    out = _sections(TONE_MARKS.get(card.tone, "") + lead) if lead else []
    inline: list[Block] = []
    for f in card.fields:
        text = f"*{mrkdwn(f.name)}*\n{mrkdwn(f.value)}"
        if f.inline and len(text) <= MAX_FIELD:
            inline.append({"type": "mrkdwn", "text": text})
        else:  # a long inline field reads on in sections rather than being cut
            out.extend(_sections(text))
    for i in range(0, len(inline), MAX_SECTION_FIELDS):
        out.append({"type": "section", "fields": inline[i : i + MAX_SECTION_FIELDS]})
    buttons = [
        {
            "type": "button",
            "text": _plain(b.label, 75),
            "action_id": b.action_id,
            "value": b.action_id,
            **({"style": BUTTON_STYLES[b.style]} if b.style in BUTTON_STYLES else {}),
        }
        for b in card.buttons
    ]
    for i in range(0, len(buttons), MAX_BUTTONS):
        out.append({"type": "actions", "elements": buttons[i : i + MAX_BUTTONS]})
    if card.footer:
        out.append(_context(mrkdwn(card.footer)))
    return _within_limit(out) or _sections(" ")


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT)}]}


def _within_limit(out: list[Block]) -> list[Block]:
    """At most MAX_BLOCKS: the text gives way to the buttons and footer, and a note says
    how many parts did not fit, so nothing goes missing unsaid."""
    if len(out) <= MAX_BLOCKS:
        return out
    ends = [b for b in out if b["type"] in ("actions", "context")]
    body = [b for b in out if b["type"] not in ("actions", "context")]
    room = MAX_BLOCKS - len(ends) - 1
    left = len(body) - room
    note = _context(f"({plural(left, 'more part')} did not fit in one Slack message.)")
    return [*body[:room], note, *ends][:MAX_BLOCKS]


def text(card: Card) -> str:
    """The plain fallback Slack shows in notifications and to screen readers."""
    first = card.title or card.body.split("\n", 1)[0]
    return clip(_BOLD.sub(r"\1", first), MAX_TEXT) or "studybot"


def _input(f: FormField) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": f.id, "multiline": f.multiline}
    element["max_length"] = min(f.max_length, MAX_TEXT)
    if f.min_length:
        element["min_length"] = min(f.min_length, MAX_TEXT)
    if f.placeholder:
        element["placeholder"] = _plain(f.placeholder, 150)
    if f.value:
        element["initial_value"] = f.value[: element["max_length"]]
    block: Block = {"type": "input", "block_id": f.id, "optional": not f.required}
    return block | {"label": _plain(f.label, MAX_FIELD), "element": element}


def modal(form: Form, *, metadata: str) -> Block:
    """A form as a modal; ``callback_id`` carries the form id back on submit."""
    return {
        "type": "modal",
        "callback_id": form.form_id,
        "private_metadata": metadata,
        "title": _plain(form.title, 24),
        "submit": _plain("Submit", 24),
        "close": _plain("Cancel", 24),
        "blocks": [_input(f) for f in form.fields],
    }


def form_values(state: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """A submitted modal's values by field id (block id = action id = field id)."""
    return {
        block_id: str(element.get("value") or "")
        for block_id, elements in state.items()
        for element in elements.values()
    }


def emoji_name(emoji: str) -> str:
    """A core emoji as the name reactions.add wants."""
    return EMOJI_NAMES.get(emoji, emoji.strip(":"))


def emoji_from_name(name: str) -> str:
    """A reaction's name (skin tone dropped) as the core's emoji."""
    base = name.split("::", 1)[0]
    known = {v: k for k, v in EMOJI_NAMES.items()} | EMOJI_ALIASES
    return known.get(base, f":{base}:")
