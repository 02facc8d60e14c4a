"""Application commands generated from the core's table, and their interactions read back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import discord

from adapters.discord.render import clip
from bot.handlers import CommandSpec, Kind, Option, Permission

CHAT_INPUT = 1
SUB_COMMAND = 1
GUILD_CONTEXT = 0  # identity is per server, so commands are offered in servers only
GUILD_INSTALL = 0
OPTION_TYPES = {
    Kind.TEXT: 3,
    Kind.CHOICE: 3,
    Kind.INT: 4,
    Kind.MEMBER: 6,
    Kind.CHANNEL: 7,
    Kind.FILE: 11,  # an attachment: the value is its id, the file is in data.resolved
    Kind.ROLE: 8,
}
TEXT_CHANNELS = [0, 5]  # text and announcement channels: where cards can be posted
AUTOCOMPLETE_OVER = 10  # longer choice lists are filtered as you type instead of a fixed menu
MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)


class OptionData(TypedDict):
    """One option of an application-command interaction (Discord's payload)."""

    name: str
    type: int
    value: NotRequired[str | int | float | bool]
    options: NotRequired[list[OptionData]]
    focused: NotRequired[bool]


class AttachmentData(TypedDict):
    filename: str
    url: str


class CommandData(TypedDict):
    name: str
    options: NotRequired[list[OptionData]]
    resolved: NotRequired[dict[str, dict[str, AttachmentData]]]  # "attachments" by id


def payloads(specs: Sequence[CommandSpec]) -> list[dict[str, Any]]:
    """The bulk-overwrite payload: "group sub" names become a command with subcommands.

    A top-level command is hidden from members (``default_member_permissions``: Manage
    Server) only when every command under it is for admins; the core checks anyway.
    """
    groups: dict[str, list[CommandSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.name.split()[0], []).append(spec)
    out = []
    for name, specs in groups.items():
        subs = [s for s in specs if " " in s.name]
        if subs and len(subs) != len(specs):
            raise ValueError(f"/{name} is both a command and a group; Discord allows one")
        admin_only = all(s.permission is Permission.ADMIN for s in specs)
        out.append(
            {
                "name": name,
                "type": CHAT_INPUT,
                "description": clip("; ".join(s.help for s in specs), 100),
                "options": [_sub(s) for s in subs] if subs else _options(specs[0].options),
                "default_member_permissions": MANAGE_GUILD if admin_only else None,
                "contexts": [GUILD_CONTEXT],
                "integration_types": [GUILD_INSTALL],
            }
        )
    return out


def _sub(spec: CommandSpec) -> dict[str, Any]:
    return {
        "type": SUB_COMMAND,
        "name": spec.name.split()[1],
        "description": clip(spec.help, 100),
        "options": _options(spec.options),
    }


def _options(options: Sequence[Option]) -> list[dict[str, Any]]:
    # Discord wants required options first.
    return [_option(o) for o in sorted(options, key=lambda o: not o.required)]


def _option(option: Option) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": OPTION_TYPES[option.kind],
        "name": option.name,
        "description": clip(option.help, 100),
        "required": option.required,
    }
    if option.kind is Kind.CHOICE:
        if len(option.choices) > AUTOCOMPLETE_OVER:
            out["autocomplete"] = True
        else:
            out["choices"] = [{"name": c, "value": c} for c in option.choices]
    if option.suggest:  # values the core looks up as the member types
        out["autocomplete"] = True
    if option.kind is Kind.CHANNEL:
        out["channel_types"] = TEXT_CHANNELS
    if option.minimum is not None:
        out["min_value"] = option.minimum
    if option.maximum is not None:
        out["max_value"] = option.maximum
    return out


def invocation(data: CommandData) -> tuple[str, dict[str, object], str | None]:
    """The table's command name, the option values, and the option being typed (autocomplete)."""
    name, options = data["name"], data.get("options", [])
    if options and options[0]["type"] == SUB_COMMAND:
        name, options = f"{name} {options[0]['name']}", options[0].get("options", [])
    values: dict[str, object] = {o["name"]: o["value"] for o in options if "value" in o}
    focused = next((o["name"] for o in options if o.get("focused")), None)
    return name, values, focused


def attachments(data: CommandData, values: dict[str, object]) -> list[AttachmentData]:
    """The files attached through ATTACHMENT options; their option values become file names."""
    resolved = data.get("resolved", {}).get("attachments", {})
    found = []
    for name, value in values.items():
        attachment = resolved.get(str(value))
        if attachment is not None:
            values[name] = attachment["filename"]
            found.append(attachment)
    return found


def suggestions(spec: CommandSpec, option_name: str, typed: str) -> list[str]:
    """Choices matching what was typed: prefix matches first, then any that contain it."""
    option = next((o for o in spec.options if o.name == option_name), None)
    if option is None:
        return []
    typed = typed.strip().lower()
    ranked = sorted(
        (c for c in option.choices if typed in c.lower()),
        key=lambda c: not c.lower().startswith(typed),
    )
    return ranked[:25]
