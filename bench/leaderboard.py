"""Leaderboard top-10 + own rank from aggregates, against GROUP BY over the answers table;
and the curve of `/rank` and `/stats` through the core from 1,000 to 100,000 members.

    python bench/leaderboard.py --members 20000 --answers 500000
    python bench/leaderboard.py --curve                # 1,000, 10,000 and 100,000 members
    python bench/leaderboard.py --curve --sizes 1000 10000 --per-member 50

The store is filled in SQL inside SQLite (a recursive CTE makes the answer rows; the
aggregates, cards and review logs are derived from them), so the full 5,000,000 answers of
100,000 members populate in under a minute on a quiet 2-core machine (48 s; 70 to 100 s
while other jobs loaded it); inserting them from Python, a drop at a time, took 20 s per
500,000. Each size's line says how long its store took.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import desc, func, make_url, select

from bot import bank, scoring
from bot.app import build_app
from bot.chat import Command, Member, MemberRef, Place, Reply
from bot.config import Settings
from bot.features.leaderboard import board, rank
from bot.ports import ManualClock, MemoryPlatform
from bot.store.db import create_engine, migrate
from bot.store.schema import answers
from questions.loader import load_bank
from questions.schema import ChoiceItem, Item

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday: the week and month hold every answer


PER_DROP = 1000  # distinct members answering each drop
RIGHT = 600  # per thousand answers: the share answered correctly
# Strides for spreading each drop's answerers over the members: a prime coprime with any
# member count used here makes the PER_DROP answerers of a drop distinct.
STRIDES = (104_729, 1_299_709)
SHIFT = 7_919
SPREAD = 2_654_435_761  # Knuth's multiplicative hash, for repeatable pseudo-random outcomes
BASELINE_BUDGET = 60.0  # seconds: fewer GROUP BY runs once they have taken this long
REVIEWED = 10  # one member in ten gets cards and review logs; /stats is timed for them


def _stamp(at: datetime) -> str:
    """A UTC moment as SQLAlchemy stores it in SQLite."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


async def populate(
    url: str, n_members: int, n_answers: int, seed: int, items: Sequence[Item] | None = None
) -> None:
    """Members; drops of PER_DROP distinct answerers each, asking the bank's multiple-choice
    questions in turn; their answers (about 60% right, three in ten rated for confidence);
    and what the app keeps as answers arrive, as far as the board, /rank and /stats read it:
    the every-topic score rows of the three calendar periods (the per-topic rows, which none
    of them reads, are left out), and for one member in REVIEWED a card per question and a
    review log per answer (those members are the ones /stats is timed for; giving the other
    nine in ten theirs would only make two tables deeper). Every answer falls in the week of
    NOW, so this week's board is the all-time one."""
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    questions = [
        i for i in (items if items is not None else load_bank()) if isinstance(i, ChoiceItem)
    ]
    path = make_url(url).database
    assert path, url
    await asyncio.to_thread(_fill, path, n_members, n_answers, seed, questions)


