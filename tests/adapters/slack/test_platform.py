"""The Platform port on the Web API: posts, threads, DMs, reactions, and rate limits."""

from __future__ import annotations

import pytest

from adapters.settings import SlackSettings
from adapters.slack import SlackPlatform, make_client
from bot.chat import Button, Card, MemberRef, Place
from bot.outbox import Outbox
from bot.ports import PlatformError
from tests.adapters.slack.conftest import ALICE, BOB, CHANNEL, OUTSIDE
from tests.fakes.slack_api import TEAM, FakeSlack

HERE = Place("slack", TEAM, CHANNEL)
CARD = Card(title="Question drop", body="Why?", buttons=(Button("Answer", "drop:1:open"),))


@pytest.fixture
def platform(config: SlackSettings) -> SlackPlatform:
    return SlackPlatform(make_client(config))


async def test_post_edit_and_thread(platform: SlackPlatform, fake: FakeSlack) -> None:
    """A post returns its ts; edits and thread replies address the message by that ts."""
    ts = await platform.post(HERE, CARD)
    post = fake.of("chat.postMessage")[0]
    assert post.result["ts"] == ts and post.args["text"] == "Question drop"
    assert post.buttons[0]["action_id"] == "drop:1:open"
    await platform.edit(HERE, ts, Card(title="Closed"))
    assert fake.of("chat.update")[0].args["ts"] == ts
    thread = await platform.open_thread(HERE, ts, "Answers")
    assert thread == Place("slack", TEAM, CHANNEL, ts)
    await platform.post(thread, Card(title="An answer"))
    assert fake.of("chat.postMessage")[1].args["thread_ts"] == ts


async def test_dm_and_group(platform: SlackPlatform, fake: FakeSlack) -> None:
    """DMs and small groups are conversations.open, then a post there."""
    await platform.dm(MemberRef("slack", TEAM, ALICE), Card(title="Hi"))
    assert fake.of("conversations.open")[0].args["users"] == ALICE
    assert fake.of("chat.postMessage")[0].args["channel"] == f"D{ALICE}"
    group = await platform.open_group(
        [MemberRef("slack", TEAM, ALICE), MemberRef("slack", TEAM, BOB)], "Pair"
    )
    assert group == Place("slack", TEAM, f"G{ALICE}-{BOB}")


async def test_reactions_use_slack_names(platform: SlackPlatform, fake: FakeSlack) -> None:
    """👍 is added as "+1"; a reaction that is already there is not an error."""
    await platform.add_reaction(HERE, "1.2", "👍")
    fake.fail("reactions.add", 200, "already_reacted")
    await platform.add_reaction(HERE, "1.2", "👍")
    assert [(c.args["timestamp"], c.args["name"]) for c in fake.of("reactions.add")] == [
        ("1.2", "+1"),
        ("1.2", "+1"),
    ]


async def test_rate_limit_is_waited_out(platform: SlackPlatform, fake: FakeSlack) -> None:
    """A 429 with Retry-After is retried once, by the core's Outbox, after pausing that
    channel for as long as Slack asked; the post lands once."""
    now = [0.0]

    async def wait(seconds: float) -> None:
        now[0] += seconds

    fake.fail("chat.postMessage", 429, "ratelimited", **{"Retry-After": "3"})
    ts = await Outbox(platform, sleep=wait, clock=lambda: now[0]).post(HERE, CARD)
    assert now[0] >= 3.0  # the pause Slack asked for was kept before the retry
    calls = fake.of("chat.postMessage")
    assert len(calls) == 2 and calls[1].result["ts"] == ts


async def test_lasting_rate_limit_tells_the_core_when_to_retry(
    config: SlackSettings, fake: FakeSlack
) -> None:
    """The client does not retry: the core gets PlatformError with Slack's Retry-After."""
    platform = SlackPlatform(make_client(config))
    fake.fail("chat.postMessage", 429, "ratelimited", **{"Retry-After": "7"})
    with pytest.raises(PlatformError) as raised:
        await platform.post(HERE, CARD)
    assert raised.value.retry_after == 7.0


async def test_other_errors_are_final(platform: SlackPlatform, fake: FakeSlack) -> None:
    """Errors Slack will not change its mind about carry no retry_after."""
    fake.fail("chat.update", 200, "message_not_found")
    with pytest.raises(PlatformError, match="message_not_found") as raised:
        await platform.edit(HERE, "9.9", CARD)
    assert raised.value.retry_after is None


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        (CHANNEL, None),
        (OUTSIDE, "studybot is not a member of that channel"),
        ("C404", "studybot cannot see that channel (it is private, or does not exist)"),
    ],
)
async def test_check_channel(platform: SlackPlatform, channel: str, reason: str | None) -> None:
    """Whether studybot may post in a channel, from conversations.info."""
    assert await platform.check_channel(Place("slack", TEAM, channel)) == reason


async def test_a_post_whose_answer_is_lost_is_found_not_posted_twice(
    platform: SlackPlatform, fake: FakeSlack
) -> None:
    """chat.postMessage lands but the response is a 502: the key in the message's metadata
    is found in the channel's history, so the core gets the message and no second one."""
    fake.fail_after("chat.postMessage", 502)
    ts = await Outbox(platform).post(HERE, CARD, key="drop:7")
    posts = fake.of("chat.postMessage")
    assert len(posts) == 1 and posts[0].result["ts"] == ts
    assert posts[0].args["metadata"] == {
        "event_type": "studybot_post",
        "event_payload": {"key": "drop:7"},
    }


async def test_a_lost_thread_reply_is_found_in_the_thread(
    platform: SlackPlatform, fake: FakeSlack
) -> None:
    """The same inside a thread: conversations.replies finds the reply that landed."""
    parent = await platform.post(HERE, CARD)
    fake.fail_after("chat.postMessage", 504)
    ts = await Outbox(platform).post(HERE.in_thread(parent), CARD, key="reveal:3:model")
    assert len(fake.of("chat.postMessage")) == 2 and fake.of("conversations.replies")
    assert fake.of("chat.postMessage")[1].result["ts"] == ts


async def test_a_post_that_did_not_land_is_sent_again(
    platform: SlackPlatform, fake: FakeSlack
) -> None:
    """A 503 before anything was posted: nothing carries the key, so the outbox posts again."""
    fake.fail("chat.postMessage", 503, "service_unavailable")
    waited: list[float] = []

    async def wait(seconds: float) -> None:
        waited.append(seconds)

    await Outbox(platform, sleep=wait).post(HERE, CARD, key="drop:8")
    assert len([c for c in fake.of("chat.postMessage") if c.result.get("ok")]) == 1
    assert [w for w in waited if w >= 0.5]  # one jittered back-off before the second try
