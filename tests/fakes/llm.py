"""A local OpenAI-compatible chat-completions server for the AI reviewer's tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class FakeModel:
    """An OpenAI-compatible chat-completions server: answers from ``replies`` in order
    (a str is the message content; ``HANG`` never answers), recording each request."""

    replies: list[str] = field(default_factory=list)
    requests: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _never: asyncio.Event = field(default_factory=asyncio.Event)

    HANG = "<hang>"
    BUSY = "<429>"  # too many requests, retry at once
    BUSY_LONG = "<429 for two minutes>"
    tokens: int | None = None  # usage.total_tokens to report, if any

    async def _complete(self, request: web.Request) -> web.Response:
        self.requests.append((await request.json(), request.headers.get("Authorization")))
        content = self.replies.pop(0) if self.replies else "not json"
        if content == self.HANG:
            await self._never.wait()
        if content in (self.BUSY, self.BUSY_LONG):
            wait = "0" if content == self.BUSY else "120"
            return web.json_response({}, status=429, headers={"Retry-After": wait})
        body: dict[str, Any] = {"choices": [{"message": {"content": content}}]}
        if self.tokens is not None:
            body["usage"] = {"total_tokens": self.tokens}
        return web.json_response(body)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._never.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def model() -> AsyncIterator[FakeModel]:
    """A FakeModel served on 127.0.0.1 for the test."""
    server = FakeModel()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
