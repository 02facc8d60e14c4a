"""Exactly once under concurrency: what a member is told matches what the store and the reveal
say, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.chat import Card, Place
from bot.ports import MemoryPlatform, PlatformError
from bot.store.schema import answers
from tests.conftest import Chat, make_chat, member

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


class FlakyPlatform(MemoryPlatform):
    """Fails a fifth of posts with a rate limit, a server error or a timeout, half of them
    after the message landed (the caller hears an error all the same)."""

    def __init__(self, seed: int) -> None:
        super().__init__(platform="memory")
        self.rng = random.Random(seed)
        self.faults = 0

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        if self.rng.random() >= 0.2:
            return await super().post(place, card, key=key)
        self.faults += 1
        fault = self.rng.choice(
            [
                PlatformError("rate limited", retry_after=0.01),
                PlatformError("Discord error 503", ambiguous=True),
                PlatformError("could not reach Slack (TimeoutError)", ambiguous=True),
            ]
        )
        if fault.retry_after is None and self.rng.random() < 0.5:
            await super().post(place, card, key=key)  # it landed; the answer got lost
        raise fault


async def test_every_drop_and_reveal_part_is_delivered_once_through_faults(
    database_url: str,
) -> None:
    """20 drops (choice and open), answered and revealed while a fifth of posts fail with
    429 / 5xx / timeouts, half after landing: each card and reveal part appears exactly once."""
    platform = FlakyPlatform(seed=5)
    chat = await make_chat(database_url, platform=platform)
    people = [member(f"q{i}") for i in range(3)]
    try:
        for round_ in range(20):
            kind = "choice" if round_ % 2 else "open"
            posted = await chat.run(f"/drop now kind:{kind}", as_=chat.admin)
            assert posted.card and posted.card.body.startswith("Posted drop"), posted
            drop = chat.last_post()
            for who in people:
                if kind == "choice":
                    await chat.choose(drop, 1, as_=who)
                else:
                    form = await chat.press(drop, 1, as_=who)
                    text = f"{who.display_name}: overfitting fits the noise."
                    await chat.submit(form, {"answer": text}, as_=who)
            for _attempt in range(5):  # the admin tries again if the reveal reports a failure
                reply = await chat.run("/reveal", as_=chat.admin)
                if reply.card and reply.card.body.startswith("Revealed"):
                    break
        titles = [m.card.title for m in platform.messages.values() if m.to is None]
        assert platform.faults >= 10
        assert sum(t.startswith("Question drop") for t in titles) == 20
        for number in range(1, 21):
            if number % 2 == 0:  # choice
                assert sum(t.startswith(f"Answer to drop #{number}:") for t in titles) == 1
            else:
                assert sum(t.startswith(f"Answers to drop #{number} ") for t in titles) == 1
        assert sum(t.endswith("'s answer") for t in titles) == 10 * len(people)
        assert sum(t == "Model answer" for t in titles) == 10
    finally:
        await chat.app.close()


async def test_an_unconfirmed_drop_is_kept_and_revealed_only_when_named(chat: Chat) -> None:
    """Four timeouts on the drop's post: the member-facing card may be out, so the drop is
    kept; the admin is told so, the timer and a bare /reveal leave it, /reveal drop:1 works."""
    chat.platform.fail_next += [PlatformError("timed out", ambiguous=True)] * 4
    reply = await chat.run("/drop now kind:choice", as_=chat.admin)
    assert reply.card and "Drop #1 may not have been posted" in reply.card.body
    assert "`/reveal drop:1`" in reply.card.body
    bare = await chat.run("/reveal", as_=chat.admin)
    assert bare.card and "No open drop" in bare.card.body
    named = await chat.run("/reveal drop:1", as_=chat.admin)
    assert named.card and named.card.body.startswith("Revealed drop #1")


async def test_reading_commands_answer_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    """Another process holds SQLite's write lock: /help and /leaderboard still answer at
    once for a member never seen before (recording them is bookkeeping, done later)."""
    path = tmp_path / "locked.db"
    chat = await make_chat(f"sqlite+aiosqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        newcomer = member("Newcomer")
        for command in ("/help", "/leaderboard"):
            reply = await asyncio.wait_for(chat.run(command, as_=newcomer), timeout=5)
            assert reply.card is not None and "went wrong" not in reply.card.body, command
        holder.execute("ROLLBACK")
        again = await chat.run("/help", as_=newcomer)  # the lock is gone: now remembered
        assert again.notes and again.notes[0].title == "Welcome to the study group!"
    finally:
        holder.close()
        await chat.app.close()
