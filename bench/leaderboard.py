"""Leaderboard top-10 + own rank from aggregates, against GROUP BY over the answers table."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import desc, func, select

from bot.chat import MemberRef
from bot.features.leaderboard import board, rank
from bot.store.db import create_engine, migrate
from bot.store.schema import answers, drops, members, scores

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


PER_DROP = 1000  # distinct members answering each drop


async def populate(url: str, n_members: int, n_answers: int, seed: int) -> None:
    """Members, drops of PER_DROP distinct answerers each, answers, and the aggregates the
    app would have maintained for them."""
    rng = random.Random(seed)
    engine = create_engine(url)
    await migrate(engine)
    points = [0] * n_members
    correct = [0] * n_members
    answered = [0] * n_members
    n_drops = max(1, n_answers // PER_DROP)
    async with engine.begin() as conn:
        await conn.execute(
            members.insert(),
            [
                {
                    "platform": "b",
                    "workspace_id": "w",
                    "user_id": f"u{i}",
                    "display_name": f"user{i}",
                    "first_seen": NOW,
                    "last_seen": NOW,
                }
                for i in range(n_members)
            ],
        )
        await conn.execute(
            drops.insert(),
            [
                {
                    "id": d + 1,
                    "platform": "b",
                    "workspace_id": "w",
                    "channel_id": "c",
                    "question_id": "q",
                    "question": "{}",
                    "kind": "choice",
                    "topic": "statistics",
                    "difficulty": "easy",
                    "posted_at": NOW,
                }
                for d in range(n_drops)
            ],
        )
        raw = await conn.get_raw_connection()
        stamp = NOW.isoformat(" ")
        for d in range(n_drops):
            rows = []
            for user in rng.sample(range(n_members), min(PER_DROP, n_members)):
                ok = rng.random() < 0.6
                pts = 15 if ok else 2
                points[user] += pts
                correct[user] += ok
                answered[user] += 1
                rows.append(("b", "w", d + 1, f"u{user}", "q", 0, ok, pts, stamp))
            # The driver directly: millions of rows through Core would time the ORM-less
            # statement cache, not the database.
            await raw.driver_connection.executemany(
                "INSERT INTO answers (platform, workspace_id, drop_id, user_id, question_id, "
                "option_index, correct, points, votes, answered_at) "
                "VALUES (?,?,?,?,?,?,?,?,0,?)",
                rows,
            )
        await conn.execute(
            scores.insert(),
            [
                {
                    "platform": "b",
                    "workspace_id": "w",
                    "user_id": f"u{i}",
                    "period": "all",
                    "topic": "*",
                    "points": points[i],
                    "answered": answered[i],
                    "correct": correct[i],
                }
                for i in range(n_members)
                if answered[i]
            ],
        )
    await engine.dispose()


async def baseline(conn: object, user: str) -> tuple[list[object], int]:
    totals = (
        select(
            answers.c.user_id,
            func.sum(answers.c.points).label("p"),
            func.sum(func.cast(answers.c.correct, answers.c.points.type)).label("c"),
        )
        .where(answers.c.platform == "b", answers.c.workspace_id == "w")
        .group_by(answers.c.user_id)
        .subquery()
    )
    top = (
        await conn.execute(  # type: ignore[attr-defined]
            select(totals).order_by(desc(totals.c.p), desc(totals.c.c), totals.c.user_id).limit(10)
        )
    ).all()
    mine = (await conn.execute(select(totals).where(totals.c.user_id == user))).one()  # type: ignore[attr-defined]
    ahead = await conn.scalar(
        select(func.count())
        .select_from(totals)
        .where(  # type: ignore[attr-defined]
            (totals.c.p > mine.p)
            | ((totals.c.p == mine.p) & (totals.c.c > mine.c))
            | ((totals.c.p == mine.p) & (totals.c.c == mine.c) & (totals.c.user_id < user))
        )
    )
    return list(top), int(ahead) + 1


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    return f"median {statistics.median(samples) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"


async def main(n_members: int, n_answers: int, runs: int, baseline_runs: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{tmp}/lb.db"
    t0 = time.perf_counter()
    await populate(url, n_members, n_answers, seed=3)
    print(
        f"populated {n_members:,} members, {n_answers:,} answers in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    engine = create_engine(url)
    rng = random.Random(5)
    fast, slow = [], []
    async with engine.connect() as conn:
        for _ in range(runs):
            ref = MemberRef("b", "w", f"u{rng.randrange(n_members)}")
            t = time.perf_counter()
            top = await board(conn, ref)
            mine = await rank(conn, ref)
            fast.append(time.perf_counter() - t)
        for _ in range(baseline_runs):
            user = f"u{rng.randrange(n_members)}"
            t = time.perf_counter()
            btop, _rank = await baseline(conn, user)
            slow.append(time.perf_counter() - t)
        same = [r[0] for r in top] == [r[0] for r in btop]
    await engine.dispose()
    print(f"aggregates (top-10 + rank): {summary(fast)} over {runs} runs; {mine=}")
    print(f"GROUP BY baseline:          {summary(slow)} over {baseline_runs} runs")
    print(
        f"speed-up (median): {statistics.median(slow) / statistics.median(fast):,.0f}x; "
        f"same top 10: {same}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.answers, args.runs, args.baseline_runs))
