"""The leaderboard: order, ties and your own place."""

from __future__ import annotations

from tests.conftest import Chat


async def test_board_orders_by_points_and_shows_your_rank(chat: Chat) -> None:
    """Members are listed best first with points; the caller's rank comes to them alone."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    await chat.choose(drop, 3, as_=chat.alice)  # right: 15, +3 within the first hour
    await chat.choose(drop, 1, as_=chat.bob)  # wrong: 2
    await chat.run("/reveal", as_=chat.admin)
    reply = await chat.run("/leaderboard", as_=chat.bob)
    assert not reply.private and reply.card is not None
    lines = reply.card.body.splitlines()
    assert lines == [
        "🥇 **Alice**: 18 pts · 1 answered, 1 right",
        "🥈 **Bob**: 2 pts · 1 answered",
    ]
    assert [n.body for n in reply.notes] == ["You are #2 this week with 2 pts."]  # to Bob alone


async def test_empty_board_invites_to_answer(chat: Chat) -> None:
    """With no points yet the board says how to get on it."""
    reply = await chat.run("/leaderboard", as_=chat.alice)
    assert reply.card and "No points yet" in reply.card.body


async def test_ties_break_the_same_way_on_board_and_rank(chat: Chat) -> None:
    """Equal points and right answers: one shared medal, and the same place for the asker."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    for who in (chat.carol, chat.alice, chat.bob):
        await chat.choose(drop, 3, as_=who)
    reply = await chat.run("/leaderboard", as_=chat.carol)
    assert reply.card is not None
    assert [line[0] for line in reply.card.body.splitlines()] == ["🥇"] * 3  # a shared place
    assert reply.notes[0].body == "You are #1 this week with 18 pts."
