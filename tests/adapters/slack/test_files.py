"""Files: a pack shared in the channel for `/prep questions import`; exports to the DM."""

from __future__ import annotations

import json

from tests.adapters.slack.conftest import ADMIN, ALICE, CHANNEL, SlackChat
from tests.conftest import DATA
from tests.fakes.slack_api import FakeSlack

PACK = DATA / "packs" / "good.yaml"


async def test_import_reads_the_pack_shared_in_the_channel(
    chat: SlackChat, fake: FakeSlack
) -> None:
    """An admin shares the pack in the channel, then `/prep questions import` imports it."""
    fake.share("good.yaml", PACK.read_bytes(), user=ADMIN, channel=CHANNEL)
    reply = await chat.command("questions import", as_=ADMIN)
    assert "Imported 2 new and updated 0 questions from good.yaml" in reply.text
    (listed,) = fake.of("files.list")
    assert (listed.args["channel"], listed.args["user"]) == (CHANNEL, ADMIN)


async def test_import_without_a_shared_file_says_how(chat: SlackChat, fake: FakeSlack) -> None:
    """With no recent file from the admin in the channel, the reply says to share one."""
    fake.share("good.yaml", PACK.read_bytes(), user=ALICE, channel=CHANNEL)  # not the admin's
    reply = await chat.command("questions import", as_=ADMIN)
    assert reply.args["response_type"] == "ephemeral"
    assert "on Slack share it in the channel and run the command" in reply.text


async def test_export_goes_to_the_members_direct_messages(chat: SlackChat, fake: FakeSlack) -> None:
    """`/prep me export`: the card is ephemeral, the JSON file lands in the member's DM."""
    reply = await chat.command("me export", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert "📎 studybot-my-data.json: in your direct messages with studybot." in reply.text
    assert fake.of("conversations.open")[0].args["users"] == ALICE
    (done,) = fake.of("files.completeUploadExternal")
    assert done.args["channel_id"] == f"D{ALICE}"
    (content,) = fake.uploads.values()
    assert json.loads(content)["member"]["user_id"] == ALICE
