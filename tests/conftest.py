"""Shared fixtures: a real app built through the real bootstrap, on real databases."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import os
import random
import shutil
import socket
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn

import pytest

from bot.app import App, build_app
from bot.chat import (
    Action,
    Card,
    Command,
    FormSubmit,
    Member,
    MemberRef,
    Place,
    Reaction,
    Reply,
)
from bot.config import Settings
from bot.outbox import Outbox
from bot.ports import ManualClock, MemoryPlatform, Sent
from bot.registry import Registry
from bot.scheduler import ManualDriver
from bot.store.db import create_engine, migrate
from questions.loader import load_file
from questions.schema import Item
from tests.pgspares import Spares, create_database
from tests.sqlcache import DialectClassCache, sharing

# Fixtures kept with their fakes: ``model`` (a local OpenAI-compatible server).
pytest_plugins = ["tests.fakes.llm"]

DATA = Path(__file__).parent / "data"
PG_ADMIN_DSN = os.environ.get("STUDYBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def mini_bank() -> tuple[Item, ...]:
    return load_file(DATA / "mini.yaml")


async def _pg_database(template: str | None = None) -> str | None:
    """Create a fresh database on the local PostgreSQL (a copy of ``template``, if given);
    None if it cannot be reached."""
    try:
        import asyncpg
    except ImportError:
        return None
    name = f"studybot_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await create_database(conn, name, template)
    finally:
        await conn.close()
    return name


async def _pg_drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pg_unreachable() -> NoReturn:
    """No PostgreSQL to test against: skip the test, or fail it in CI."""
    message = f"PostgreSQL not reachable at {PG_ADMIN_DSN}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


async def pg_database_or_skip(template: str | None = None) -> str:
    """A fresh PostgreSQL database's name (a copy of ``template``, if given); when none can
    be made, ``pg_unreachable()``."""
    name = await _pg_database(template=template)
    if name is None:
        pg_unreachable()
    return name


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def _sqlite_template(directory: Path) -> Path:
    """A SQLite file migrated to head once, checkpointed so the file alone is the database."""
    path = directory / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(build())
    with contextlib.closing(sqlite3.connect(path)) as db:  # fold the WAL into the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _pg_template() -> str | None:
    """A PostgreSQL database migrated to head once; fresh ones are copied from it."""

    async def build() -> str | None:
        name = await _pg_database()
        if name is None:
            return None
        engine = create_engine(_pg_url(name))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()
        return name

    return asyncio.run(build())


@dataclass
class Templates:
    """One test session's (one xdist worker's) migrated templates: a SQLite file, and on
    first use a PostgreSQL database with spare copies of it made ahead."""

    sqlite: Path
    postgres: str | None = None
    spares: Spares | None = None
    unreachable: bool = False

    async def pg_copy(self) -> str:
        """A fresh copy of the PostgreSQL template; ``pg_unreachable()`` without a server."""
        if self.spares is None and not self.unreachable:
            self.postgres = await asyncio.to_thread(_pg_template)
            self.unreachable = self.postgres is None
            if self.postgres is not None:
                self.spares = Spares(PG_ADMIN_DSN, self.postgres)
        if self.spares is None:
            pg_unreachable()
        try:
            return await asyncio.to_thread(self.spares.take)
        except Exception as error:  # queue.Empty, OSError, asyncpg.PostgresError
            pytest.fail(f"no copy of the PostgreSQL template: {error!r}")


_SQLITE_TEMPLATE: list[Path] = []  # this session's, once the templates fixture has made it


async def until(happened: Callable[[], bool], *, tries: int = 250, pause: float = 0.02) -> None:
    """Let the event loop run until ``happened()``: checked ``tries`` times, ``pause``
    seconds apart (0: just yield, for code on a fake clock that moves as it sleeps)."""
    for _ in range(tries):
        if happened():
            return
        await asyncio.sleep(pause)
    raise AssertionError("it never happened")


def free_port() -> int:
    """A local TCP port nothing listens on (just now): for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def migrated_sqlite(path: Path) -> str:
    """The URL of a SQLite file at ``path`` at the newest schema: a copy of this session's
    template if the file does not exist yet (migrating it would take a tenth of a second),
    else the file as it is (an app started again on it)."""
    if not path.exists() and _SQLITE_TEMPLATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_SQLITE_TEMPLATE[0], path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session", autouse=True)
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    """Migrating takes longer than most tests: each test session (each xdist worker) migrates
    a template once per store, and every test gets a copy of it (``database_url``, and
    ``migrated_sqlite`` for the adapters' own databases)."""
    found = Templates(_sqlite_template(tmp_path_factory.mktemp("template")))
    _SQLITE_TEMPLATE[:] = [found.sqlite]
    yield found
    if found.spares is not None:
        found.spares.close()
    if found.postgres is not None:
        asyncio.run(_pg_drop(found.postgres))


