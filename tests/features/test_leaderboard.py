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


async def test_a_neighbours_place_counted_from_the_members_own_matches_a_full_count(
    chat: Chat,
) -> None:
    """/rank counts each neighbour's place over the members between them and the member;
    on a board full of ties in points and in right answers it agrees with rank()."""
    import random

    from bot.chat import MemberRef
    from bot.features import leaderboard
    from bot.store.schema import scores

    rng = random.Random(4)
    rows = [
        {
            "platform": "memory",
            "workspace_id": "w1",
            "user_id": f"u{n:02}",
            "period": "all",
            "topic": "*",
            "points": rng.choice((2, 10, 10, 13, 15, 15, 20, 33)),
            "answered": 5,
            "correct": rng.randint(0, 3),
        }
        for n in range(60)
    ]
    async with chat.app.ctx.engine.begin() as conn:
        await conn.execute(scores.insert(), rows)
    async with chat.app.ctx.engine.connect() as conn:
        for row in rows[::7]:
            ref = MemberRef("memory", "w1", str(row["user_id"]))
            mine = await leaderboard.standing(conn, ref, period="all")
            assert mine is not None
            around = await leaderboard.neighbours(conn, ref, period="all", reach=4)
            placed = await leaderboard.places_around(
                conn, ref, period="all", mine=mine, around=around
            )
            for (_offset, (user, _name, points, correct)), place in zip(
                around, placed, strict=True
            ):
                full = await leaderboard.rank(conn, MemberRef("memory", "w1", user), period="all")
                near = await leaderboard.place_near(
                    conn, ref, period="all", row=(points, correct), anchor=(mine.points, mine.more)
                )
                assert full is not None and place == near == full[0], (row["user_id"], user)