def _fill(path: str, n_members: int, n_answers: int, seed: int, items: list[ChoiceItem]) -> None:
    per_drop = min(PER_DROP, n_members)
    n_drops = max(1, n_answers // per_drop)
    stride = next(s for s in STRIDES if math.gcd(s, n_members) == 1)
    stamp = _stamp(NOW)
    db = sqlite3.connect(path, isolation_level=None)
    # A throwaway file: no journal and no syncs while it is filled.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-512000")
    db.execute("PRAGMA temp_store=MEMORY")
    db.execute("BEGIN")
    # Indexes whose rows would arrive in random order are dropped and rebuilt after the
    # bulk insert (one sort instead of a random insert per row).
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
        "tbl_name IN ('answers', 'cards', 'review_logs', 'scores') AND name NOT LIKE '%message_id'"
    ).fetchall()
    for name, _sql in indexes:
        db.execute(f"DROP INDEX {name}")
    db.execute(
        "INSERT INTO workspaces (platform, workspace_id, name, timezone, created_at) "
        "VALUES ('b', 'w', 'bench', 'UTC', ?)",
        (stamp,),
    )
    db.execute(
        "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ?) "
        "INSERT INTO members (platform, workspace_id, user_id, display_name, first_seen, "
        "last_seen, welcomed_at) SELECT 'b', 'w', 'u' || i, 'user' || i, ?, ?, ? FROM k",
        (n_members - 1, stamp, stamp, stamp),
    )
    asked = [items[d % len(items)] for d in range(n_drops)]
    db.executemany(
        "INSERT INTO drops (id, platform, workspace_id, channel_id, question_id, question, "
        "kind, topic, difficulty, posted_at, revealed_at) "
        "VALUES (?, 'b', 'w', 'c', ?, ?, 'choice', ?, ?, ?, ?)",
        [
            (d + 1, item.id, bank.to_json(item), item.topic, item.difficulty, stamp, stamp)
            for d, item in enumerate(asked)
        ],
    )
    db.execute(
        "CREATE TEMP TABLE keyed (drop_id INTEGER PRIMARY KEY, qid TEXT, topic TEXT, "
        "difficulty TEXT, answer INT, options INT, points INT)"
    )
    db.executemany(
        "INSERT INTO keyed VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                d + 1,
                item.id,
                item.topic,
                item.difficulty,
                next(i for i, o in enumerate(item.options) if o.correct),
                len(item.options),
                scoring.CORRECT[item.difficulty],
            )
            for d, item in enumerate(asked)
        ],
    )
    # Drop d's answerers: (d * SHIFT + j * stride) mod n for j < per_drop, all distinct.
    # r is a repeatable pseudo-random number per answer: right or wrong, which wrong
    # option, and whether (and how sure) the member said they were.
    db.execute(
        "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < :last), "
        "h AS (SELECT d.*, j, (d.drop_id * :shift + j * :stride) % :n AS who, "
        "((d.drop_id * 1000 + j + :seed) * :spread) % 4294967296 / 1024 AS r "
        "FROM keyed AS d CROSS JOIN k) "
        "INSERT INTO answers (platform, workspace_id, drop_id, user_id, question_id, "
        "option_index, correct, points, votes, answered_at, confidence) "
        "SELECT 'b', 'w', drop_id, 'u' || who, qid, "
        "CASE WHEN r % 1000 < :right THEN answer "
        "ELSE (answer + 1 + r / 1000 % (options - 1)) % options END, "
        "r % 1000 < :right, CASE WHEN r % 1000 < :right THEN points ELSE :taking_part END, "
        "0, :stamp, "
        "CASE r / 7 % 10 WHEN 0 THEN 'certain' WHEN 1 THEN 'fairly-sure' "
        "WHEN 2 THEN 'guessing' END FROM h",
        {
            "last": per_drop - 1,
            "shift": SHIFT,
            "stride": stride,
            "n": n_members,
            "seed": seed,
            "spread": SPREAD,
            "right": RIGHT,
            "taking_part": scoring.TAKING_PART,
            "stamp": stamp,
        },
    )
    # The all-topic aggregates of the three calendar periods: the rows /rank and the board
    # read. (The app also keeps one row per topic, which neither command reads.)
    # Summed into a table keyed by the member's number: an upsert per answer into 100,000
    # integer keys is about twice as fast as sorting five million text ids for GROUP BY.
    db.execute("CREATE TEMP TABLE totals (who INTEGER PRIMARY KEY, p INT, n INT, c INT)")
    db.execute(
        "INSERT INTO totals SELECT CAST(substr(user_id, 2) AS INTEGER), points, 1, correct "
        "FROM answers WHERE true ON CONFLICT (who) DO UPDATE SET p = p + excluded.p, "
        "n = n + 1, c = c + excluded.c"
    )
    for period in scoring.periods(NOW, UTC):
        db.execute(
            "INSERT INTO scores (platform, workspace_id, user_id, period, topic, points, "
            "answered, correct) SELECT 'b', 'w', 'u' || who, ?, '*', p, n, c FROM totals",
            (period,),
        )
    # Cards and review logs for one member in REVIEWED (those /stats is timed for): one
    # review per answer, and a card per question from the member's latest answer to it.
    good, again = _stamp(NOW + timedelta(days=3)), _stamp(NOW + timedelta(minutes=10))
    db.execute(
        "CREATE TEMP TABLE reviewed AS SELECT * FROM answers "
        "WHERE CAST(substr(user_id, 2) AS INTEGER) % ? = 0",
        (REVIEWED,),
    )
    db.execute(
        "INSERT INTO review_logs (platform, workspace_id, user_id, question_id, rating, "
        "source, reviewed_at, due_after) SELECT platform, workspace_id, user_id, question_id, "
        "CASE WHEN correct THEN 3 ELSE 1 END, 'drop', answered_at, "
        "CASE WHEN correct THEN ? ELSE ? END FROM reviewed ORDER BY id",
        (good, again),
    )
    # (SQLite takes the bare columns of a max() aggregate from the row with the maximum.)
    db.execute(
        "INSERT INTO cards (platform, workspace_id, user_id, question_id, topic, difficulty, "
        "state, stability, card_difficulty, due, last_review, reps, lapses) "
        "SELECT 'b', 'w', g.user_id, g.question_id, k.topic, k.difficulty, 2, "
        "CASE WHEN g.correct THEN 3.2 ELSE 0.4 END, 5.0, "
        "CASE WHEN g.correct THEN :good ELSE :again END, :stamp, g.reps, g.lapses "
        "FROM (SELECT user_id, question_id, max(id), drop_id, correct, count(*) AS reps, "
        "sum(NOT correct) AS lapses FROM reviewed GROUP BY user_id, question_id) AS g "
        "JOIN keyed AS k ON k.drop_id = g.drop_id",
        {"good": good, "again": again, "stamp": stamp},
    )
    for _name, sql in indexes:
        db.execute(sql)
    db.execute("COMMIT")
    db.close()


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


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest sample with ``share`` of them at or below."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


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
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"aggregates (top-10 + rank): {summary(fast)} over {runs} runs; {mine=}")
    print(f"GROUP BY baseline:          {summary(slow)} over {baseline_runs} runs")
    print(
        f"speed-up (median): {statistics.median(slow) / statistics.median(fast):,.0f}x; "
        f"same top 10: {same}"
    )


