"""Answers per second through the real core on a SQLite file, against a bare INSERT."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.app import build_app
from bot.chat import Action, Command, Member, MemberRef, Place
from bot.config import Settings
from bot.ports import MemoryPlatform
from bot.store.schema import answers
from questions.loader import load_file

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"


async def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    platform = MemoryPlatform()
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp}/bench.db"),
        platform=platform,
        rng=random.Random(1),
        items=load_file(MINI_BANK),
    )
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

    drop_id = int(action_ids[0].split(":")[1])
    start = time.perf_counter()
    for i in range(n):
        async with app.ctx.engine.begin() as conn:
            await conn.execute(
                answers.insert().values(
                    platform="memory",
                    workspace_id="w",
                    drop_id=drop_id,
                    user_id=f"raw{i}",
                    question_id="x",
                    option_index=0,
                    correct=False,
                    answered_at=app.ctx.clock.now(),
                )
            )
    raw_rate = n / (time.perf_counter() - start)
    await app.close()

    latencies.sort()
    print(f"answers: {n}")
    print(
        f"core path: {core_rate:,.0f} answers/s; "
        f"median {statistics.median(latencies) * 1e3:.2f} ms, "
        f"p99 {latencies[int(0.99 * (n - 1))] * 1e3:.2f} ms"
    )
    print(f"bare INSERT baseline: {raw_rate:,.0f} rows/s")
    print(f"ratio core/baseline throughput: {core_rate / raw_rate:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=2000)
    asyncio.run(main(parser.parse_args().answers))
