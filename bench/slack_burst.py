"""A hundred members pressing a drop's buttons at once, through the real bolt app in HTTP
mode: signed block_actions requests to SlackBot, which answers through the fake Slack Web
API of the tests (tests/fakes/slack_api.py). Measured per press: the HTTP ack, and the time
from sending the request to the fake receiving its private "Locked in" reply (response_url,
or chat.postEphemeral). Baseline: a bare bolt AsyncApp with one action listener that acks
and responds at once, under the same load.

The client, the fake and the app share one process and event loop, as in the tests."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: tests/ is imported from the checkout
    sys.path.insert(0, str(ROOT))

from common import pct_ms  # noqa: E402

from adapters.settings import SlackSettings  # noqa: E402
from adapters.slack import EVENTS_PATH, SlackBot, build_platform, make_client  # noqa: E402
from bot.app import App, build_app  # noqa: E402
from tests.adapters.slack.conftest import (  # noqa: E402
    ADMIN,
    CHANNEL,
    Http,
    _welcomed_already,
    slack_config,
    slack_settings,
    slash_command,
)
from tests.conftest import mini_bank  # noqa: E402
from tests.fakes.slack_api import TEAM, Call, FakeSlack, channel, user  # noqa: E402

REPLY_WAIT = 60.0  # seconds a press may take to get its reply before it counts as failed


class TimedSlack(FakeSlack):
    """The tests' fake Slack, also noting when each reply arrived and which press it answers:
    by response_url name, or "user:<id>" for chat.postEphemeral. The first reply counts."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, tuple[float, Call]] = {}

    async def _record(self, call: Call) -> None:
        if call.method == "chat.postEphemeral":
            self.arrived.setdefault(f"user:{call.args.get('user')}", (time.perf_counter(), call))
        await super()._record(call)

    async def _respond(self, request: web.Request) -> web.Response:
        call = Call("respond", await request.json())
        self.arrived.setdefault(request.match_info["name"], (time.perf_counter(), call))
        await self._record(call)
        return web.Response(text="ok")


@dataclass
class Burst:
    acks: list[float] = field(default_factory=list)
    replies: list[float] = field(default_factory=list)
    failed: int = 0
    first_failure: str = ""

    def fail(self, why: str) -> None:
        self.failed += 1
        self.first_failure = self.first_failure or why[:200]

    def summary(self) -> dict[str, float]:
        return {
            "ack_p50_ms": pct_ms(self.acks, 0.5),
            "ack_p99_ms": pct_ms(self.acks, 0.99),
            "reply_p50_ms": pct_ms(self.replies, 0.5),
            "reply_p99_ms": pct_ms(self.replies, 0.99),
            "failed": float(self.failed),
        }