# ---- the curve: /rank and /stats through the core ---------------------------------------


@dataclass(frozen=True)
class Point:
    """One size on the curve; times in milliseconds."""

    members: int
    answers: int
    populate_s: float
    rank_p50: float
    rank_p95: float
    stats_p50: float
    stats_p95: float
    baseline: float  # median of the GROUP BY board + rank at this size
    # Median CPU time of the process (every thread) per command: on a loaded machine the
    # wall time also counts waiting for a core.
    rank_cpu: float
    stats_cpu: float
    same_top: bool  # the aggregates' top 10 equals the GROUP BY's

    def line(self) -> str:
        return (
            f"members {self.members:,}: /rank p50 {self.rank_p50:.2f} ms p95 "
            f"{self.rank_p95:.2f} ms; /stats p50 {self.stats_p50:.2f} ms p95 "
            f"{self.stats_p95:.2f} ms; baseline GROUP BY {self.baseline:,.0f} ms "
            f"(CPU p50 /rank {self.rank_cpu:.2f} ms, /stats {self.stats_cpu:.2f} ms; "
            f"{self.answers:,} answers, populated in {self.populate_s:.0f} s; "
            f"same top 10: {'yes' if self.same_top else 'NO'})"
        )


def _checked(reply: Reply | None, command: str) -> None:
    """Refuse to time an error path: /rank must place the member, /stats bring its chart."""
    card = None if reply is None else reply.card
    if command == "/rank":
        ok = card is not None and card.title.startswith("Your rank")
    else:
        ok = card is not None and card.title.startswith("Stats") and bool(reply and reply.files)
    if not ok:
        raise RuntimeError(f"{command} did not answer as expected: {reply!r}")


