"""Answers per second through the real core on a SQLite file, against a bare INSERT."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from common import bare_answer, bench_app

from bot.app import App
from bot.chat import Action, Command, Member, MemberRef, Place
from bot.ports import MemoryPlatform

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"


async def measure(n: int) -> dict[str, float]:
    """Sequential presses through the core, the same rows as bare INSERTs through the
    engine, and one-row-per-commit with the raw sqlite3 module (the issue's baseline)."""
    tmp = Path(tempfile.mkdtemp())
    app, platform = await bench_app()
    place = Place("memory", "w", "c")
    admin = Member(MemberRef("memory", "w", "admin"), "admin", is_admin=True)
    await app.handle(Command(admin, place, text="/drop now kind:choice"))
    drop = platform.posts_in(place)[-1]
    action_ids = [b.action_id for b in drop.card.buttons]

    latencies = []
    start = time.perf_counter()
    for i in range(n):
        member = Member(MemberRef("memory", "w", f"u{i}"), f"user {i}")
        t0 = time.perf_counter()
        await app.handle(Action(member, place, action_ids[i % len(action_ids)], drop.message_id))
        latencies.append(time.perf_counter() - t0)
    core_rate = n / (time.perf_counter() - start)
    returning_rate = await returning(app, platform, admin, n)

    drop_id = int(action_ids[0].split(":")[1])
    start = time.perf_counter()
    for i in range(n):
        await bare_answer(app, drop_id, f"raw{i}")
    raw_rate = n / (time.perf_counter() - start)
    await app.close()
    latencies.sort()
    return {
        "answers": n,
        "answers_per_s": core_rate,
        "returning_per_s": returning_rate,
        "median_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[int(0.99 * (n - 1))] * 1e3,
        "engine_rows_per_s": raw_rate,
        "sqlite3_rows_per_s": sqlite3_rate(tmp / "raw.db", n),
        "sqlite3_wal_rows_per_s": sqlite3_rate(tmp / "raw-wal.db", n, wal=True),
    }


async def returning(app: App, platform: MemoryPlatform, admin: Member, n: int) -> float:
    """Answers/s, one at a time, from members the bot has seen before (as most presses
    are): the first REGULARS of the members above, each answering a run of new drops."""
    place = Place("memory", "w", "regulars")
    posted = []
    for _ in range(-(-n // REGULARS)):
        await app.handle(Command(admin, place, text="/drop now kind:choice"))
        posted.append(platform.posts_in(place)[-1])
    start = time.perf_counter()
    for i in range(n):
        drop = posted[i // REGULARS]
        member = Member(MemberRef("memory", "w", f"u{i % REGULARS}"), f"user {i % REGULARS}")
        button = drop.card.buttons[i % len(drop.card.buttons)]
        await app.handle(Action(member, place, button.action_id, drop.message_id))
    return n / (time.perf_counter() - start)


REGULARS = 200


def sqlite3_rate(path: Path, n: int, *, wal: bool = False) -> float:
    """Rows per second with the stdlib driver, one INSERT and COMMIT each: with its defaults
    (a sync to disk per commit; what the speed issue measured), or with the bot's own
    settings (WAL, synchronous=NORMAL: no sync per commit)."""
    db = sqlite3.connect(path, isolation_level=None)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, drop_id INT, user_id TEXT, opt INT)")
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO a (drop_id, user_id, opt) VALUES (?, ?, ?)", (1, f"u{i}", i % 4))
        db.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    db.close()
    return rate


async def main(n: int) -> None:
    r = await measure(n)
    core_rate, raw_rate = r["answers_per_s"], r["engine_rows_per_s"]
    print(f"answers: {n}")
    print(
        f"core path: {core_rate:,.0f} answers/s (each a newcomer); "
        f"median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"
    )
    print(f"core path, members seen before: {r['returning_per_s']:,.0f} answers/s")
    print(f"bare INSERT baseline: {raw_rate:,.0f} rows/s")
    print(f"ratio core/baseline throughput: {core_rate / raw_rate:.2f}")
    print(
        f"raw sqlite3, one row per commit: {r['sqlite3_rows_per_s']:,.0f} rows/s (defaults), "
        f"{r['sqlite3_wal_rows_per_s']:,.0f} rows/s (WAL, as the bot runs)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=2000)
    asyncio.run(main(parser.parse_args().answers))
