"""Issue 18 on Slack, through the real bolt app: `/prep me anki` sends the deck to the
member's DM; `/prep away` answers privately and the streak survives the days away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.app import App
from bot.ports import ManualClock
from tests.adapters.slack.conftest import ADMIN, ALICE, SlackChat
from tests.fakes.slack_api import FakeSlack
from tests.features.test_anki import EVALUATION_PROMPT, open_apkg


async def test_anki_deck_of_a_missed_drop_lands_in_the_dm(
    chat: SlackChat, fake: FakeSlack, tmp_path: Path
) -> None:
    """Alice gets a channel drop wrong; `/prep me anki` replies privately and uploads the
    .apkg to her DM, holding that question with its key."""
    await chat.command("drop now kind:choice topic:evaluation", as_=ADMIN)
    drop = await fake.next_call("chat.postMessage")
    await chat.choose(drop, 1, as_=ALICE)  # log-loss on the training set: wrong
    assert "Locked in" in (await fake.next_call("respond")).text
    reply = await chat.command("me anki", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert "1 question you have got wrong at least once" in reply.text
    assert "📎 studybot-misses.apkg: in your direct messages with studybot." in reply.text
    (done,) = fake.of("files.completeUploadExternal")
    assert done.args["channel_id"] == f"D{ALICE}"
    (content,) = fake.uploads.values()
    (note,) = open_apkg(content, tmp_path).notes
    assert EVALUATION_PROMPT in note.prompt
    assert note.fields[2] == "C. Recall on the fraud class"


async def test_away_on_slack_keeps_the_streak(
    chat: SlackChat, fake: FakeSlack, app: App, clock: ManualClock
) -> None:
    """`/prep away until …` is a private reply; after four days away and a quiz on the
    fifth, `/prep stats` shows the streak going on and the days away."""
    quiz = await chat.command("quiz kind:choice", as_=ALICE)
    await chat.press(quiz, "A", as_=ALICE)
    await fake.next_call("respond")
    reply = await chat.command("away until 2026-01-09", as_=ALICE)
    assert reply.args["response_type"] == "ephemeral"
    assert "You are away through Fri 9 Jan 2026" in reply.text
    clock.advance(timedelta(days=5))  # Saturday 10 January
    quiz = await chat.command("quiz kind:choice", as_=ALICE)
    await chat.press(quiz, "A", as_=ALICE)
    await fake.next_call("respond")
    stats = await chat.command("stats", as_=ALICE)
    assert "2 days now, best 2" in stats.text
    assert "5 days in all, none held against your streak" in stats.text
