"""Presses arriving at a fixed rate (open loop) through the real core on a SQLite file: how
long from each press's arrival to its reply, and does every press get its "Locked in"?

Each press is launched at its scheduled arrival time whether or not earlier ones have been
answered, and its latency is counted from that scheduled time, so a backlog shows in full
(no coordinated omission). Members answer many drops, each drop in its own channel.
Baseline: bare one-row INSERT transactions offered at the same rate on the same database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import bare_answer, bench_app, pct_ms

from bot.app import App
from bot.chat import Action, Command, Member, MemberRef, Place
from bot.ports import MemoryPlatform

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"
DROPS = 10  # press k goes to drop k % DROPS, from member k // DROPS


@dataclass
class Outcome:
    """One open-loop run: latencies of the presses answered as asked, and the failures."""

    offered_per_s: float
    presses: int
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    first_failure: str = ""
    seconds: float = 0.0

    @property
    def achieved_per_s(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "offered_per_s": self.offered_per_s,
            "achieved_per_s": self.achieved_per_s,
            "p50_ms": pct_ms(self.latencies, 0.5),
            "p99_ms": pct_ms(self.latencies, 0.99),
            "failed": float(self.failed),
        }


async def offer(rate: float, n: int, send: Callable[[int], Awaitable[str | None]]) -> Outcome:
    """Launch ``send(k)`` for k in 0..n-1 at ``rate`` per second; ``send`` returns None when
    the press was answered as it should be, else what went wrong."""
    out = Outcome(rate, n)

    async def one(k: int, due: float) -> None:
        try:
            problem = await send(k)
        except Exception as exc:  # a press that raised is a failed press, counted below
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None:
            out.latencies.append(time.perf_counter() - due)
        else:
            out.failed += 1
            out.first_failure = out.first_failure or problem[:200]

    start = time.perf_counter()
    tasks = []
    for k in range(n):
        due = start + k / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*tasks)
    out.seconds = time.perf_counter() - start
    return out


async def _app() -> tuple[App, MemoryPlatform]:
    """A fresh app on its own SQLite file, built the way bench/burst.py builds it."""
    app, platform = await bench_app()
    return app, platform


async def _post_drops(app: App, platform: MemoryPlatform) -> list[tuple[Place, list[str], str]]:
    """One multiple-choice drop in each of DROPS channels: (place, button ids, message id)."""
    admin = Member(MemberRef("memory", "w", "admin"), "admin", is_admin=True)
    drops = []
    for d in range(DROPS):
        place = Place("memory", "w", f"c{d}")
        await app.handle(Command(admin, place, text="/drop now kind:choice"))
        posted = platform.posts_in(place)[-1]
        drops.append((place, [b.action_id for b in posted.card.buttons], posted.message_id))
    return drops


async def run(rate: float, presses: int) -> dict[str, float | str]:
    """Presses at ``rate`` through Core.handle, then bare INSERTs at the same rate."""
    app, platform = await _app()
    drops = await _post_drops(app, platform)

    async def press(k: int) -> str | None:
        place, ids, message = drops[k % DROPS]
        who = MemberRef("memory", "w", f"u{k // DROPS}")
        action = Action(Member(who, who.user_id), place, ids[k % len(ids)], message)
        reply = await app.handle(action)
        if reply is None or reply.card is None:
            return "no reply"
        return None if "Locked in" in reply.card.body else reply.card.body[:200]

    drop_id = int(drops[0][1][0].split(":")[1])

    async def bare(k: int) -> str | None:
        await bare_answer(app, drop_id, f"raw{k}")
        return None

    try:
        ours = await offer(rate, presses, press)
        base = await offer(rate, presses, bare)
    finally:
        await app.close()
    result: dict[str, float | str] = {"presses": float(presses), **ours.summary()}
    result |= {f"bare_{k}": v for k, v in base.summary().items()}
    return result | {"first_failure": ours.first_failure, "seconds": ours.seconds}


def show(r: dict[str, float | str]) -> str:
    def f(key: str) -> float:
        return float(r[key])

    line = (
        f"offered {f('offered_per_s'):.0f}/s, {f('presses'):.0f} presses: achieved "
        f"{f('achieved_per_s'):.1f}/s, p50 {f('p50_ms'):.0f} ms, p99 {f('p99_ms'):.0f} ms, "
        f"{f('failed'):.0f} failed | bare INSERTs: {f('bare_achieved_per_s'):.1f}/s, "
        f"p50 {f('bare_p50_ms'):.1f} ms, p99 {f('bare_p99_ms'):.1f} ms, "
        f"{f('bare_failed'):.0f} failed | ratio p99 {f('p99_ms') / f('bare_p99_ms'):.1f}x, "
        f"rate {f('achieved_per_s') / f('bare_achieved_per_s'):.2f}x"
    )
    if r["first_failure"]:
        line += f"\n  first failure: {r['first_failure']}"
    return line


async def main(rates: list[float], presses: int) -> None:
    for rate in rates:
        print(show(await run(rate, presses)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 200, 500])
    parser.add_argument("--presses", type=int, default=3000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.rates, args.presses))
