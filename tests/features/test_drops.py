"""Posting drops and personal quizzes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.ports import PlatformError
from bot.store.schema import drops
from tests.conftest import Chat


async def test_choice_drop_posts_one_button_per_option(chat: Chat) -> None:
    """`/drop now kind:choice` posts the question publicly with a button per option."""
    reply = await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    assert reply.private and reply.card and "Posted drop #1" in reply.card.body
    post = chat.last_post()
    assert "99.9 %" in post.card.body
    assert [b.label for b in post.card.buttons] == ["A", "B", "C", "D"]
    assert len({b.action_id for b in post.card.buttons}) == 4


async def test_open_drop_has_an_answer_button_that_opens_a_form(chat: Chat) -> None:
    """An open question gets one Answer button; pressing it opens the answer form."""
    await chat.run("/drop now kind:open", as_=chat.admin)
    post = chat.last_post()
    assert [b.label for b in post.card.buttons] == ["Answer"]
    reply = await chat.press(post, 1, as_=chat.alice)
    assert reply.form is not None
    assert reply.form.fields[0].min_length > 0


async def test_drops_do_not_repeat_until_the_bank_is_used_up(chat: Chat) -> None:
    """A channel sees every matching question once before any comes back."""
    seen = []
    for _ in range(3):
        chat.clock.advance(timedelta(hours=1))
        await chat.run("/drop now", as_=chat.admin)
        seen.append(chat.last_post().card.body.split("\n")[0])
    assert len(set(seen)) == 3
    await chat.run("/drop now", as_=chat.admin)
    assert chat.last_post().card.body.split("\n")[0] == seen[0]  # the longest-unused returns


async def test_only_admins_may_drop(chat: Chat) -> None:
    """A member running an admin command is refused and nothing is posted."""
    reply = await chat.run("/drop now", as_=chat.alice)
    assert reply.card and "for admins" in reply.card.body
    assert chat.posts() == []


async def test_no_matching_question_says_which_filters(chat: Chat) -> None:
    """Filters that match nothing are named in the message."""
    reply = await chat.run("/drop now topic:ethics", as_=chat.admin)
    assert reply.card and "No question matches topic:ethics" in reply.card.body


async def test_failed_post_leaves_no_drop_behind(chat: Chat) -> None:
    """If the platform refuses the post, the admin is told and no drop row remains."""
    chat.platform.fail_next.append(PlatformError("missing access"))
    reply = await chat.run("/drop now", as_=chat.admin)
    assert reply.card and "Could not post in this channel: missing access" in reply.card.body
    async with chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(select(drops))).all() == []


async def test_rate_limited_post_is_retried_once_and_posted_once(chat: Chat) -> None:
    """A 'retry later' from the platform is retried; the drop is posted exactly once."""

    async def no_wait(_seconds: float) -> None:
        return None

    chat.app.ctx.platform.sleep = no_wait
    chat.platform.fail_next.append(PlatformError("rate limited", retry_after=1.5))
    await chat.run("/drop now", as_=chat.admin)
    assert [op for op, _ in chat.platform.log] == ["post"]
    async with chat.app.ctx.engine.connect() as conn:
        row = (await conn.execute(select(drops.c.message_id))).one()
    assert row.message_id == chat.last_post().message_id


async def test_quiz_is_private_and_gives_feedback_at_once(chat: Chat) -> None:
    """/quiz shows a question only to the asker; pressing explains every option."""
    reply = await chat.run("/quiz topic:statistics", as_=chat.alice)
    assert reply.private and reply.card is not None
    assert chat.posts() == []
    feedback = await chat.choose(reply.card, 2, as_=chat.alice)  # B, as written, is the key
    assert feedback.private and feedback.card is not None
    assert feedback.card.title == "Correct!"
    assert len(feedback.card.fields) == 4
    assert all(f.value for f in feedback.card.fields)


async def test_quiz_wrong_answer_names_the_key(chat: Chat) -> None:
    """A wrong /quiz answer says which option was right."""
    reply = await chat.run("/quiz topic:statistics", as_=chat.alice)
    assert reply.card is not None
    feedback = await chat.choose(reply.card, 1, as_=chat.alice)
    assert feedback.card is not None
    assert feedback.card.title == f"Not quite: the answer is {chat.letter(reply.card, 2)}"


async def test_someone_elses_quiz_cannot_be_answered(chat: Chat) -> None:
    """Buttons of a personal quiz only work for its owner."""
    reply = await chat.run("/quiz topic:statistics", as_=chat.alice)
    assert reply.card is not None
    other = await chat.choose(reply.card, 2, as_=chat.bob)
    assert other.card and "someone else's" in other.card.body


async def test_quiz_prefers_questions_not_yet_answered(chat: Chat) -> None:
    """A member's next /quiz avoids what they already answered."""
    first = await chat.run("/quiz kind:choice", as_=chat.alice)
    assert first.card is not None
    await chat.choose(first.card, 1, as_=chat.alice)
    second = await chat.run("/quiz kind:choice", as_=chat.alice)
    assert second.card is not None
    assert second.card.body != first.card.body


async def test_open_quiz_shows_the_model_answer_after_submitting(chat: Chat) -> None:
    """A personal open question returns the model answer and key points with yours."""
    reply = await chat.run("/quiz kind:open", as_=chat.alice)
    assert reply.card is not None
    form = await chat.press(reply.card, 1, as_=chat.alice)
    result = await chat.submit(
        form, {"answer": "It memorises noise in the training data."}, as_=chat.alice
    )
    assert result.card is not None and result.card.title == "Model answer"
    assert [f.name for f in result.card.fields] == ["Your answer", "Key points"]
