"""Events API: welcomes, the Home tab, and Slack's retries."""

from __future__ import annotations

import aiohttp

from adapters.settings import SlackSettings
from adapters.slack import SlackBot, build_platform
from bot.app import build_app
from bot.config import Settings
from tests.adapters.slack.conftest import ADMIN, ALICE, CHANNEL, DAVE, ERIN, Http, SlackChat
from tests.conftest import mini_bank
from tests.fakes.slack_api import BOT_USER, FakeSlack


def joined(user: str, **extra: str) -> dict[str, str]:
    return {"type": "member_joined_channel", "user": user, "channel": CHANNEL, "team": "T1"} | extra


async def test_joining_member_gets_a_private_welcome(chat: SlackChat, fake: FakeSlack) -> None:
    """A member joining the channel sees a short welcome only they can see."""
    await chat.event(joined(DAVE))
    welcome = await fake.next_call("chat.postEphemeral")
    assert (welcome.args["channel"], welcome.args["user"]) == (CHANNEL, DAVE)
    assert "*Welcome to the study group!*" in welcome.text
    assert "`/prep quiz`" in welcome.text


async def test_retried_event_is_handled_once(slack: SlackChat, fake: FakeSlack) -> None:
    """Slack's retry of an event (same event_id) does nothing the second time."""
    await slack.event(joined(DAVE), event_id="Ev-join")
    await slack.event(joined(DAVE), event_id="Ev-join", retry=1)
    await slack.event(joined(ERIN), event_id="Ev-other")
    assert [c.args["user"] for c in fake.of("chat.postEphemeral")] == [DAVE, ERIN]


async def test_a_member_is_welcomed_once_whatever_comes_first(
    chat: SlackChat, fake: FakeSlack
) -> None:
    """First contact by a command: the answer, then the welcome; joining later adds none."""
    answer = await chat.command("help", as_=DAVE)
    welcome = await fake.next_call("respond")
    assert "*studybot*" in answer.text and "*Welcome to the study group!*" in welcome.text
    again = await chat.command("help", as_=DAVE)
    await chat.event(joined(DAVE))
    assert "*studybot*" in again.text
    assert [c for c in fake.of("respond") if "Welcome" in c.text] == [welcome]
    assert fake.of("chat.postEphemeral") == []


async def test_studybot_joining_guides_whoever_added_it(chat: SlackChat, fake: FakeSlack) -> None:
    """When studybot itself is added, the inviter gets the setup note, not a welcome."""
    await chat.event(joined(BOT_USER, inviter=ADMIN))
    note = await fake.next_call("chat.postEphemeral")
    assert note.args["user"] == ADMIN
    assert "*Thanks for adding studybot*" in note.text and "`/prep drop now`" in note.text


async def test_home_tab_shows_the_members_stats(chat: SlackChat, fake: FakeSlack) -> None:
    """Opening the app's Home tab publishes the member's summary and how to take part."""
    await chat.event({"type": "app_home_opened", "user": ALICE, "channel": "D1", "tab": "home"})
    home = await fake.next_call("views.publish")
    assert home.args["user_id"] == ALICE and home.args["view"]["type"] == "home"
    assert "*studybot · alice*" in home.text and "No answers yet" in home.text
    assert "*How to take part*" in home.text


async def test_messages_tab_publishes_nothing(chat: SlackChat, fake: FakeSlack) -> None:
    """Opening the Messages tab is not a reason to publish the Home view."""
    await chat.event({"type": "app_home_opened", "user": ALICE, "channel": "D1", "tab": "messages"})
    assert not fake.of("views.publish")


async def test_an_event_reaching_two_instances_and_a_restart_is_handled_once(
    chat: SlackChat, fake: FakeSlack, settings: Settings, config: SlackSettings
) -> None:
    """Slack retries the same event to another process, then again after a restart: the
    database, shared by every instance, knows it was handled."""
    added = joined(BOT_USER, inviter=ADMIN)  # answered every time it is handled
    await chat.event(added, event_id="Ev-shared")
    for _ in range(2):  # a second instance, then that instance again after a restart
        other_app = await build_app(
            settings=settings, platform=build_platform(config), items=mini_bank()
        )
        other = SlackBot(config, other_app)
        try:
            port = await other.start_http("127.0.0.1", 0)
            async with aiohttp.ClientSession() as session:
                http = Http(f"http://127.0.0.1:{port}/slack/events", session)
                await SlackChat(fake, other, http).event(added, event_id="Ev-shared", retry=1)
        finally:
            await other.stop()
            await other_app.close()
    assert [c.args["user"] for c in fake.of("chat.postEphemeral")] == [ADMIN]
