"""Who may run admin commands: workspace admins and owners, or the configured list."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.adapters.slack.conftest import ADMIN, ALICE, CAROL, OWNER, SlackChat, slack_settings
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
def settings(tmp_path: Path, fake: FakeSlack) -> Settings:
    return slack_settings(tmp_path, fake, admins=(CAROL,))


@pytest.mark.parametrize("who", [ADMIN, OWNER, CAROL], ids=["admin", "owner", "configured"])
async def test_admins_may_drop(chat: SlackChat, fake: FakeSlack, who: str) -> None:
    """Workspace admins and owners (users.info) and STUDYBOT_ADMINS members may drop."""
    reply = await chat.command("drop now", as_=who)
    assert "Posted drop #1" in reply.text
    assert (await fake.next_call("chat.postMessage")).buttons


async def test_members_may_not_drop(chat: SlackChat, fake: FakeSlack) -> None:
    """Anyone else is refused privately, and nothing is posted."""
    reply = await chat.command("drop now", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert "`/prep drop now` is for admins" in reply.text
    assert not fake.of("chat.postMessage")


async def test_admin_facts_come_from_users_info_once(chat: SlackChat, fake: FakeSlack) -> None:
    """users.info is asked once per member, then cached for the next commands."""
    for _ in range(3):
        await chat.command("help", as_=ADMIN)
    assert [c.args["user"] for c in fake.of("users.info")] == [ADMIN]
