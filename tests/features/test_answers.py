"""Answering, revealing, points and votes: the drop lifecycle end to end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.store.schema import answers, scores
from tests.conftest import Chat


async def _choice_drop(chat: Chat) -> None:
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)


async def _points(chat: Chat, user: str, period: str = "all", topic: str = "*") -> int | None:
    async with chat.app.ctx.engine.connect() as conn:
        return await conn.scalar(
            select(scores.c.points).where(
                scores.c.user_id == user, scores.c.period == period, scores.c.topic == topic
            )
        )


async def test_answer_is_acknowledged_privately_and_hidden(chat: Chat) -> None:
    """Pressing an option answers privately; nothing public reveals the choice."""
    await _choice_drop(chat)
    drop = chat.last_post()
    reply = await chat.choose(drop, 3, as_=chat.alice)
    shown = chat.letter(drop, 3)
    assert reply.private and reply.card and f"Locked in: **{shown}**" in reply.card.body
    assert chat.posts() == [drop]  # nothing new in the channel
    assert chat.platform.messages[drop.message_id].card == drop.card


async def test_first_answer_counts_and_a_second_press_is_refused_politely(chat: Chat) -> None:
    """Only the first answer is stored; pressing again says so and changes nothing."""
    await _choice_drop(chat)
    drop = chat.last_post()
    await chat.choose(drop, 3, as_=chat.alice)
    again = await chat.choose(drop, 1, as_=chat.alice)
    assert again.card and f"already answered this one ({chat.letter(drop, 3)})" in again.card.body
    async with chat.app.ctx.engine.connect() as conn:
        rows = (await conn.execute(select(answers.c.option_index))).all()
    assert [r.option_index for r in rows] == [2]
    assert await _points(chat, "alice") == 15 + 3  # right, and within the first hour


async def test_reveal_shows_reason_per_option_share_and_who_was_right(chat: Chat) -> None:
    """The reveal names the key, every option's reason and share, and the right members."""
    await _choice_drop(chat)
    drop = chat.last_post()
    await chat.choose(drop, 3, as_=chat.alice)  # right
    await chat.choose(drop, 1, as_=chat.bob)  # wrong
    await chat.choose(drop, 3, as_=chat.carol)  # right
    reply = await chat.run("/reveal", as_=chat.admin)
    assert reply.card and reply.card.body.startswith("Revealed drop #1")
    card = chat.last_post().card
    key, log_loss, larger = (chat.letter(drop, n) for n in (3, 1, 2))
    assert card.title == f"Answer to drop #1: {key}. Recall on the fraud class"
    names = [f.name for f in card.fields]
    assert [n.split()[1] for n in names] == ["A.", "B.", "C.", "D."]  # in the order shown
    assert f"❌ {log_loss}. Log-loss on the training set · 33% (1)" in names
    assert f"❌ {larger}. Accuracy on a larger test set · 0% (0)" in names
    assert f"✅ {key}. Recall on the fraud class · 67% (2)" in names
    assert all(f.value for f in card.fields)  # a reason for every option
    key_field = card.fields["ABCD".index(key)]
    assert "recall on the positive class is zero" in key_field.value
    assert card.footer == "Right (2/3): @Alice, @Carol"


async def test_reveal_closes_the_drop(chat: Chat) -> None:
    """After the reveal the drop's buttons are gone and late presses are refused."""
    await _choice_drop(chat)
    drop = chat.last_post()
    await chat.run("/reveal", as_=chat.admin)
    assert chat.platform.messages[drop.message_id].card.buttons == ()
    late = await chat.choose(drop, 3, as_=chat.bob)
    assert late.card and "answers are closed" in late.card.body
    assert await _points(chat, "bob") is None
    again = await chat.run("/reveal", as_=chat.admin)
    assert again.card and "No open drop in this channel" in again.card.body


async def test_points_land_in_every_period_and_topic(chat: Chat) -> None:
    """Points are maintained per period (all, week, month) and topic with the answer."""
    await _choice_drop(chat)
    chat.clock.advance(timedelta(hours=2))  # past the early-answer bonus
    await chat.choose(chat.last_post(), 3, as_=chat.alice)
    assert await _points(chat, "alice") == 15
    assert await _points(chat, "alice", topic="evaluation") == 15
    assert await _points(chat, "alice", period="week:2026-01-05") == 15
    assert await _points(chat, "alice", period="month:2026-01") == 15


