"""`studybot slack-manifest`: the app manifest generated from the command table."""

from __future__ import annotations

from typing import Any

import yaml

from adapters.slack import manifest
from bot.commands import commands


def load(**kwargs: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(manifest.render(**kwargs))
    return data


def test_manifest_lists_every_command() -> None:
    """The YAML is valid and `/prep`'s usage hint names every command of the table."""
    data = load(socket_mode=True)
    (command,) = data["features"]["slash_commands"]
    assert command["command"] == "/prep" and command["should_escape"] is True
    for spec in commands():
        assert spec.name in command["usage_hint"]
        assert spec.name.split()[0] in command["description"]
    assert len(command["usage_hint"]) <= 1000 and len(command["description"]) <= 2000


def test_socket_mode_manifest_needs_no_url() -> None:
    """In Socket Mode there is no request URL anywhere, and socket mode is on."""
    data = load(socket_mode=True)
    assert data["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in data["settings"]["event_subscriptions"]
    assert "url" not in data["features"]["slash_commands"][0]


def test_http_manifest_points_everything_at_the_request_url() -> None:
    """In HTTP mode, commands, events and interactivity all go to /slack/events."""
    url = "https://bot.example.org/slack/events"
    data = load(socket_mode=False, request_url=url)
    settings = data["settings"]
    assert settings["socket_mode_enabled"] is False
    assert data["features"]["slash_commands"][0]["url"] == url
    assert settings["event_subscriptions"]["request_url"] == url
    assert settings["interactivity"] == {"is_enabled": True, "request_url": url}


def test_scopes_events_and_home_tab() -> None:
    """The scopes the adapter uses, the four bot events, and the Home tab."""
    data = load(socket_mode=True)
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "reactions:read", "reactions:write", "users:read"} <= scopes
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {
        "member_joined_channel",
        "app_home_opened",
        "reaction_added",
        "reaction_removed",
    }
    assert data["features"]["app_home"]["home_tab_enabled"] is True
