"""A running `studybot` moves what it allocated while starting out of the garbage collector's
reach, so full collections during members' presses do not walk the whole start-up heap."""

from __future__ import annotations

import gc
import io
import sys
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest

from adapters import cli
from bot.app import App, build_app
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


@pytest.mark.usefixtures("unfrozen")
def test_a_run_collects_nothing_while_starting_and_as_usual_once_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    collecting: list[bool] = []

    async def watched(building: Awaitable[App]) -> App:
        collecting.append(gc.isenabled())  # while the app is being built
        app = await settled(building)
        collecting.append(gc.isenabled())  # once it is built, members' work ahead
        return app

    settled = cli.settled
    monkeypatch.setattr(cli, "settled", watched)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"/ping\n")))
    assert cli.main(["run", "--db", str(tmp_path / "run.db")]) == 0
    assert "pong" in capsys.readouterr().out.lower()
    assert collecting == [False, True]
    assert gc.isenabled() and gc.get_freeze_count() > 10_000


def test_a_run_that_fails_to_start_leaves_collection_on(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    assert cli.main(["run", "--db", str(blocked / "run.db")]) == 1
    assert gc.isenabled()
