"""Seasons: a board of their own, archived and announced once at the end, in the workspace's
time zone; past seasons read back by name; clear refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.chat import Reply
from bot.store.schema import season_results
from tests.conftest import Chat, member, two_instances

# The manual clock starts on Mon 2026-01-05 09:00 UTC.


def _announcements(chat: Chat) -> list[str]:
    return [m.card.body for m in chat.posts() if "final top" in m.card.title]


def _body(reply: Reply) -> str:
    assert reply.card is not None
    return reply.card.body


async def _answer_drop(chat: Chat, *who: str) -> None:
    await chat.run("/drop now kind:choice", as_=chat.admin)
    drop = chat.last_post()
    for name in who:
        await chat.choose(drop, 1, as_=member(name))


async def _points(chat: Chat, period: str, name: str) -> int:
    reply = await chat.run(f"/leaderboard {period}", as_=member(name))
    line = next(x for x in _body(reply).splitlines() if f"**{name}**" in x)
    return int(line.split(": ")[1].split(" pt")[0])


async def test_a_season_board_counts_only_points_earned_during_it(chat: Chat) -> None:
    await _answer_drop(chat, "Alice")
    started = await chat.run('/season start "Winter prep" until 2026-01-31', as_=chat.admin)
    assert not started.private and "Winter prep" in started.card.title  # type: ignore[union-attr]
    await _answer_drop(chat, "Bob", "Alice")
    board = _body(await chat.run("/leaderboard season", as_=chat.bob))
    assert "**Bob**" in board and "**Alice**" in board
    alice_week = await _points(chat, "week", "Alice")
    alice_season = await _points(chat, "season", "Alice")
    bob_week, bob_season = await _points(chat, "week", "Bob"), await _points(chat, "season", "Bob")
    assert bob_season == bob_week > 0
    assert 0 < alice_season < alice_week  # her first answer came before the season
    reply = await chat.run("/leaderboard season", as_=chat.bob)
    assert reply.notes[0].body.startswith("You are #") and "in season “Winter prep”" in (
        reply.notes[0].body
    )
    status = await chat.run("/season", as_=chat.carol)
    assert "runs through Sat 31 Jan 2026" in _body(status)
    await chat.run("/season end", as_=chat.admin)
    await _answer_drop(chat, "Carol")  # after the end: on the week's board, not the season's
    past = _body(await chat.run('/leaderboard season:"winter prep"', as_=chat.carol))
    assert "**Carol**" not in past and "**Bob**" in past


async def test_the_end_archives_the_top_ten_and_announces_them_once(chat: Chat) -> None:
    await chat.run("/season start Sprint until 2026-01-06", as_=chat.admin)
    names = [f"M{n:02d}" for n in range(1, 12)]  # eleven members
    await _answer_drop(chat, *names)
    await _answer_drop(chat, *names[:4])
    live = await chat.run("/leaderboard season", as_=chat.alice)
    live_lines = _body(live).splitlines()
    assert len(live_lines) == 10
    await chat.advance(timedelta(days=1, hours=16))  # Wed 00:00 UTC has passed
    assert _announcements(chat) == ["\n".join(live_lines)]
    await chat.advance(timedelta(days=3))
    await chat.app.jobs.sync()
    assert len(_announcements(chat)) == 1
    async with chat.app.ctx.engine.connect() as conn:
        kept = (await conn.scalars(select(season_results.c.user_id))).all()
    assert len(kept) == 10 and "m11" not in kept
    # The archive reads back, under either command, however the name is capitalised.
    by_board = await chat.run("/leaderboard season:SPRINT", as_=chat.bob)
    by_season = await chat.run("/season results sprint", as_=chat.bob)
    assert _body(by_board) == _body(by_season) == "\n".join(live_lines)
    assert "No season is running" in _body(await chat.run("/leaderboard season", as_=chat.bob))


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[Chat, Chat]]:
    async with two_instances(database_url) as pair:
        yield pair


async def test_two_instances_announce_the_end_once(pair: tuple[Chat, Chat]) -> None:
    first, second = pair
    await first.run("/season start Duo until 2026-01-05", as_=first.admin)
    await _answer_drop(first, "Alice", "Bob")
    await second.app.jobs.sync()  # the second instance plans the end timer too
    end = first.clock.now() + timedelta(hours=16)
    first.clock.current = end
    await first.driver.advance_to(end)
    await second.driver.advance_to(end)
    await second.app.jobs.sync()
    await first.app.jobs.sync()
    assert len(_announcements(first)) == 1
    assert "**Alice**" in _announcements(first)[0]


async def test_the_end_falls_at_midnight_in_the_workspace_time_zone(chat: Chat) -> None:
    """Auckland is 13 hours ahead in January: 09:00 UTC Monday is 22:00 there. A season
    through Tuesday ends at Wednesday 00:00 Auckland time, Tuesday 11:00 UTC."""
    await chat.run("/settings timezone Pacific/Auckland", as_=chat.admin)
    await chat.run("/season start Kiwi until 2026-01-06", as_=chat.admin)
    await _answer_drop(chat, "Alice")
    await chat.advance(timedelta(hours=25, minutes=59))  # Tue 10:59 UTC, 23:59 there
    assert _announcements(chat) == []
    await _answer_drop(chat, "Bob")  # still in the season
    await chat.advance(timedelta(minutes=2))
    [announced] = _announcements(chat)
    assert "**Alice**" in announced and "**Bob**" in announced
    ran = next(m.card.footer for m in chat.posts() if "final top" in m.card.title)
    assert ran == "Ran from Mon 5 Jan 2026 to Wed 7 Jan 2026."


async def test_refusals_say_what_was_wrong(chat: Chat) -> None:
    async def refused(text: str, as_: object = None) -> str:
        reply = await chat.run(text, as_=as_ or chat.admin)  # type: ignore[arg-type]
        assert reply.private and reply.card is not None
        return reply.card.body

    assert "for admins" in await refused("/season start X until 2026-02-01", chat.alice)
    assert "has passed" in await refused("/season start X until 2026-01-04")
    assert "not a date" in await refused("/season start X until soon")
    assert "at most 40" in await refused(f"/season start {'y' * 41} until 2026-02-01")
    assert "name and its last day" in await refused("/season start until 2026-02-01")
    assert "at most 366 days" in await refused("/season start X until 2027-06-01")
    assert "No season is running" in await refused("/season end")
    await chat.run("/season start Alpha until 2026-02-01", as_=chat.admin)
    assert "“Alpha” is running" in await refused("/season start Beta until 2026-03-01")
    assert "for admins" in await refused("/season end", chat.alice)
    await chat.run("/season end", as_=chat.admin)
    assert "already a season called" in await refused("/season start alpha until 2026-03-01")
    unknown = await refused('/leaderboard season:"Nope"')
    assert "no season called “Nope”" in unknown and "“Alpha”" in unknown
    assert "no season called" in await refused("/season results Nope")
    assert "takes no period" in await refused("/leaderboard month season:Alpha")
    assert "takes nothing" in await refused("/season restart")
