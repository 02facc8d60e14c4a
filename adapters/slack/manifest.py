"""The Slack app manifest, generated from the command table (`studybot slack-manifest`)."""

from __future__ import annotations

import yaml

from adapters.slack.blocks import COMMAND
from adapters.slack.listeners import EVENTS_PATH
from bot.commands import commands

# Each scope is here for something the adapter does; docs/slack.md says the same.
BOT_SCOPES = (
    "commands",  # the /prep slash command
    "chat:write",  # drops, reveals, answer threads, ephemeral replies, closing a drop
    "reactions:read",  # reaction_added / reaction_removed: votes on open answers
    "reactions:write",  # the bot's 👍 on each open answer at a reveal
    "users:read",  # display names, and workspace admins/owners for admin commands
    "channels:read",  # member_joined_channel in public channels (the welcome)
    "groups:read",  # member_joined_channel in private channels
    "files:read",  # `/prep questions import` reads the pack the admin shared in the channel
    "files:write",  # exports and charts (private ones go to the member's DM)
    "im:write",  # direct messages to one member
    "mpim:write",  # group messages for a few members
    # After a post whose answer was lost, read the channel back for the message carrying its
    # key instead of posting twice (only studybot's own recent messages are looked at).
    "channels:history",
    "groups:history",
)
BOT_EVENTS = ("app_home_opened", "member_joined_channel", "reaction_added", "reaction_removed")
PLACEHOLDER_URL = "https://studybot.example.com" + EVENTS_PATH
MAX_HINT = 1000  # Slack's limits for a slash command's usage hint and description
MAX_DESCRIPTION = 2000


def usage_hint() -> str:
    """Every subcommand with its options (`quiz [topic] [difficulty] [kind] | …`), or only
    the names once that outgrows Slack's 1000 characters."""
    full = " | ".join(
        " ".join([c.name, *(o.name if o.required else f"[{o.name}]" for o in c.options)])
        for c in commands()
    )
    return full if len(full) <= MAX_HINT else " | ".join(c.name for c in commands())[:MAX_HINT]


def manifest(*, socket_mode: bool, request_url: str | None = None) -> dict[str, object]:
    """The app manifest; in HTTP mode Slack posts everything to ``request_url``."""
    url = {} if socket_mode else {"url": request_url or PLACEHOLDER_URL}
    request = {} if socket_mode else {"request_url": request_url or PLACEHOLDER_URL}
    names = ", ".join(dict.fromkeys(c.name.split()[0] for c in commands()))
    return {
        "display_information": {
            "name": "studybot",
            "description": "Machine-learning interview practice for your study group",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "studybot", "always_online": True},
            "slash_commands": [
                {
                    "command": COMMAND,
                    **url,
                    "description": f"studybot: {names}"[:MAX_DESCRIPTION],
                    "usage_hint": usage_hint(),
                    "should_escape": True,
                }
            ],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {**request, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, **request},
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def render(*, socket_mode: bool, request_url: str | None = None) -> str:
    """The manifest as YAML, to paste into https://api.slack.com/apps → From a manifest."""
    data = manifest(socket_mode=socket_mode, request_url=request_url)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
