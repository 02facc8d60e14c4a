"""The real discord.py client, wired to the real core, against a fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import discord
import pytest
from pydantic import SecretStr

from adapters.discord import create_client
from adapters.discord.bot import DiscordBot
from adapters.discord.platform import DiscordPlatform
from adapters.settings import DiscordSettings
from bot.app import App, build_app
from bot.config import Settings
from tests.conftest import migrated_sqlite, mini_bank
from tests.fakes.discord_fake import FakeDiscord, FakeUser, Interaction, Json, buttons_of

TOKEN = "fake-token"
ALL = discord.Permissions.all()


class DiscordChat:
    """Drive the bot as Discord would: members run commands, press buttons, fill modals, react.

    Every action waits until the bot has finished with it, so tests read as a conversation.
    """

    def __init__(self, fake: FakeDiscord, tmp_path: Path) -> None:
        self.fake = fake
        self.database_url = migrated_sqlite(tmp_path / "studybot.db")
        self.admin = FakeUser("1000000000000000001", "Admin", permissions=ALL)
        self.alice = FakeUser("1000000000000000002", "Alice")
        self.bob = FakeUser("1000000000000000003", "Bob")
        self.carol = FakeUser("1000000000000000004", "Carol", roles=(fake.admin_role_id,))
        self.app: App | None = None
        self.bot: DiscordBot | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def client(self) -> discord.Client:
        assert self.bot is not None, "start the bot first"
        return self.bot.client

    async def start(self, *, defer_after: float = 2.0, **settings: Any) -> DiscordBot:
        """Build the app through the real bootstrap and connect a fresh client."""
        core = {k: v for k, v in settings.items() if k in Settings.model_fields}
        config = Settings(database_url=self.database_url, **core)
        own = {k: v for k, v in settings.items() if k not in core}
        discord_config = DiscordSettings(token=SecretStr(TOKEN), **own)
        client = create_client(discord_config, guild_ready_timeout=0.05)
        self.app = await build_app(
            settings=config,
            platform=DiscordPlatform(client),
            items=mini_bank(),
            rng=random.Random(7),
        )
        self.bot = DiscordBot(
            client=client, app=self.app, settings=discord_config, defer_after=defer_after
        )
        self._task = asyncio.create_task(self.bot.start(TOKEN))
        ready = asyncio.create_task(client.wait_until_ready())
        await asyncio.wait({ready, self._task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if self._task.done():
            self._task.result()  # raises why it stopped
        assert ready.done(), "the client never became ready"
        await asyncio.sleep(0)  # let on_ready start the core's timed work
        await self.bot.drain()
        return self.bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, 5)
        if self.app is not None:
            await self.app.close()
        self.app = self.bot = self._task = None

    async def restart(self, **options: Any) -> None:
        """A new process: a new client and app on the same database (``options`` for start)."""
        await self.stop()
        await self.start(**options)

    # ---- Discord's side -------------------------------------------------------------------

    async def deliver(
        self, event: str, data: Json, *, seen_as: str, check: Callable[[Any], bool]
    ) -> None:
        """Dispatch a gateway event and wait until the bot has handled it."""
        assert self.bot is not None
        received = asyncio.create_task(self.client.wait_for(seen_as, check=check, timeout=5))
        await asyncio.sleep(0)
        await self.fake.dispatch(event, data)
        await received
        await asyncio.sleep(0)  # let the bot's handler task start
        await self.bot.drain()

    async def _interact(
        self, kind: int, user: FakeUser, data: Json, *, message: Json | None = None
    ) -> Interaction:
        channel = message["channel_id"] if message else None
        record = self.fake.interaction(kind, user, data, channel_id=channel, message=message)
        await self.deliver(
            "INTERACTION_CREATE",
            record.payload,
            seen_as="interaction",
            check=lambda i: str(i.id) == record.id,
        )
        return record

    async def command(self, name: str, *, as_: FakeUser, **options: Any) -> Interaction:
        """``/name sub option:value`` typed by a member, shaped by the synced payload;
        a file option takes what ``fake.upload`` returned."""
        top, _, sub = name.partition(" ")
        synced = next(c for c in self.synced() if c["name"] == top)
        declared = synced.get("options", [])
        if sub:
            declared = next(o for o in declared if o["name"] == sub).get("options", [])
        types = {o["name"]: o["type"] for o in declared}
        files = {v["id"]: v for v in options.values() if isinstance(v, dict)}
        given = [
            {"name": k, "type": types[k], "value": v["id"] if isinstance(v, dict) else v}
            for k, v in options.items()
        ]
        data: Json = {"id": synced["id"], "name": top, "type": 1, "options": given}
        if files:
            data["resolved"] = {"attachments": files}
        if sub:
            data["options"] = [{"name": sub, "type": 1, "options": given}]
        return await self._interact(2, as_, data)

    async def autocomplete(
        self, name: str, option: str, typed: str, *, as_: FakeUser
    ) -> Interaction:
        top, _, sub = name.partition(" ")
        synced = next(c for c in self.synced() if c["name"] == top)
        focused = {"name": option, "type": 3, "value": typed, "focused": True}
        options: list[Json] = [focused]
        if sub:
            options = [{"name": sub, "type": 1, "options": options}]
        data = {"id": synced["id"], "name": top, "type": 1, "options": options}
        return await self._interact(4, as_, data)

    async def press(self, message: Json, label: str, *, as_: FakeUser) -> Interaction:
        """Press the button labelled ``label`` on a message."""
        button = next(b for b in buttons_of(message) if b["label"] == label)
        data = {"custom_id": button["custom_id"], "component_type": 2}
        return await self._interact(3, as_, data, message=message)

    async def choose(self, message: Json, written: int, *, as_: FakeUser) -> Interaction:
        """Press the button of option ``written`` (1-based, as the bank writes the options),
        wherever the shuffle put it."""
        return await self.press(message, shown_letter(message, written), as_=as_)

    async def submit(
        self, opened: Interaction, *values: str, as_: FakeUser, message: Json
    ) -> Interaction:
        """Fill in the modal an interaction opened; ids come from its type-9 callback body."""
        modal = opened.modal
        inputs = [c for row in modal["components"] for c in row["components"]]
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": i["custom_id"], "value": v}]}
            for i, v in zip(inputs, values, strict=True)
        ]
        data = {"custom_id": modal["custom_id"], "components": rows}
        return await self._interact(5, as_, data, message=message)

    async def react(self, message: Json, emoji: str, *, as_: FakeUser, added: bool = True) -> None:
        payload = self.fake.reaction(as_, message["channel_id"], message["id"], emoji)
        if not added:
            del payload["member"]  # Discord sends no member with a removal
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        await self.deliver(
            event,
            payload,
            seen_as="raw_reaction_add" if added else "raw_reaction_remove",
            check=lambda p: str(p.message_id) == message["id"] and str(p.user_id) == as_.id,
        )

    def synced(self) -> list[Json]:
        return next(iter(self.fake.commands.values()))

    def last_post(self, channel_id: str | None = None) -> Json:
        return self.fake.posts(channel_id)[-1]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        with server.patch():
            yield server
    finally:
        await server.close()


@pytest.fixture
async def chat(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[DiscordChat]:
    """A connected bot (global commands, no admin role) with four members."""
    driver = DiscordChat(fake, tmp_path)
    await driver.start()
    try:
        yield driver
    finally:
        await driver.stop()


def shown_letter(message: Json, written: int) -> str:
    """The label option ``written`` (1-based, as in the bank) was shown under."""
    return str(
        next(
            b["label"]
            for b in buttons_of(message)
            if str(b["custom_id"]).endswith(f":{written - 1}")
        )
    )
