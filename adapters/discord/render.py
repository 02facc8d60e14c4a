"""Core cards, buttons and forms as Discord embeds, views and modals (pure functions)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.chat import Attachment, Button, Card, Form, Tone, pieces, plural
from bot.chat import clip as clip  # re-exported: commands and platform cut names with it

COLOURS = {
    Tone.NEUTRAL: discord.Colour.light_grey(),
    Tone.QUESTION: discord.Colour.blurple(),
    Tone.GOOD: discord.Colour.green(),
    Tone.BAD: discord.Colour.red(),
    Tone.INFO: discord.Colour.blue(),
}
EMPTY = "\u200b"  # Discord refuses empty embed field names and values
EMBED_TOTAL = 6000
TITLE, DESCRIPTION, FOOTER = 256, 4096, 2048
FIELD_NAME, FIELD_VALUE, FIELDS = 256, 1024, 25

Fields = list[tuple[str, str, bool]]


def embed(card: Card) -> discord.Embed:
    """A card as an embed within Discord's limits. Text is cut only at a word, with an
    ellipsis. A field longer than Discord's 1,024 characters goes on in the fields after it,
    so a member's long answer is shown whole. Past the 6,000-character total the body gives
    way first; a field that still does not fit is left out and the footer says so."""
    title = clip(card.title, TITLE)
    fields, footer = _fit(_fields(card), EMBED_TOTAL - len(title), card.footer)
    room = EMBED_TOTAL - len(title) - len(footer) - sum(len(n) + len(v) for n, v, _ in fields)
    out = discord.Embed(
        title=title or None,
        description=clip(card.body, min(DESCRIPTION, room)) or None,
        colour=COLOURS[card.tone],
    )
    for name, value, inline in fields:
        out.add_field(name=name, value=value, inline=inline)
    if footer:
        out.set_footer(text=footer)
    return out


def _fields(card: Card) -> Fields:
    """The card's fields, each long value split at line breaks or spaces into fields that
    follow it under a blank name, so it reads on as one."""
    out: Fields = []
    for field in card.fields:
        parts = pieces(field.value, FIELD_VALUE) or [EMPTY]
        for i, part in enumerate(parts):
            name = (clip(field.name, FIELD_NAME) or EMPTY) if i == 0 else EMPTY
            out.append((name, part or EMPTY, field.inline and len(parts) == 1))
    return out


def _fit(fields: Fields, room: int, footer_text: str) -> tuple[Fields, str]:
    """The fields that fit in ``room`` beside the footer, and the footer, which names what
    was left out: nothing is dropped silently."""
    footer = clip(footer_text, FOOTER)
    kept = _take(fields, room - len(footer))
    while len(kept) < len(fields):
        left = len(fields) - len(kept)
        note = f"({plural(left, 'more part')} did not fit in one Discord message.)"
        footer = "\n".join(filter(None, (clip(footer_text, FOOTER - len(note) - 1), note)))
        kept = _take(fields, room - len(footer))
        if len(fields) - len(kept) == left:
            break
    return kept, footer


def _take(fields: Fields, room: int) -> Fields:
    kept: Fields = []
    for name, value, inline in fields[:FIELDS]:
        if len(name) + len(value) > room:
            break
        room -= len(name) + len(value)
        kept.append((name, value, inline))
    return kept


def with_server(custom_id: str, server: str | None) -> str:
    """Buttons and forms sent in a DM carry their server: a DM interaction has none, and a
    member's identity is per server."""
    return custom_id if server is None else f"@{server}|{custom_id}"


def split_server(custom_id: str) -> tuple[str | None, str]:
    """The server a DM button or form belongs to (None elsewhere), and the core's id."""
    if custom_id.startswith("@") and "|" in custom_id:
        server, _, rest = custom_id[1:].partition("|")
        if server.isdigit():
            return server, rest
    return None, custom_id


def view(buttons: Sequence[Button], *, server: str | None = None) -> discord.ui.View:
    """Buttons whose ``custom_id`` is the core's stable action id.

    The view is stopped before it is sent, so discord.py keeps nothing in memory for it:
    every press arrives in ``on_interaction`` and is routed by its custom_id, which is why
    buttons keep working after a restart.
    """
    out = discord.ui.View(timeout=None)
    for button in buttons[:25]:
        out.add_item(
            discord.ui.Button(
                label=clip(button.label, 80),
                custom_id=with_server(button.action_id, server),
                style=discord.ButtonStyle[button.style.value],  # the same four names
            )
        )
    out.stop()
    return out


def message(
    card: Card,
    *,
    clear: bool = False,
    files: Sequence[Attachment] = (),
    server: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for send/edit. ``clear`` removes buttons a message had before;
    ``server`` marks buttons sent in a DM with the server they belong to."""
    kwargs: dict[str, Any] = {"embed": embed(card)}
    if card.buttons:
        kwargs["view"] = view(card.buttons, server=server)
    elif clear:
        kwargs["view"] = None
    if files:
        kwargs["files"] = [discord.File(io.BytesIO(f.content), filename=f.name) for f in files]
    return kwargs


def modal(form: Form, *, server: str | None = None) -> discord.ui.Modal:
    """A form as a modal; like views it is stopped, and its submit reaches ``on_interaction``."""
    custom_id = with_server(form.form_id, server)
    out = discord.ui.Modal(title=clip(form.title, 45), custom_id=custom_id, timeout=None)
    for field in form.fields[:5]:
        out.add_item(
            discord.ui.TextInput(
                label=clip(field.label, 45),
                custom_id=field.id,
                style=discord.TextStyle.paragraph if field.multiline else discord.TextStyle.short,
                required=field.required,
                min_length=field.min_length or None,
                max_length=min(field.max_length, 4000),
                placeholder=clip(field.placeholder, 100) or None,
                default=field.value[: min(field.max_length, 4000)] or None,
            )
        )
    out.stop()
    return out


def form_values(components: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The submitted text inputs of a modal, by custom_id (rows and labels are walked)."""
    values: dict[str, str] = {}
    for component in components:
        if "custom_id" in component and "value" in component:
            values[str(component["custom_id"])] = str(component["value"])
        nested = list(component.get("components", ()))
        if "component" in component:
            nested.append(component["component"])
        values.update(form_values(nested))
    return values
