"""A running `studybot` moves what it allocated while starting out of the garbage collector's
reach, so full collections during members' presses do not walk the whole start-up heap."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from adapters import cli
from bot.app import build_app
from bot.chat import Command, Place
from bot.config import Settings
from bot.ports import MemoryPlatform
from tests.conftest import member, mini_bank


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()  # this test process keeps collecting as usual


@pytest.mark.usefixtures("unfrozen")
async def test_the_app_a_run_builds_leaves_its_start_up_objects_frozen(database_url: str) -> None:
    assert gc.get_freeze_count() == 0
    platform = MemoryPlatform(platform="memory")
    app = await cli.settled(
        build_app(
            settings=Settings(database_url=database_url, sync_seconds=0),
            platform=platform,
            items=mini_bank(),
        )
    )
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000, frozen  # the modules, the bank, the command table, the engine
        await app.start()
        admin = member("Admin", admin=True)
        reply = await app.handle(Command(admin, Place("memory", "w1", "c1"), text="/help"))
        assert reply is not None and reply.card is not None and "/quiz" in reply.card.body
    finally:
        await app.close()
