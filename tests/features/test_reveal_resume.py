"""A reveal survives its instance dying part-way: another instance finishes it after the
lease, asking the platform first about any part that may have landed unrecorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.chat import Card, Place
from bot.ports import MemoryPlatform, Sent
from bot.store.schema import drops, fires
from tests.conftest import Chat, member, two_instances


class ForgetfulPlatform(MemoryPlatform):
    """Like Slack: a repeated post makes a second message (keys only ride along), but
    ``find_post`` reads back what landed. ``die_after`` kills the process right after the
    n-th post lands, before the bot can record it."""

    def __init__(self) -> None:
        super().__init__(platform="memory")
        self.die_after: int | None = None
        self.posted = 0

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        self._maybe_fail()
        message_id = self._next_id()
        self.messages[message_id] = Sent(message_id, place, card)
        if key is not None:
            self.keys[key] = message_id
        self.posted += 1
        if self.die_after is not None and self.posted == self.die_after:
            self.die_after = None
            raise SystemExit("killed after the post landed")
        return message_id


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[Chat, Chat, ForgetfulPlatform]]:
    platform = ForgetfulPlatform()
    async with two_instances(database_url, platform) as (first, second):
        yield first, second, platform


def _titles(platform: MemoryPlatform) -> Counter[str]:
    return Counter(m.card.title for m in platform.messages.values() if m.to is None)


async def _open_drop_with_answers(chat: Chat, n: int) -> None:
    await chat.run("/drop now kind:open", as_=chat.admin)
    drop = chat.last_post()
    for i in range(n):
        who = member(f"r{i}")
        form = await chat.press(drop, 1, as_=who)
        await chat.submit(
            form, {"answer": f"answer number {i}: it fits the noise in the data"}, as_=who
        )


@pytest.mark.parametrize("dies_after", [1, 2, 3, 4])
async def test_an_open_reveal_cut_short_is_finished_once_by_another_instance(
    pair: tuple[Chat, Chat, ForgetfulPlatform], dies_after: int
) -> None:
    """Reveal posts: header, two answers, the model answer. The revealing instance dies just
    after the ``dies_after``-th lands; the other finishes it with each part exactly once."""
    first, second, platform = pair
    await _open_drop_with_answers(first, 2)
    platform.posted = 0
    platform.die_after = dies_after
    with pytest.raises(SystemExit):
        await first.run("/reveal", as_=first.admin)
    refused = await second.run("/reveal", as_=second.admin)  # the drop is closed meanwhile
    assert refused.card and "Revealed" not in refused.card.body
    await second.app.jobs.sync()  # the lease is still held: nothing yet
    assert platform.posted == dies_after
    second.clock.advance(timedelta(minutes=3))
    await second.app.jobs.sync()
    titles = _titles(platform)
    assert titles["Answers to drop #1 · " + _topic(titles)] == 1
    answers = sorted(t for t in titles.elements() if t.endswith("'s answer"))
    assert answers == ["@r0's answer", "@r1's answer"]
    assert sum(n for t, n in titles.items() if "model answer" in t.lower()) == 1
    async with second.app.ctx.engine.connect() as conn:
        status = (await conn.scalars(select(fires.c.status).where(fires.c.job == "reveal:1"))).all()
        thread = await conn.scalar(select(drops.c.thread_id).where(drops.c.id == 1))
    assert status == ["posted"] and thread is not None


async def test_a_choice_reveal_that_landed_before_its_instance_died_is_not_posted_again(
    pair: tuple[Chat, Chat, ForgetfulPlatform],
) -> None:
    first, second, platform = pair
    await first.run("/drop now kind:choice", as_=first.admin)
    await first.choose(first.last_post(), 1, as_=first.alice)
    platform.posted = 0
    platform.die_after = 1
    with pytest.raises(SystemExit):
        await first.run("/reveal", as_=first.admin)
    second.clock.advance(timedelta(minutes=3))
    await second.app.jobs.sync()
    reveals = [t for t in _titles(platform).elements() if t.startswith("Answer to drop #1")]
    assert len(reveals) == 1
    closed = [op for op, _ in platform.log if op == "edit"]
    assert closed  # the drop's buttons were closed by the instance that finished


def _topic(titles: Counter[str]) -> str:
    header = next(t for t in titles if t.startswith("Answers to drop #1 · "))
    return header.removeprefix("Answers to drop #1 · ")
