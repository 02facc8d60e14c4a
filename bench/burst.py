"""A burst of presses at once through the real core on a SQLite file: when does each member
hear back? Baselines: the same number of bare one-row INSERT transactions, also all at once;
and the same burst with group commit off (each press commits alone), in the same run."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from common import bare_answer, bench_app, pct_ms

from bot.chat import Action, Command, Member, MemberRef, Place
from bot.store import db

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"


async def run(presses: int, rounds: int, *, group: int = db.MAX_GROUP) -> dict[str, float]:
    """``group``: write transactions committed together at most (1: each alone)."""
    default, db.MAX_GROUP = db.MAX_GROUP, group
    try:
        return await _run(presses, rounds)
    finally:
        db.MAX_GROUP = default


async def _run(presses: int, rounds: int) -> dict[str, float]:
    app, platform = await bench_app()
    place = Place("memory", "w", "c")
    admin = Member(MemberRef("memory", "w", "admin"), "admin", is_admin=True)
    people = [Member(MemberRef("memory", "w", f"u{i}"), f"user {i}") for i in range(presses)]
    latencies: list[float] = []
    took = 0.0
    for _ in range(rounds):
        await app.handle(Command(admin, place, text="/drop now kind:choice"))
        drop = platform.posts_in(place)[-1]
        ids = [b.action_id for b in drop.card.buttons]

        async def press(i: int, ids: list[str] = ids, message: str = drop.message_id) -> None:
            t0 = time.perf_counter()
            reply = await app.handle(Action(people[i], place, ids[i % len(ids)], message))
            assert reply is not None and reply.card is not None
            assert "Locked in" in reply.card.body, reply.card.body
            latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(press(i) for i in range(presses)))
        took += time.perf_counter() - start

    async def bare(i: int) -> None:
        await bare_answer(app, 1, f"raw{i}")

    start = time.perf_counter()
    await asyncio.gather(*(bare(i) for i in range(presses * rounds)))
    raw = time.perf_counter() - start
    await app.close()
    return {
        "presses": presses * rounds,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": pct_ms(latencies, 0.99),
        "answers_per_s": presses * rounds / took,
        "bare_rows_per_s": presses * rounds / raw,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    solo = asyncio.run(run(args.presses, args.rounds, group=1))
    r = asyncio.run(run(args.presses, args.rounds))
    print(
        f"{r['presses']:.0f} presses in bursts of {args.presses}: p50 {r['p50_ms']:.0f} ms, "
        f"p99 {r['p99_ms']:.0f} ms, {r['answers_per_s']:.0f} answers/s; bare INSERTs at once: "
        f"{r['bare_rows_per_s']:.0f} rows/s; ratio {r['answers_per_s'] / r['bare_rows_per_s']:.2f}"
    )
    print(
        f"without group commit (same run): p50 {solo['p50_ms']:.0f} ms, p99 "
        f"{solo['p99_ms']:.0f} ms, {solo['answers_per_s']:.0f} answers/s; group commit "
        f"throughput ratio {r['answers_per_s'] / solo['answers_per_s']:.2f}"
    )


if __name__ == "__main__":
    main()
