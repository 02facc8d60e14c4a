"""A hundred members pressing a channel drop's option buttons at once, through the real
discord.py client and the real DiscordBot on the tests' fake Discord (tests/fakes/
discord_fake.py): one INTERACTION_CREATE of type component per press, sent down the gateway
socket back to back, as Discord would deliver a burst to one shard. Measured per press, from
writing its frame: the first interaction response the fake receives (the callback), and the
message that carries "Locked in" (the callback itself when answered at once, else the
follow-up after a deferral). Baseline: a bare discord.py client, built the same way, whose
on_interaction answers every press at once with a fixed message, under the same burst.

The clients, the fake and the core share one process and event loop, as in the tests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from aiohttp import web
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: tests/ is imported from the checkout
    sys.path.insert(0, str(ROOT))

from common import pct_ms  # noqa: E402

from adapters.discord import create_client  # noqa: E402
from adapters.discord.bot import DEFER_AFTER  # noqa: E402
from adapters.discord.platform import PLATFORM  # noqa: E402
from adapters.settings import DiscordSettings  # noqa: E402
from bot.app import App  # noqa: E402
from bot.store.schema import members  # noqa: E402
from tests.adapters.discord.conftest import TOKEN, DiscordChat  # noqa: E402
from tests.fakes.discord_fake import (  # noqa: E402
    BODY,
    FakeDiscord,
    FakeUser,
    Json,
    buttons_of,
    text_of,
)

REPLY_WAIT = 60.0  # seconds a press may take to get its reply before it counts as failed
DISCORD_DEADLINE = 3.0  # Discord drops an interaction not acknowledged within this
COMPONENT = 3  # the interaction type of a button press
MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE = 4, 5, 6  # interaction callback types


class TimedDiscord(FakeDiscord):
    """The tests' fake Discord, also noting per interaction token when its first callback
    arrived (and its type), and when each message answering it arrived: a type-4 callback,
    a follow-up, or an edit of the original response."""

    def __init__(self) -> None:
        super().__init__()
        self.acked: dict[str, tuple[float, int]] = {}
        self.answers: dict[str, list[tuple[float, Json]]] = {}
        self.moved = asyncio.Event()  # set at each callback or answer

    async def _callback(self, request: web.Request) -> web.Response:
        at, token, body = time.perf_counter(), request.match_info["token"], request[BODY]
        self.acked.setdefault(token, (at, int(body["type"])))
        if int(body["type"]) == MESSAGE:
            self.answers.setdefault(token, []).append((at, body.get("data") or {}))
        self.moved.set()
        return await super()._callback(request)

    async def _followup(self, request: web.Request) -> web.Response:
        self._answered(request)
        return await super()._followup(request)

    async def _edit_original(self, request: web.Request) -> web.Response:
        self._answered(request)
        return await super()._edit_original(request)

    def _answered(self, request: web.Request) -> None:
        token = request.match_info["token"]
        self.answers.setdefault(token, []).append((time.perf_counter(), request[BODY] or {}))
        self.moved.set()


@dataclass
class Burst:
    acks: list[float] = field(default_factory=list)
    replies: list[float] = field(default_factory=list)
    deferred: int = 0
    late: int = 0  # first response after Discord's 3 s: the real Discord would refuse it
    failed: int = 0
    first_failure: str = ""

    def fail(self, why: str) -> None:
        self.failed += 1
        self.first_failure = self.first_failure or why[:200]

    def merge(self, more: Burst) -> None:
        self.acks += more.acks
        self.replies += more.replies
        self.deferred += more.deferred
        self.late += more.late
        self.failed += more.failed
        self.first_failure = self.first_failure or more.first_failure

    def summary(self) -> dict[str, float]:
        return {
            "ack_p50_ms": pct_ms(self.acks, 0.5),
            "ack_p99_ms": pct_ms(self.acks, 0.99),
            "reply_p50_ms": pct_ms(self.replies, 0.5),
            "reply_p99_ms": pct_ms(self.replies, 0.99),
            "deferred": float(self.deferred),
            "late": float(self.late),
            "failed": float(self.failed),
        }


def _settled(fake: TimedDiscord, token: str) -> bool:
    """Whether the press has had its first response and, after a deferral, an answer too."""
    acked = fake.acked.get(token)
    if acked is None:
        return False
    return acked[1] not in (DEFERRED_MESSAGE, DEFERRED_UPDATE) or token in fake.answers


async def burst(
    fake: TimedDiscord,
    people: list[FakeUser],
    message: Json,
    settle: Callable[[], Awaitable[None]],
) -> Burst:
    """Every member in ``people`` presses one of ``message``'s buttons at once; wait for the
    answers."""
    out = Burst()
    ids = [str(b["custom_id"]) for b in buttons_of(message)]
    presses = [
        (
            who,
            fake.interaction(
                COMPONENT,
                who,
                {"custom_id": ids[i % len(ids)], "component_type": 2},
                message=message,
            ),
        )
        for i, who in enumerate(people)
    ]
    sent: dict[str, tuple[float, str]] = {}  # token -> (sent at, who)
    for who, record in presses:  # one gateway socket: the frames go out back to back
        sent[record.token] = (time.perf_counter(), who.name)
        await fake.dispatch("INTERACTION_CREATE", record.payload)
    await _until_settled(fake, list(sent), time.perf_counter() + REPLY_WAIT)
    await settle()
    for token, (t0, name) in sent.items():
        acked = fake.acked.get(token)
        if acked is None:
            out.fail(f"{name}: no interaction response within {REPLY_WAIT:.0f} s")
            continue
        at, kind = acked
        out.acks.append(at - t0)
        out.deferred += int(kind in (DEFERRED_MESSAGE, DEFERRED_UPDATE))
        out.late += int(at - t0 > DISCORD_DEADLINE)
        answers = fake.answers.get(token, [])
        locked = next((t for t, m in answers if "Locked in" in text_of(m)), None)
        if locked is not None:
            out.replies.append(locked - t0)
        elif answers:
            out.fail(f"{name}: {text_of(answers[0][1])[:150]}")
        else:
            out.fail(f"{name}: callback type {kind}, then no answer within {REPLY_WAIT:.0f} s")
    return out


async def _until_settled(fake: TimedDiscord, tokens: list[str], deadline: float) -> None:
    """Wake at each response the fake receives until every press is settled, or the
    deadline passes."""
    while not all(_settled(fake, t) for t in tokens):
        fake.moved.clear()
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fake.moved.wait(), left)


async def _welcomed_already(app: App, guild_id: str, people: list[FakeUser]) -> None:
    """The members have met the bot before, so no press brings the first-contact welcome
    (a further follow-up that would load the run with work a burst of regulars does not do)."""
    now = app.ctx.clock.now()
    rows = [
        {
            "platform": PLATFORM,
            "workspace_id": guild_id,
            "user_id": p.id,
            "display_name": p.name,
            "first_seen": now,
            "last_seen": now,
            "welcomed_at": now,
        }
        for p in people
    ]
    async with app.ctx.engine.begin() as conn:
        await conn.execute(members.insert(), rows)


async def _ours(fake: TimedDiscord, people: list[FakeUser], rounds: int) -> tuple[Burst, Json]:
    """The real core and DiscordBot (production deferral delay), a new choice drop each
    round pressed by the same members. Returns the last drop, for the baseline to press."""
    chat = DiscordChat(fake, Path(tempfile.mkdtemp()))
    bot = await chat.start(defer_after=DEFER_AFTER)
    assert chat.app is not None
    await _welcomed_already(chat.app, fake.guild_id, [chat.admin, *people])
    total, drop = Burst(), {}
    try:
        for _ in range(rounds):
            posted = await chat.command("drop now", as_=chat.admin, kind="choice")
            if "Posted drop" not in posted.text:
                raise RuntimeError(f"no drop posted: {posted.text[:200]}")
            drop = chat.last_post()
            total.merge(await burst(fake, people, drop, bot.drain))
    finally:
        await chat.stop()
    return total, drop


async def _bare(fake: TimedDiscord, people: list[FakeUser], rounds: int, drop: Json) -> Burst:
    """A client made by the same factory as studybot's, whose only handler answers every
    interaction at once with a fixed private message."""
    client = create_client(DiscordSettings(token=SecretStr(TOKEN)), guild_ready_timeout=0.05)

    async def on_interaction(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Locked in: **A**", ephemeral=True)

    client.event(on_interaction)
    task = asyncio.create_task(client.start(TOKEN))
    ready = asyncio.create_task(client.wait_until_ready())
    await asyncio.wait({ready, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises why it stopped
    if not ready.done():
        raise RuntimeError("the bare client never became ready")

    async def settle() -> None:
        await asyncio.sleep(0)

    total = Burst()
    try:
        for _ in range(rounds):
            total.merge(await burst(fake, people, drop, settle))
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
    return total


async def _disconnected(fake: TimedDiscord) -> None:
    """Wait until the fake has let go of the last client's gateway socket, so one burst
    never reaches two clients."""
    for _ in range(500):
        if fake.connections == 0:
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the previous client is still connected to the fake gateway")


async def run(presses: int, rounds: int) -> dict[str, float | str]:
    fake = TimedDiscord()
    people = [
        FakeUser(str(1_000_000_000_000_100_000 + i), f"Member{i:04d}") for i in range(presses)
    ]
    await fake.start()
    try:
        with fake.patch():
            ours, drop = await _ours(fake, people, rounds)
            await _disconnected(fake)
            bare = await _bare(fake, people, rounds, drop)
    finally:
        await fake.close()
    return (
        {"presses": float(presses * rounds)}
        | ours.summary()
        | {f"bare_{k}": v for k, v in bare.summary().items()}
        | {"first_failure": ours.first_failure or bare.first_failure}
    )


def show(r: dict[str, Any]) -> str:
    line = (
        f"{r['presses']:.0f} presses in bursts: first response p50 {r['ack_p50_ms']:.0f} ms, "
        f'p99 {r["ack_p99_ms"]:.0f} ms; "Locked in" p50 {r["reply_p50_ms"]:.0f} ms, '
        f"p99 {r['reply_p99_ms']:.0f} ms; {r['deferred']:.0f} deferred, "
        f"{r['late']:.0f} over 3 s, {r['failed']:.0f} failed | bare discord.py: reply p50 "
        f"{r['bare_reply_p50_ms']:.0f} ms, p99 {r['bare_reply_p99_ms']:.0f} ms; "
        f"{r['bare_deferred']:.0f} deferred, {r['bare_failed']:.0f} failed | ratio "
        f"first response p99 {r['ack_p99_ms'] / r['bare_ack_p99_ms']:.1f}x, "
        f'"Locked in" p99 {r["reply_p99_ms"] / r["bare_reply_p99_ms"]:.1f}x'
    )
    if r["first_failure"]:
        line += f"\n  first failure: {r['first_failure']}"
    return line


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(show(asyncio.run(run(args.presses, args.rounds))))
