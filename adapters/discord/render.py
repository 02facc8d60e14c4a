"""Core cards, buttons and forms as Discord embeds, views and modals (pure functions)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.chat import Attachment, Button, Card, Form, Tone

COLOURS = {
    Tone.NEUTRAL: discord.Colour.light_grey(),
    Tone.QUESTION: discord.Colour.blurple(),
    Tone.GOOD: discord.Colour.green(),
    Tone.BAD: discord.Colour.red(),
    Tone.INFO: discord.Colour.blue(),
}
EMPTY = "\u200b"  # Discord refuses empty embed field names and values
EMBED_TOTAL = 6000


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if limit > 0 else ""


def embed(card: Card) -> discord.Embed:
    """A card as an embed within Discord's limits: long text is clipped, and fields that
    would pass the 6000-character total are left out (the body gives way first)."""
    title, footer = clip(card.title, 256), clip(card.footer, 2048)
    room = EMBED_TOTAL - len(title) - len(footer)
    fields = []
    for f in card.fields[:25]:
        name, value = clip(f.name, 256) or EMPTY, clip(f.value, 1024) or EMPTY
        if len(name) + len(value) > room:
            break
        room -= len(name) + len(value)
        fields.append((name, value, f.inline))
    out = discord.Embed(
        title=title or None,
        description=clip(card.body, min(4096, room)) or None,
        colour=COLOURS[card.tone],
    )
    for name, value, inline in fields:
        out.add_field(name=name, value=value, inline=inline)
    if footer:
        out.set_footer(text=footer)
    return out


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