@pytest.fixture(scope="session", autouse=True)
def _compiled_sql_shared() -> Iterator[None]:
    """Every engine a test builds shares one cache of compiled SQL (tests/sqlcache.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("bot.store.db.create_async_engine", sharing(DialectClassCache(capacity=2000)))
        yield


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, templates: Templates
) -> AsyncIterator[str]:
    """A real database at the newest schema, with no data: a SQLite file, or a fresh
    PostgreSQL database, copied from a template migrated once per session.

    In CI a PostgreSQL that cannot be reached fails the test instead of skipping it.
    """
    if request.param == "sqlite":
        yield migrated_sqlite(tmp_path / "studybot.db")
        return
    name = await templates.pg_copy()
    try:
        yield _pg_url(name)
    finally:
        assert templates.spares is not None
        templates.spares.give_back(name)  # dropped behind, on the spares' thread


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A real database with nothing in it, not even tables: for the migrations' own tests."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = await pg_database_or_skip()
    try:
        yield _pg_url(name)
    finally:
        await _pg_drop(name)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database (not even migrated)."""
    name = await pg_database_or_skip()
    try:
        yield _pg_url(name)
    finally:
        await _pg_drop(name)


def member(name: str, *, admin: bool = False, workspace: str = "w1") -> Member:
    return Member(MemberRef("memory", workspace, name.lower()), name, is_admin=admin)


class Chat:
    """Drive the core as members would: run commands, press buttons, fill forms, react."""

    def __init__(
        self, app: App, platform: MemoryPlatform, clock: ManualClock, driver: ManualDriver
    ) -> None:
        self.app = app
        self.platform = platform
        self.clock = clock
        self.driver = driver
        self.place = Place("memory", "w1", "c1")
        self.admin = member("Admin", admin=True)
        self.alice = member("Alice")
        self.bob = member("Bob")
        self.carol = member("Carol")

    async def run(self, text: str, *, as_: Member, place: Place | None = None) -> Reply:
        reply = await self.app.handle(Command(as_, place or self.place, text=text))
        assert reply is not None
        return reply

    async def press(
        self, target: Sent | Card, number: int, *, as_: Member, place: Place | None = None
    ) -> Reply:
        """Press button ``number`` (1-based) of a posted message or a private card."""
        card = target.card if isinstance(target, Sent) else target
        message_id = target.message_id if isinstance(target, Sent) else ""
        button = card.buttons[number - 1]
        reply = await self.app.handle(
            Action(as_, place or self.place, button.action_id, message_id)
        )
        assert reply is not None
        return reply

    async def choose(
        self, target: Sent | Card, written: int, *, as_: Member, place: Place | None = None
    ) -> Reply:
        """Answer a multiple-choice card with option ``written`` (1-based, as the bank writes
        the options): options are shuffled when posted, so its button may be anywhere."""
        card = target.card if isinstance(target, Sent) else target
        number = next(
            n
            for n, button in enumerate(card.buttons, 1)
            if button.action_id.endswith(f":{written - 1}")
        )
        return await self.press(target, number, as_=as_, place=place)

    @staticmethod
    def letter(target: Sent | Card, written: int) -> str:
        """The letter option ``written`` (1-based, as in the bank) was shown under."""
        card = target.card if isinstance(target, Sent) else target
        return next(b.label for b in card.buttons if b.action_id.endswith(f":{written - 1}"))

    async def submit(self, reply: Reply, values: Mapping[str, str], *, as_: Member) -> Reply:
        assert reply.form is not None, f"expected a form, got {reply}"
        result = await self.app.handle(FormSubmit(as_, self.place, reply.form.form_id, values))
        assert result is not None
        return result

    async def react(self, message: Sent, emoji: str, *, as_: Member, added: bool = True) -> None:
        await self.app.handle(Reaction(as_, message.place, message.message_id, emoji, added))

    async def advance(self, delta: timedelta) -> list[tuple[datetime, str]]:
        """Move time on, running every job that falls due, in order."""
        return await self.driver.advance_to(self.clock.now() + delta)

    def posts(self, place: Place | None = None) -> list[Sent]:
        return self.platform.posts_in(place or self.place)

    def last_post(self, place: Place | None = None) -> Sent:
        return self.posts(place)[-1]


