"""What the answer benchmarks share: an app on its own SQLite file, and the bare INSERT
of one answer row that serves as their baseline."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from bot.app import App, build_app
from bot.config import Settings
from bot.ports import MemoryPlatform
from bot.store.schema import answers
from questions.loader import load_file

MINI_BANK = Path(__file__).parent.parent / "tests" / "data" / "mini.yaml"


async def bench_app(name: str = "bench") -> tuple[App, MemoryPlatform]:
    """A fresh app, built through the real bootstrap, on its own SQLite file."""
    platform = MemoryPlatform()
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/{name}.db"),
        platform=platform,
        rng=random.Random(1),
        items=load_file(MINI_BANK),
    )
    return app, platform


async def bare_answer(app: App, drop_id: int, user_id: str) -> None:
    """The baseline: one answer row in its own write transaction, nothing else."""
    async with app.ctx.engine.begin() as conn:
        await conn.execute(
            answers.insert().values(
                platform="memory",
                workspace_id="w",
                drop_id=drop_id,
                user_id=user_id,
                question_id="x",
                option_index=0,
                correct=False,
                answered_at=app.ctx.clock.now(),
            )
        )
