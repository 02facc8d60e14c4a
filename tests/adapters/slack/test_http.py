"""HTTP mode only accepts requests Slack signed, recently."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from adapters.slack import SlackBot
from tests.adapters.slack.conftest import ALICE, Http, SlackChat
from tests.fakes.slack_api import FakeSlack

FORM = "application/x-www-form-urlencoded"


async def test_bad_signature_is_refused(
    chat: SlackChat, http: Http, fake: FakeSlack, bot: SlackBot
) -> None:
    """A request signed with another secret gets 401 and never reaches the core."""
    body = urlencode(chat.command_form("drop now", as_=ALICE))
    status, _ = await http.post(body, FORM, secret="not-the-secret")
    assert status == 401
    await bot.idle()
    assert not fake.of("respond") and not fake.of("users.info")


async def test_stale_timestamp_is_refused(
    chat: SlackChat, http: Http, fake: FakeSlack, bot: SlackBot
) -> None:
    """A correctly signed but 10-minute-old request (a replay) gets 401."""
    body = urlencode(chat.command_form("help", as_=ALICE))
    status, _ = await http.post(body, FORM, timestamp=int(time.time()) - 600)
    assert status == 401
    await bot.idle()
    assert not fake.of("respond")


async def test_url_verification_challenge_is_answered(http: Http) -> None:
    """Setting the Request URL in Slack works: the challenge is echoed back."""
    body = json.dumps({"type": "url_verification", "token": "legacy", "challenge": "c-123"})
    status, text = await http.post(body, "application/json")
    assert status == 200 and json.loads(text) == {"challenge": "c-123"}