def _press_payload(user_id: str, action_id: str, ts: str, response_url: str) -> str:
    """The form Slack posts when ``user_id`` presses button ``action_id`` on message ``ts``
    (the fields tests/adapters/slack/conftest.py SlackChat.press sends)."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "study"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM},
        "api_app_id": "A1",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        },
        "trigger_id": f"trigger-{user_id}-{ts}",
        "channel": {"id": CHANNEL, "name": "general"},
        "message": {"ts": ts},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": "",
                "action_ts": ts,
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def burst(
    fake: TimedSlack,
    http: Http,
    people: list[str],
    buttons: list[str],
    ts: str,
    settle: Callable[[], Awaitable[None]],
) -> Burst:
    """Every member in ``people`` presses one of ``buttons`` at once; wait for the replies."""
    out = Burst()
    sent: dict[str, tuple[float, str]] = {}  # response_url name -> (sent at, who)
    for stale in [k for k in fake.arrived if k.startswith("user:")]:  # an earlier burst's
        del fake.arrived[stale]

    async def press(i: int, who: str) -> None:
        url = fake.response_url()
        body = _press_payload(who, buttons[i % len(buttons)], ts, url)
        t0 = time.perf_counter()
        sent[url.rsplit("/", 1)[1]] = (t0, who)
        try:
            status, text = await http.post(body, "application/x-www-form-urlencoded")
        except aiohttp.ClientError as exc:
            out.fail(f"{who}: {type(exc).__name__}: {exc}")
            return
        out.acks.append(time.perf_counter() - t0)
        if status != 200:
            out.fail(f"{who}: HTTP {status} {text[:100]}")

    await asyncio.gather(*(press(i, who) for i, who in enumerate(people)))
    deadline = time.perf_counter() + REPLY_WAIT
    while time.perf_counter() < deadline and not _all_in(fake, sent):
        await settle()
        await asyncio.sleep(0.01)
    for name, (t0, who) in sent.items():
        got = fake.arrived.get(name) or fake.arrived.get(f"user:{who}")
        if got is None:
            out.fail(f"{who}: no reply within {REPLY_WAIT:.0f} s")
            continue
        at, call = got
        if "Locked in" not in call.text + str(call.args.get("text", "")):
            out.fail(f"{who}: {call.text[:150]}")
        else:
            out.replies.append(at - t0)
    return out


def _all_in(fake: TimedSlack, sent: dict[str, tuple[float, str]]) -> bool:
    return all(n in fake.arrived or f"user:{who}" in fake.arrived for n, (_, who) in sent.items())


async def _studybot(fake: TimedSlack, people: list[str]) -> tuple[App, SlackBot, int]:
    """The real core and SlackBot on the fake, as tests/adapters/slack/conftest.py wires them
    (with the system clock): members known and welcomed already."""
    tmp = Path(tempfile.mkdtemp())
    config = slack_config(fake)
    app = await build_app(
        settings=slack_settings(tmp, fake),
        platform=build_platform(config),
        rng=random.Random(7),
        items=mini_bank(),
    )
    await _welcomed_already(app, {ADMIN: "admin"} | {p: p.lower() for p in people})
    bot = SlackBot(config, app)
    return app, bot, await bot.start_http("127.0.0.1", 0)


async def _bare_bolt(config: SlackSettings) -> tuple[web.AppRunner, int]:
    """A bolt AsyncApp whose only listener acks a button press and responds at once."""
    bolt = AsyncApp(
        client=make_client(config),
        signing_secret=config.signing_secret.get_secret_value(),
        name="bare",
    )

    @bolt.action("drop:1:0")
    @bolt.action("drop:1:1")
    @bolt.action("drop:1:2")
    @bolt.action("drop:1:3")
    async def on_action(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(
            text="Locked in: *A*",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "Locked in: *A*"}}],
            response_type="ephemeral",
            replace_original=False,
        )

    runner = web.AppRunner(bolt.web_app(path=EVENTS_PATH), shutdown_timeout=5.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])


async def run(presses: int, rounds: int) -> dict[str, float | str]:
    fake = TimedSlack()
    people = [f"UM{i:04d}" for i in range(presses)]
    fake.users = {ADMIN: user(ADMIN, "admin", admin=True)} | {p: user(p, p.lower()) for p in people}
    fake.channels = {CHANNEL: channel(CHANNEL)}
    await fake.start()
    connector = aiohttp.TCPConnector(limit=0)  # every press on its own connection at once
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            ours = await _ours(fake, session, people, rounds)
            bare = await _bare(fake, session, people, rounds)
        finally:
            await fake.close()
    return (
        {"presses": float(presses * rounds)}
        | ours.summary()
        | {f"bare_{k}": v for k, v in bare.summary().items()}
        | {"first_failure": ours.first_failure or bare.first_failure}
    )


async def _ours(
    fake: TimedSlack, session: aiohttp.ClientSession, people: list[str], rounds: int
) -> Burst:
    app, bot, port = await _studybot(fake, people)
    http = Http(f"http://127.0.0.1:{port}{EVENTS_PATH}", session)
    total = Burst()
    try:
        for _ in range(rounds):  # a new drop each round, pressed by the same members
            form = slash_command(
                "drop now kind:choice", as_=ADMIN, response_url=fake.response_url()
            )
            await http.command(form)
            drop = await fake.next_call("chat.postMessage")
            buttons = [str(b["action_id"]) for b in drop.buttons]
            _merge(total, await burst(fake, http, people, buttons, drop.result["ts"], bot.idle))
    finally:
        await bot.stop()
        await app.close()
    return total


async def _bare(
    fake: TimedSlack, session: aiohttp.ClientSession, people: list[str], rounds: int
) -> Burst:
    runner, port = await _bare_bolt(slack_config(fake))
    http = Http(f"http://127.0.0.1:{port}{EVENTS_PATH}", session)
    buttons = [f"drop:1:{i}" for i in range(4)]

    async def settle() -> None:
        await asyncio.sleep(0)

    total = Burst()
    try:
        await burst(fake, http, ["UWARM"], buttons, fake.next_ts(), settle)  # auth.test once
        for r in range(rounds):
            ts = fake.next_ts()
            _merge(
                total, await burst(fake, http, [f"{p}-{r}" for p in people], buttons, ts, settle)
            )
    finally:
        await runner.cleanup()
    return total


def _merge(into: Burst, more: Burst) -> None:
    into.acks += more.acks
    into.replies += more.replies
    into.failed += more.failed
    into.first_failure = into.first_failure or more.first_failure


def show(r: dict[str, Any]) -> str:
    line = (
        f"{r['presses']:.0f} presses in bursts: ack p50 {r['ack_p50_ms']:.0f} ms, "
        f'p99 {r["ack_p99_ms"]:.0f} ms; "Locked in" p50 {r["reply_p50_ms"]:.0f} ms, '
        f"p99 {r['reply_p99_ms']:.0f} ms; {r['failed']:.0f} failed | bare bolt: ack p50 "
        f"{r['bare_ack_p50_ms']:.0f} ms, p99 {r['bare_ack_p99_ms']:.0f} ms; reply p50 "
        f"{r['bare_reply_p50_ms']:.0f} ms, p99 {r['bare_reply_p99_ms']:.0f} ms; "
        f"{r['bare_failed']:.0f} failed | ratio ack p99 "
        f"{r['ack_p99_ms'] / r['bare_ack_p99_ms']:.1f}x, reply p99 "
        f"{r['reply_p99_ms'] / r['bare_reply_p99_ms']:.1f}x"
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
