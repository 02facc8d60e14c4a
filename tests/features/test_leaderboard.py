"""The leaderboard: order, ties and your own place."""

from __future__ import annotations

from tests.conftest import Chat


async def test_board_orders_by_points_and_shows_your_rank(chat: Chat) -> None:
    """Members are listed best first with points; the footer gives the caller's rank."""
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
        "🥈 **Bob**: 2 pts · 1 answered, 0 right",
    ]
    assert reply.card.footer == "You: #2 with 2 pts."


async def test_empty_board_invites_to_answer(chat: Chat) -> None:
    """With no points yet the board says how to get on it."""
    reply = await chat.run("/leaderboard", as_=chat.alice)
    assert reply.card and "No points yet" in reply.card.body


async def test_ties_break_the_same_way_on_board_and_rank(chat: Chat) -> None:
    """Equal points: the rank in the footer matches the position on the board."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    for who in (chat.carol, chat.alice, chat.bob):
        await chat.choose(drop, 3, as_=who)
    reply = await chat.run("/leaderboard", as_=chat.carol)
    assert reply.card is not None
    position = next(i for i, line in enumerate(reply.card.body.splitlines(), 1) if "Carol" in line)
    assert reply.card.footer == f"You: #{position} with 18 pts."
