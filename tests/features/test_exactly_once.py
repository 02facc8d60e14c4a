"""Exactly once under concurrency: what a member is told matches what the store and the reveal
say, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import timedelta

from sqlalchemy import select

from bot.store.schema import answers
from tests.conftest import Chat, member

ROUNDS = 40
PRESSES = 30


async def test_no_locked_in_answer_is_missing_from_a_racing_reveal(chat: Chat) -> None:
    """30 members press while an admin reveals, 40 times: every answer acknowledged as locked
    in is in that drop's reveal, and every press after the reveal is told answers are closed."""
    rng = random.Random(11)
    people = [member(f"p{i}") for i in range(PRESSES)]
    acked_total = refused_total = 0
    for round_ in range(1, ROUNDS + 1):
        await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
        drop = chat.last_post()
        presses = [chat.choose(drop, rng.randint(1, 4), as_=who) for who in people]
        reveal_at = rng.randint(0, PRESSES)
        work = [*presses[:reveal_at], chat.run("/reveal", as_=chat.admin), *presses[reveal_at:]]
        replies = await asyncio.gather(*work)
        told = [r.card.body if r.card else "" for r in replies]
        del told[reveal_at]  # the admin's own reply
        acked = {
            who.ref.user_id for who, body in zip(people, told, strict=True) if "Locked in" in body
        }
        closed = sum("answers are closed" in body for body in told)
        assert len(acked) + closed == PRESSES, told
        reveal = next(
            m.card for m in reversed(chat.posts()) if m.card.title.startswith("Answer to")
        )
        assert reveal.title.startswith(f"Answer to drop #{round_}:")
        shown = sum(
            int(n)
            for n in re.findall(r"% \((\d+)\)$", "\n".join(f.name for f in reveal.fields), re.M)
        )
        async with chat.app.ctx.engine.connect() as conn:
            stored = set(
                (
                    await conn.scalars(select(answers.c.user_id).where(answers.c.drop_id == round_))
                ).all()
            )
        assert stored == acked
        assert shown == len(acked)
        acked_total += len(acked)
        refused_total += closed
    assert acked_total > 0 and refused_total > 0  # the race really happened both ways


async def test_a_failed_cheer_after_the_answer_is_saved_is_not_reported_as_a_failure(
    chat: Chat,
) -> None:
    """The 7-day cheer times out after the answer is committed: the member still hears that
    their answer counted, and it did."""
    for day in range(7):
        quiz = await chat.run("/quiz kind:choice", as_=chat.alice)
        assert quiz.card is not None
        if day == 6:
            chat.platform.fail_next.append(TimeoutError())
        feedback = await chat.press(quiz.card, 1, as_=chat.alice)
        assert feedback.card is not None and "went wrong" not in feedback.card.body
        chat.clock.advance(timedelta(days=1))
    async with chat.app.ctx.engine.connect() as conn:
        assert len((await conn.execute(select(answers.c.id))).all()) == 7
    assert not [m for m in chat.posts() if "streak" in m.card.title]  # the cheer did fail
