"""The ``studybot`` command: run the bot, migrate the database, check question files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bot.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    db = getattr(args, "db", None)
    if db:
        settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db}"})
    return settings


async def _run_console(settings: Settings, *, sim_clock: bool) -> int:
    from adapters.console import ConsolePlatform, ConsoleSession
    from bot.app import build_app
    from bot.ports import ManualClock
    from bot.scheduler import ManualDriver

    stream = sys.stdin
    console = Console(highlight=False)
    platform = ConsolePlatform(console)
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0)) if sim_clock else None
    driver = ManualDriver(clock) if clock else None
    app = await build_app(settings=settings, platform=platform, clock=clock, driver=driver)
    try:
        await app.start()
        session = ConsoleSession(app, platform, stream, echo=not stream.isatty(), sim=driver)
        return await session.run()
    finally:
        await app.close()


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    for token, name in (
        (settings.discord_token, "DISCORD_TOKEN (the Discord adapter)"),
        (settings.slack_bot_token, "SLACK_BOT_TOKEN (the Slack adapter)"),
    ):
        if token and not args.console:
            print(
                f"{name} is set, but this build has only the console adapter. "
                "Unset it, or pass --console to use the console.",
                file=sys.stderr,
            )
            return 2
    return asyncio.run(_run_console(settings, sim_clock=args.sim_clock))


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.store.db import create_engine, migrate

    settings = _settings(args)

    async def go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())
    print(f"database at {settings.database_url} is up to date")
    return 0


def cmd_questions_validate(args: argparse.Namespace) -> int:
    from questions.loader import main as validate

    return validate([str(p) for p in args.paths])


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="studybot", description="A study-group bot for ML interview preparation."
    )
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (the console when no platform token is set)")
    run.add_argument("--db", type=Path, help="SQLite file to use (default ./data/studybot.db)")
    run.add_argument("--console", action="store_true", help="use the console even with tokens")
    run.add_argument(
        "--sim-clock",
        action="store_true",
        help="console only: time stands still until you type `advance 2h`",
    )
    run.set_defaults(func=cmd_run)

    mig = sub.add_parser("migrate", help="apply database migrations (run also does this)")
    mig.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    mig.set_defaults(func=cmd_migrate)

    questions = sub.add_parser("questions", help="work with question files")
    qsub = questions.add_subparsers(dest="questions_command", required=True)
    validate = qsub.add_parser("validate", help="check files (default: the shipped bank)")
    validate.add_argument("paths", nargs="*", type=Path)
    validate.set_defaults(func=cmd_questions_validate)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=Settings().log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