@pytest.fixture
def items() -> tuple[Item, ...]:
    return mini_bank()


async def _no_wait(_seconds: float) -> None:
    return None


async def make_chat(
    database_url: str,
    *,
    items: tuple[Item, ...] | None = None,
    clock: ManualClock | None = None,
    platform: MemoryPlatform | None = None,
    seed: int = 7,
    features: Registry | None = None,
    sync_seconds: int = 0,
) -> Chat:
    """An app built through the real bootstrap, on a manual clock, started."""
    platform = platform or MemoryPlatform(platform="memory")
    clock = clock or ManualClock()
    driver = ManualDriver(clock)
    app = await build_app(
        # Simulated time: each test syncs explicitly (jobs.sync) unless it asks for a tick.
        settings=Settings(database_url=database_url, sync_seconds=sync_seconds),
        platform=platform,
        clock=clock,
        rng=random.Random(seed),
        items=mini_bank() if items is None else items,
        driver=driver,
        features=features,
        outbox=Outbox(platform, sleep=_no_wait),  # retries happen, without the waiting
    )
    await app.start()
    return Chat(app, platform, clock, driver)


@contextlib.asynccontextmanager
async def two_instances(
    database_url: str,
    platform: MemoryPlatform | None = None,
    *,
    items: tuple[Item, ...] | None = None,
) -> AsyncIterator[tuple[Chat, Chat]]:
    """Two instances on one database and one platform, on a shared simulated clock."""
    clock, platform = ManualClock(), platform or MemoryPlatform(platform="memory")
    first = await make_chat(database_url, clock=clock, platform=platform, items=items)
    second = await make_chat(database_url, clock=clock, platform=platform, items=items)
    try:
        yield first, second
    finally:
        await first.app.close()
        await second.app.close()


@pytest.fixture
async def chat(database_url: str, items: tuple[Item, ...]) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=items)
    try:
        yield chat
    finally:
        await chat.app.close()


@pytest.fixture(autouse=True)
def _no_platform_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see real tokens, so nothing can reach Discord or Slack."""
    for name in (
        "DISCORD_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DATABASE_URL",
        "STUDYBOT_CONFIG",
        "STUDYBOT_ADMINS",
    ):
        monkeypatch.delenv(name, raising=False)


def pytest_configure(config: pytest.Config) -> None:
    """Bytecode for studybot and its tests, written once before the workers start. Where
    PYTHONDONTWRITEBYTECODE is set (this machine sets it), none was ever written, so each
    worker and each of the suite's 60 `studybot` processes compiled the same sources again:
    about 18 s of the suite's CPU. Unchanged files are skipped, so a rerun pays nothing.

    For the same reason pytest's own cache of rewritten test modules is allowed here (in
    the controller and each worker): without it each worker rewrote every test module's
    asserts on every run, about 4 s of CPU each."""
    sys.dont_write_bytecode = False
    if hasattr(config, "workerinput"):  # a worker: the controller has done it
        return
    root = Path(__file__).parent.parent
    for package in ("bot", "adapters", "questions", "tests"):
        compileall.compile_dir(root / package, quiet=1)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are cores. A third of a worker's time is spent
    waiting (on `studybot` processes, PostgreSQL, local servers), which the extra worker
    fills; measured on 2 cores, 3 workers ran the suite in 127 s where 2 took 146 s and 4
    took 135 s."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fault tests run for half a minute each, mostly waiting on their processes: start
    them first, so the other tests run beside them instead of a worker finishing alone."""
    items.sort(key=lambda item: "/faults/" not in item.nodeid)
