"""A mock round survives its instance dying mid-delivery: another instance finishes it, and
nobody gets a space, an intro, a packet or an announcement twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.chat import FormSubmit, Member
from bot.ports import MemoryPlatform
from bot.store.schema import fires, mock_groups, mock_rounds
from tests.conftest import Chat, member, two_instances
from tests.features.test_mocks import _bank

PEOPLE = ("Ann", "Ben", "Cat", "Dan", "Eve")


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[Chat, Chat]]:
    async with two_instances(database_url, items=_bank()) as pair:
        yield pair


async def _join_five(chat: Chat) -> list[Member]:
    people = [member(n) for n in PEOPLE]
    for who in people:
        form = await chat.run("/mock join", as_=who)
        assert form.form is not None
        values = {
            "level": "mid",
            "focus": "technical",
            "timezone": "UTC",
            "availability": "weekday evenings",
            "cadence": "weekly",
        }
        await chat.app.handle(FormSubmit(who, chat.place, form.form.form_id, values))
    return people


def _delivered(platform: MemoryPlatform) -> Counter[str]:
    """What members received, by kind: spaces, intros, packets, announcements."""
    seen: Counter[str] = Counter()
    seen["space"] = sum(1 for op, _ in platform.log if op == "group")
    for message in platform.messages.values():
        title = message.card.title
        if title.startswith("Mock interview · round"):
            seen["intro"] += 1
        elif title.startswith("Your interviewer packet"):
            seen["packet"] += 1
        elif title == "Mock interview round":
            seen["announce"] += 1
    return seen


def _die_at(platform: MemoryPlatform, n: int) -> None:
    """The process dies just before its ``n``-th outbound call (spaces, posts, DMs) from now;
    the calls after that, by the instance that takes over, go through."""
    calls = 0
    for name in ("open_group", "post", "dm"):
        original = getattr(platform, name)

        async def call(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == n + 1:
                raise SystemExit("killed")
            return await _original(*args, **kwargs)

        setattr(platform, name, call)


@pytest.mark.parametrize("dies_at", [0, 1, 3, 6, 9])
async def test_a_round_cut_short_is_finished_by_another_instance_once(
    pair: tuple[Chat, Chat], dies_at: int
) -> None:
    """The scheduled round's instance dies before its ``dies_at``-th platform call (of ten:
    two spaces, two intros, five packets, the announcement); once its lease runs out the
    other instance delivers the rest, each thing once, without matching again."""
    first, second = pair
    await _join_five(first)
    await first.run("/mock settings day:mon time:10:00", as_=first.admin)
    platform = first.platform
    _die_at(platform, dies_at)
    with pytest.raises(SystemExit):
        await first.advance(timedelta(hours=1, minutes=5))
    assert sum(_delivered(platform).values()) == dies_at
    second.clock.advance(timedelta(minutes=3))  # the lease (2 min) runs out
    await second.app.jobs.sync()
    assert _delivered(platform) == {"space": 2, "intro": 2, "packet": 5, "announce": 1}
    async with second.app.ctx.engine.connect() as conn:
        rounds = (await conn.execute(select(mock_rounds.c.done_at))).all()
        groups = (await conn.execute(select(mock_groups.c.channel_id))).all()
        status = (
            await conn.execute(select(fires.c.status).where(fires.c.job.like("mock:%")))
        ).all()
    assert len(rounds) == 1 and rounds[0].done_at is not None  # matched once, finished
    assert len(groups) == 2 and all(g.channel_id for g in groups)
    assert [s for (s,) in status] == ["posted"]
    await second.app.jobs.sync()
    assert sum(_delivered(platform).values()) == 10


async def test_an_admin_round_is_made_once_however_often_it_is_asked(
    pair: tuple[Chat, Chat],
) -> None:
    """/mock round now while the same round is still being made (a double click, a second
    admin on the other instance) is refused; once it is out, the next one may be made."""
    first, second = pair
    await _join_five(first)
    platform = first.platform
    _die_at(platform, 3)
    with pytest.raises(SystemExit):
        await first.run("/mock round now", as_=first.admin)
    refused = await second.run("/mock round now", as_=second.admin)
    assert refused.card and "being made right now" in refused.card.body
    second.clock.advance(timedelta(minutes=3))
    await second.app.jobs.sync()  # the cut-short round is finished by the other instance
    assert _delivered(platform) == {"space": 2, "intro": 2, "packet": 5}  # no mock channel
    again = await second.run("/mock round now", as_=second.admin)
    assert again.card and again.card.body.startswith("Round 2:")
