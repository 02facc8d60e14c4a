"""Slack payloads (the fields we read) and their translation into neutral events."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from adapters.slack import blocks
from bot.chat import Action, Command, FormSubmit, Member, Place, Reaction

PLATFORM = "slack"


class Team(TypedDict):
    id: str


class User(TypedDict, total=False):
    id: str
    username: str


class SlashCommand(TypedDict, total=False):
    team_id: str
    channel_id: str
    user_id: str
    user_name: str
    text: str
    response_url: str
    trigger_id: str


class BlockActions(TypedDict, total=False):
    team: Team
    user: User
    channel: Team
    container: dict[str, str]  # channel_id, message_ts (ephemeral messages have only these)
    message: dict[str, Any]  # ts, thread_ts
    actions: list[dict[str, Any]]  # action_id
    response_url: str
    trigger_id: str


class View(TypedDict, total=False):
    callback_id: str
    private_metadata: str
    state: dict[str, dict[str, dict[str, dict[str, Any]]]]


class ViewSubmission(TypedDict, total=False):
    team: Team
    user: User
    view: View


class ReactionEvent(TypedDict, total=False):
    type: str
    user: str
    reaction: str
    item: dict[str, str]  # type, channel, ts


def unescape(text: str) -> str:
    """Slack escapes &, < and > in command text; mentions (<@U1|name>) stay as sent."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def command(body: SlashCommand, member: Member) -> Command:
    """`/prep quiz topic:nlp` is the core's `/quiz topic:nlp`; `/prep` alone is `/help`."""
    text = unescape(body.get("text", "")).strip() or "help"
    return Command(member, Place(PLATFORM, body["team_id"], body["channel_id"]), text="/" + text)


def action(body: BlockActions, member: Member) -> Action:
    container, message = body.get("container", {}), body.get("message", {})
    channel = body.get("channel", {}).get("id") or container.get("channel_id", "")
    ts = message.get("ts") or container.get("message_ts", "")
    thread = message.get("thread_ts")
    place = Place(PLATFORM, body["team"]["id"], channel, thread if thread != ts else None)
    return Action(member, place, body["actions"][0]["action_id"], ts)


def metadata(place: Place, response_url: str | None) -> str:
    """What a modal carries from the button press to its submission."""
    return json.dumps([place.channel_id, place.thread_id, response_url])


def read_metadata(view: View) -> tuple[str, str | None, str | None]:
    """The channel, thread and response_url a modal was opened from."""
    channel, thread, response_url = json.loads(view.get("private_metadata") or '["", null, null]')
    return channel, thread, response_url


def form(body: ViewSubmission, member: Member) -> FormSubmit:
    view = body["view"]
    channel, thread, _ = read_metadata(view)
    place = Place(PLATFORM, body["team"]["id"], channel, thread)
    values = blocks.form_values(view.get("state", {}).get("values", {}))
    return FormSubmit(member, place, view["callback_id"], values)


def reaction(team_id: str, event: ReactionEvent, member: Member) -> Reaction:
    item, added = event["item"], event["type"] == "reaction_added"
    emoji = blocks.emoji_from_name(event["reaction"])
    return Reaction(member, Place(PLATFORM, team_id, item["channel"]), item["ts"], emoji, added)
