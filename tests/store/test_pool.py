"""The PostgreSQL pool keeps the connections a burst opened: the next burst reuses them
instead of forking new server processes (and preparing every statement again)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import Chat, member

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_second_burst_of_presses_opens_no_new_connection(chat: Chat) -> None:
    opened: list[Any] = []
    event.listen(chat.app.ctx.engine.sync_engine, "connect", lambda conn, _: opened.append(conn))
    people = [member(f"p{n}") for n in range(30)]
    rng = random.Random(3)
    bursts = []
    for _ in range(3):
        await chat.run("/drop now kind:choice", as_=chat.admin)
        drop = chat.last_post()
        before = len(opened)
        replies = await asyncio.gather(
            *(chat.choose(drop, rng.randint(1, 4), as_=who) for who in people)
        )
        assert all(r.card is not None and "Locked in" in r.card.body for r in replies)
        bursts.append(len(opened) - before)
    assert bursts[0] > 1  # the burst did need connections side by side
    assert bursts[1:] == [0, 0], bursts  # and kept them
