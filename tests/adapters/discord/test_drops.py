"""A drop through the real discord.py client: buttons, a modal, a thread, reactions, a restart."""

from __future__ import annotations

from tests.adapters.discord.conftest import DiscordChat, shown_letter
from tests.fakes.discord_fake import PUBLIC_THREAD, Json, buttons_of, text_of

ALICE = "Overfitting is fitting noise; you see it when validation error rises while training falls."
BOB = "When the model memorises the training set and does worse on data it has not seen."


def labels(message: Json) -> list[str]:
    return [b["label"] for b in buttons_of(message)]


async def test_members_answer_a_choice_drop_with_buttons_and_the_reveal_shows_everyone(
    chat: DiscordChat,
) -> None:
    """A–D buttons; each press answered privately; the reveal explains every option."""
    posted = await chat.command("drop now", as_=chat.admin, kind="choice", topic="evaluation")
    assert posted.ephemeral and "Posted drop #1" in posted.text
    drop = chat.last_post()
    assert "One transaction in a thousand is fraud" in text_of(drop)
    assert labels(drop) == ["A", "B", "C", "D"]

    key, wrong = shown_letter(drop, 3), shown_letter(drop, 1)
    alice = await chat.choose(drop, 3, as_=chat.alice)
    bob = await chat.choose(drop, 1, as_=chat.bob)
    again = await chat.choose(drop, 2, as_=chat.alice)
    assert alice.ephemeral and f"Locked in: **{key}**" in alice.text
    assert bob.ephemeral and f"Locked in: **{wrong}**" in bob.text
    assert f"You already answered this one ({key})" in again.text

    await chat.command("reveal", as_=chat.admin)
    reveal = text_of(chat.last_post())
    assert f"Answer to drop #1: {key}. Recall on the fraud class" in reveal
    assert f"✅ {key}. Recall on the fraud class · 50% (1)" in reveal
    assert "flatters the useless model" in reveal  # a wrong option's reason
    assert "Right (1/2): @Alice" in reveal
    assert labels(chat.fake.messages[drop["id"]]) == []  # the drop message closed


async def test_an_open_drop_is_answered_in_a_modal_revealed_in_a_thread_and_voted_on(
    chat: DiscordChat,
) -> None:
    """The whole open path: Answer → modal → submit → reveal thread → 👍 votes become points."""
    await chat.command("drop now", as_=chat.admin, kind="open")
    drop = chat.last_post()
    assert labels(drop) == ["Answer"]

    for member, text in ((chat.alice, ALICE), (chat.bob, BOB)):
        opened = await chat.press(drop, "Answer", as_=member)
        assert opened.kind == 9 and opened.modal["title"] == "Your answer"
        saved = await chat.submit(opened, text, as_=member, message=drop)
        assert saved.ephemeral and "Saved your answer" in saved.text

    await chat.command("reveal", as_=chat.admin)
    (thread,) = chat.fake.threads()
    assert thread["type"] == PUBLIC_THREAD and thread["parent_id"] == chat.fake.channel_id
    header = chat.last_post()
    assert "Answers to drop #1" in text_of(header) and thread["name"] == "Answers to drop #1"
    alices, bobs, model = chat.fake.posts(thread["id"])
    assert ALICE in text_of(alices) and BOB in text_of(bobs)
    assert "Model answer" in text_of(model)
    bot_votes = {m for m, emoji, user in chat.fake.reactions if user == chat.fake.bot.id}
    assert bot_votes == {alices["id"], bobs["id"]}

    await chat.react(alices, "👍", as_=chat.bob)
    await chat.react(alices, "👍", as_=chat.carol)
    await chat.react(bobs, "👍", as_=chat.alice)
    await chat.react(bobs, "👍", as_=chat.fake.bot)  # the bot's own reaction is no vote
    board = await chat.command("leaderboard", as_=chat.carol)
    assert not board.ephemeral
    assert "🥇 **Alice**: 9 pts" in board.text  # 5 for answering + 2 votes
    assert "🥈 **Bob**: 7 pts" in board.text


async def test_a_removed_reaction_takes_its_vote_back(chat: DiscordChat) -> None:
    """Removal events carry no member; the vote is still withdrawn."""
    await chat.command("drop now", as_=chat.admin, kind="open")
    drop = chat.last_post()
    opened = await chat.press(drop, "Answer", as_=chat.alice)
    await chat.submit(opened, ALICE, as_=chat.alice, message=drop)
    await chat.command("reveal", as_=chat.admin)
    answer = chat.fake.posts(chat.fake.threads()[0]["id"])[0]

    await chat.react(answer, "👍", as_=chat.bob)
    await chat.react(answer, "👍", as_=chat.bob, added=False)
    board = await chat.command("leaderboard", as_=chat.alice)
    assert "**Alice**: 5 pts" in board.text


async def test_a_button_pressed_after_a_restart_still_answers(chat: DiscordChat) -> None:
    """Buttons are routed by custom_id from the database, so a new process understands them."""
    await chat.command("drop now", as_=chat.admin, kind="choice", topic="statistics")
    drop = chat.last_post()
    await chat.restart()
    pressed = await chat.press(drop, "B", as_=chat.alice)
    assert "Locked in: **B**" in pressed.text


async def test_a_form_opened_before_a_restart_can_still_be_sent(chat: DiscordChat) -> None:
    """Nothing of the modal is kept in memory: its custom_id is the core's form id."""
    await chat.command("drop now", as_=chat.admin, kind="open")
    drop = chat.last_post()
    opened = await chat.press(drop, "Answer", as_=chat.alice)
    await chat.restart()
    saved = await chat.submit(opened, ALICE, as_=chat.alice, message=drop)
    assert "Saved your answer" in saved.text


async def test_a_quiz_is_private_and_answered_with_its_own_buttons(chat: DiscordChat) -> None:
    """/quiz replies ephemerally with buttons; a press gives feedback at once."""
    quiz = await chat.command("quiz", as_=chat.alice, topic="statistics")
    assert quiz.ephemeral and labels(quiz.shown) == ["A", "B", "C", "D"]
    feedback = await chat.choose(quiz.shown, 2, as_=chat.alice)  # B, as written, is the key
    assert feedback.ephemeral and "Correct!" in feedback.text
    assert chat.fake.posts() == []