async def measure(
    n_members: int,
    n_answers: int,
    runs: int,
    baseline_runs: int,
    items: Sequence[Item],
) -> Point:
    """One size: a fresh store, then ``runs`` members (distinct, at random) each run `/rank`
    and `/stats` through ``Core.handle``, the way a platform adapter delivers them.

    Each sampled member first runs `/ping` (untimed): the core records a member the first
    time it sees them (and at most every five minutes after), and that write belongs to
    the member's first event of the session, not to /rank or /stats.
    """
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{tmp}/curve.db"
    t0 = time.perf_counter()
    await populate(url, n_members, n_answers, seed=3, items=items)
    populated = time.perf_counter() - t0
    app = await build_app(
        settings=Settings(database_url=url),
        platform=MemoryPlatform(),
        clock=ManualClock(NOW + timedelta(hours=1)),
        rng=random.Random(1),
        items=items,
    )
    place = Place("b", "w", "c")
    rng = random.Random(5)
    reviewed = range(0, n_members, REVIEWED)  # the members with cards and review logs
    who = [
        Member(MemberRef("b", "w", f"u{i}"), f"user{i}")
        for i in rng.sample(reviewed, min(runs + 1, len(reviewed)))
    ]
    for member in who:
        await app.handle(Command(member, place, text="/ping"))
    # The first of each command loads what every later one reuses (Pillow, the chart's
    # font, compiled statements); it is not timed.
    for command in ("/rank", "/stats"):
        _checked(await app.handle(Command(who[-1], place, text=command)), command)
    timed: dict[str, list[float]] = {"/rank": [], "/stats": []}
    cpu: dict[str, list[float]] = {"/rank": [], "/stats": []}
    for i, member in enumerate(who[:-1] * math.ceil(runs / max(1, len(who) - 1))):
        if i == runs:
            break
        for command in ("/rank", "/stats"):
            t, c = time.perf_counter(), time.process_time()
            reply = await app.handle(Command(member, place, text=command))
            timed[command].append(time.perf_counter() - t)
            cpu[command].append(time.process_time() - c)
            _checked(reply, command)
    slow = []
    async with app.ctx.engine.connect() as conn:
        top = await board(conn, who[0].ref)
        for _ in range(baseline_runs):
            t = time.perf_counter()
            grouped, _place = await baseline(conn, f"u{rng.randrange(n_members)}")
            slow.append(time.perf_counter() - t)
            if sum(slow) > BASELINE_BUDGET:
                break  # at 5,000,000 answers one run takes most of a minute
    await app.close()
    shutil.rmtree(tmp, ignore_errors=True)
    ms = 1e3
    return Point(
        members=n_members,
        answers=n_answers,
        populate_s=populated,
        rank_p50=statistics.median(timed["/rank"]) * ms,
        rank_p95=percentile(timed["/rank"], 0.95) * ms,
        stats_p50=statistics.median(timed["/stats"]) * ms,
        stats_p95=percentile(timed["/stats"], 0.95) * ms,
        baseline=statistics.median(slow) * ms,
        rank_cpu=statistics.median(cpu["/rank"]) * ms,
        stats_cpu=statistics.median(cpu["/stats"]) * ms,
        same_top=[r[0] for r in top] == [r[0] for r in grouped],  # type: ignore[index]
    )


def curve(
    sizes: Sequence[int] = (1_000, 10_000, 100_000),
    answers_per_member: int = 50,
    runs: int = 100,
    baseline_runs: int = 3,
    *,
    show: bool = False,
) -> list[Point]:
    """`/rank` and `/stats` (median and p95, through the core) at each member count, with
    the GROUP BY board + rank at the same size; answers grow with members, 50 each giving
    5,000,000 at 100,000. A fresh store per size, removed after. ``show`` prints each
    size's line as soon as it is measured. Runs its own event loop for each size (call it
    from synchronous code); the three default sizes take five to eight minutes, most of it
    the GROUP BY baseline over 5,000,000 answers (half a minute a run, BASELINE_BUDGET)."""
    items = load_bank()
    points = []
    for n in sizes:
        point = asyncio.run(measure(n, n * answers_per_member, runs, baseline_runs, items))
        if show:
            print(point.line(), flush=True)
        points.append(point)
    return points


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--answers", type=int, default=500_000)
    parser.add_argument("--runs", type=int, help="timed runs (200; with --curve, 100 a size)")
    parser.add_argument("--baseline-runs", type=int, help="GROUP BY runs (5; --curve, 3)")
    parser.add_argument(
        "--curve", action="store_true", help="/rank and /stats through the core at each size"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--per-member", type=int, default=50, help="answers per member")
    args = parser.parse_args()
    if args.curve:
        curve(args.sizes, args.per_member, args.runs or 100, args.baseline_runs or 3, show=True)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    else:
        asyncio.run(main(args.members, args.answers, args.runs or 200, args.baseline_runs or 5))