async def test_reveal_by_number_and_unknown_number(chat: Chat) -> None:
    """`/reveal drop:N` reveals that drop; a number that is not open is explained."""
    await _choice_drop(chat)
    await chat.run("/drop now kind:open", as_=chat.admin)
    reply = await chat.run("/reveal drop:1", as_=chat.admin)
    assert reply.card and reply.card.body == "Revealed drop #1. Still open here: #2."
    bad = await chat.run("/reveal drop:9", as_=chat.admin)
    assert bad.card and bad.card.body == "Drop #9 is not open in this channel (open here: #2)."


async def test_open_drop_full_cycle_with_votes(chat: Chat) -> None:
    """Open answers are posted in a thread at reveal, followed by the model answer;
    reactions from other members are votes worth points, the author's own are not."""
    await chat.run("/drop now kind:open", as_=chat.admin)
    drop = chat.last_post()
    for who, text in (
        (chat.alice, "Fitting noise: validation error rises as training falls."),
        (chat.bob, "Too much capacity for the data; regularise or get more."),
    ):
        form = await chat.press(drop, 1, as_=who)
        saved = await chat.submit(form, {"answer": text}, as_=who)
        assert saved.card and "Saved your answer" in saved.card.body
    assert await _points(chat, "alice") == 5
    await chat.run("/reveal", as_=chat.admin)
    header = chat.last_post()
    assert "2 answers in the thread" in header.card.body
    thread = [m for m in chat.platform.messages.values() if m.place.thread_id]
    assert [m.card.title for m in thread] == ["@Alice's answer", "@Bob's answer", "Model answer"]
    assert "Key points" in [f.name for f in thread[2].card.fields]
    alice_answer = thread[0]
    await chat.react(alice_answer, "👍", as_=chat.bob)
    await chat.react(alice_answer, "🔥", as_=chat.bob)  # one member, one vote
    await chat.react(alice_answer, "👍", as_=chat.carol)
    await chat.react(alice_answer, "👍", as_=chat.alice)  # own answer: no vote
    assert await _points(chat, "alice") == 5 + 2 * 2
    await chat.react(alice_answer, "👍", as_=chat.carol, added=False)
    assert await _points(chat, "alice") == 5 + 2
    async with chat.app.ctx.engine.connect() as conn:
        votes = await conn.scalar(select(answers.c.votes).where(answers.c.user_id == "alice"))
    assert votes == 1


async def test_votes_are_capped(chat: Chat) -> None:
    """Votes beyond the cap earn nothing more."""
    from bot import scoring
    from tests.conftest import member

    await chat.run("/drop now kind:open", as_=chat.admin)
    form = await chat.press(chat.last_post(), 1, as_=chat.alice)
    await chat.submit(form, {"answer": "A long enough answer to be voted on."}, as_=chat.alice)
    await chat.run("/reveal", as_=chat.admin)
    answer = next(m for m in chat.platform.messages.values() if m.place.thread_id)
    for i in range(scoring.VOTES_COUNTED + 3):
        await chat.react(answer, "👍", as_=member(f"voter{i}"))
    assert await _points(chat, "alice") == scoring.OPEN_ANSWER + (
        scoring.PER_VOTE * scoring.VOTES_COUNTED
    )


async def test_too_short_open_answer_is_refused_and_can_be_retried(chat: Chat) -> None:
    """A too-short answer is explained and not stored, so the member can try again."""
    await chat.run("/drop now kind:open", as_=chat.admin)
    drop = chat.last_post()
    form = await chat.press(drop, 1, as_=chat.alice)
    refused = await chat.submit(form, {"answer": "idk"}, as_=chat.alice)
    assert refused.card and "has 3 characters; write at least 20" in refused.card.body
    form = await chat.press(drop, 1, as_=chat.alice)
    assert form.form is not None


async def test_open_reveal_with_no_answers_posts_the_model_answer(chat: Chat) -> None:
    """Nobody answered: the reveal is the model answer, without a thread."""
    await chat.run("/drop now kind:open", as_=chat.admin)
    await chat.run("/reveal", as_=chat.admin)
    card = chat.last_post().card
    assert card.title == "Drop #1: model answer"
    assert "Nobody answered" in card.footer


async def test_workspaces_do_not_see_each_other(chat: Chat) -> None:
    """A drop in one workspace cannot be answered from another."""
    from bot.chat import Place
    from tests.conftest import member

    await _choice_drop(chat)
    outsider = member("Eve", workspace="w2")
    reply = await chat.choose(chat.last_post(), 3, as_=outsider, place=Place("memory", "w2", "c1"))
    assert reply.card and "no longer exists" in reply.card.body
