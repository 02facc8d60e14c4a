"""A /drop now whose post may have landed (every attempt failed ambiguously) is kept
unconfirmed; the next sync asks the platform, and a post that is there is confirmed."""

from __future__ import annotations

from sqlalchemy import select

from bot.ports import PlatformError
from bot.store.schema import drops
from tests.conftest import Chat


async def _message_id(chat: Chat) -> str | None:
    async with chat.app.ctx.engine.connect() as conn:
        return await conn.scalar(select(drops.c.message_id).where(drops.c.id == 1))


async def test_a_drop_that_landed_unseen_is_confirmed_by_the_next_sync(chat: Chat) -> None:
    timeout = PlatformError("could not reach the platform (TimeoutError)", ambiguous=True)
    chat.platform.fail_after_landing.append(timeout)  # it lands; the answer is lost
    chat.platform.fail_next.extend([timeout, timeout, timeout])  # so are the retries'
    reply = await chat.run("/drop now kind:choice", as_=chat.admin)
    assert reply.card and "may not have been posted" in reply.card.body
    assert await _message_id(chat) is None
    before = await chat.run("/reveal", as_=chat.admin)
    assert before.card and "Revealed" not in before.card.body  # never revealed unconfirmed
    await chat.app.jobs.sync()
    landed = chat.last_post()
    assert await _message_id(chat) == landed.message_id
    after = await chat.run("/reveal", as_=chat.admin)
    assert after.card and after.card.body.startswith("Revealed drop #1")


async def test_a_drop_that_never_landed_stays_unconfirmed(chat: Chat) -> None:
    timeout = PlatformError("could not reach the platform (TimeoutError)", ambiguous=True)
    chat.platform.fail_next.extend([timeout] * 4)  # nothing lands
    await chat.run("/drop now kind:choice", as_=chat.admin)
    await chat.app.jobs.sync()
    assert await _message_id(chat) is None
    assert chat.posts() == []
