"""The ``studybot`` command: run the bot, migrate the database, check question files."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from adapters.settings import DiscordSettings, SlackSettings
from bot.chat import Attachment, MemberRef
from bot.config import Settings

if TYPE_CHECKING:
    from bot.app import App


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    db = getattr(args, "db", None)
    if db:
        settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db}"})
    return settings


async def _run_console(settings: Settings, *, sim_clock: bool) -> int:
    from sqlalchemy.engine import make_url

    from adapters.console import ConsolePlatform, ConsoleSession
    from bot.app import build_app
    from bot.ports import ManualClock
    from bot.scheduler import ManualDriver

    stream = sys.stdin
    console = Console(highlight=False)
    database = make_url(settings.database_url).database
    files_dir = Path(database).parent / "files" if database else Path("data") / "files"
    platform = ConsolePlatform(console, files_dir=files_dir)
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0)) if sim_clock else None
    if sim_clock:  # one process in simulated time: nothing to keep in step with
        settings = settings.model_copy(update={"sync_seconds": 0})
    driver = ManualDriver(clock) if clock else None
    app = await build_app(settings=settings, platform=platform, clock=clock, driver=driver)
    try:
        await app.start()
        session = ConsoleSession(app, platform, stream, echo=not stream.isatty(), sim=driver)
        return await session.run()
    finally:
        await app.close()


def _need(extra: str, module: str) -> str | None:
    """A message when a platform's optional dependencies are not installed."""
    try:
        __import__(module)
    except ImportError:
        return (
            f"The {extra} adapter needs its extra: pip install -e '.[{extra}]' "
            f"(or pip install 'studybot[{extra}]')."
        )
    return None


async def _run_discord(settings: Settings) -> int:
    from adapters.discord import run
    from bot.app import build_app

    discord = DiscordSettings()
    await run(discord, lambda platform: build_app(settings=settings, platform=platform))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot; a store that cannot be written (read-only, full, missing) is one plain
    line naming the database and the fix, exit code 1."""
    from sqlalchemy.exc import OperationalError

    settings = _settings(args)
    try:
        return _run(args, settings)
    except (OSError, OperationalError) as exc:
        where = settings.database_url
        reason = getattr(exc, "orig", None) or exc
        print(
            f"studybot: cannot use the database {where} ({reason}). Check that its folder "
            "exists and is writable and the disk has space, or choose another with --db PATH "
            "or DATABASE_URL.",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    discord_token = bool(DiscordSettings().token.get_secret_value())
    slack_token = bool(SlackSettings().bot_token.get_secret_value())
    if args.console or not (discord_token or slack_token):
        return asyncio.run(_run_console(settings, sim_clock=args.sim_clock))
    if discord_token and slack_token:
        print(
            "Both DISCORD_TOKEN and SLACK_BOT_TOKEN are set; run one process per platform "
            "(unset one of them in each).",
            file=sys.stderr,
        )
        return 2
    missing = _need("discord", "discord") if discord_token else _need("slack", "slack_bolt")
    if missing:
        print(missing, file=sys.stderr)
        return 2
    if discord_token:
        try:
            return asyncio.run(_run_discord(settings))
        except KeyboardInterrupt:
            return 0
    try:
        return asyncio.run(_run_slack(settings))
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:  # a refused token, a missing secret: say what to fix
        print(f"studybot: {exc}", file=sys.stderr)
        return 2


async def _run_slack(settings: Settings) -> int:
    from adapters.slack import run
    from adapters.slack.platform import build_platform
    from bot.app import build_app

    slack = SlackSettings()
    app = await build_app(settings=settings, platform=build_platform(slack))
    try:
        await run(slack, app)
    finally:
        await app.close()
    return 0


def cmd_slack_manifest(args: argparse.Namespace) -> int:
    from adapters.slack.manifest import render

    print(render(socket_mode=args.request_url is None, request_url=args.request_url), end="")
    return 0


def cmd_discord_invite(args: argparse.Namespace) -> int:
    from adapters.discord import application_id, invite_url

    app_id = args.application_id
    if not app_id:
        token = DiscordSettings().token.get_secret_value()
        if not token:
            print(
                "Give --application-id (Discord Developer Portal → your application → "
                "General Information), or set DISCORD_TOKEN to look it up.",
                file=sys.stderr,
            )
            return 2
        app_id = asyncio.run(application_id(token))
    print(invite_url(app_id))
    return 0


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
    from questions.__main__ import main as validate

    return validate([str(p) for p in args.paths])


def _workspace(text: str) -> MemberRef:
    platform, sep, workspace_id = text.partition(":")
    if not sep or not platform or not workspace_id:
        raise SystemExit(
            f"--workspace {text!r}: expected PLATFORM:ID, e.g. console:console, slack:T0123, "
            "discord:81234"
        )
    return MemberRef(platform, workspace_id, "cli")


async def _with_app(settings: Settings, work: Callable[[App], Awaitable[int]]) -> int:
    from bot.app import build_app
    from bot.ports import MemoryPlatform

    app = await build_app(settings=settings, platform=MemoryPlatform())
    try:
        return await work(app)
    finally:
        await app.close()


def cmd_questions_stats(args: argparse.Namespace) -> int:
    from questions.loader import load_bank
    from questions.quality import stats

    report: dict[str, object] = stats(load_bank())
    if args.workspace:
        workspace = _workspace(args.workspace)

        async def work(app: App) -> int:
            entries = await app.item_analysis(workspace)
            report["workspace"] = {
                "workspace": args.workspace,
                "items": [
                    {
                        "id": e.question_id,
                        "drops": e.drops,
                        "answers": e.answers,
                        "share_correct": None
                        if e.share_correct is None
                        else round(e.share_correct, 3),
                        "picks": {str(k): v for k, v in sorted(e.picks.items())},
                        "thumbs_up": e.up,
                        "thumbs_down": e.down,
                        "flags": e.flags,
                    }
                    for e in entries
                ],
            }
            return 0

        asyncio.run(_with_app(_settings(args), work))
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    _print_stats(report)
    return 0


def _print_stats(report: Mapping[str, object]) -> None:
    print(f"items: {report['items']}")
    for key in ("by_kind", "by_difficulty"):
        counts = report[key]
        assert isinstance(counts, dict)
        print(f"{key.removeprefix('by_')}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"key positions (1-4): {report['key_positions']} (even: {report['key_positions_even']})")
    print("give-away cues (limits in brackets):")
    print(f"  key strictly the longest option: {report['key_longest_share']:.1%} (<= 15%)")
    print(f"  guessing the middle-length option: {report['middle_length_score']:.1%} (<= 30%)")
    print(
        f"  absolute words, wrong options vs keys: {report['absolute_word_ratio']:.2f}x (<= 1.5x)"
    )
    print(f"  keys stepping A→B→C→D: {report['key_cycle_share']:.1%} (<= 40%)")
    print(
        "  choice items with a distractor naming no misconception: "
        f"{report['choice_items_missing_misconceptions']} (0)"
    )
    topics = report["by_topic"]
    assert isinstance(topics, dict)
    print("topics:")
    for topic, counts in topics.items():
        detail = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "items" and v)
        print(f"  {topic:14} {counts['items']:4}  ({detail})")
    workspace = report.get("workspace")
    if isinstance(workspace, dict):
        print(f"\nitem analysis for {workspace['workspace']}:")
        for entry in workspace["items"]:
            share = entry["share_correct"]
            right = "-" if share is None else f"{share:.0%} right"
            flags = f"  ⚠ {'; '.join(entry['flags'])}" if entry["flags"] else ""
            print(
                f"  {entry['id']}: asked {entry['drops']}x, {entry['answers']} answers, {right}, "
                f"👍 {entry['thumbs_up']} 👎 {entry['thumbs_down']}{flags}"
            )


def cmd_questions_import(args: argparse.Namespace) -> int:
    from questions.loader import BankError

    workspace = _workspace(args.workspace)
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 1
    file = Attachment(path.name, path.read_bytes())

    async def work(app: App) -> int:
        try:
            result = await app.import_pack(workspace, file)
        except BankError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(f"nothing imported: {len(exc.problems)} problem(s)", file=sys.stderr)
            return 1
        print(
            f"imported {len(result.added)} new, updated {len(result.updated)} into {args.workspace}"
        )
        for warning in result.warnings:
            print(f"warning: {warning}")
        return 0

    return asyncio.run(_with_app(_settings(args), work))


def cmd_questions_export(args: argparse.Namespace) -> int:
    workspace = _workspace(args.workspace) if args.workspace else None

    async def work(app: App) -> int:
        text = await app.export_pack(workspace)
        if args.out:
            await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0

    return asyncio.run(_with_app(_settings(args), work))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="studybot", description="A study-group bot for ML interview preparation."
    )
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run the bot: Discord with DISCORD_TOKEN, Slack with SLACK_BOT_TOKEN, "
        "else the console on SQLite",
    )
    run.add_argument("--db", type=Path, help="SQLite file to use (default ./data/studybot.db)")
    run.add_argument("--console", action="store_true", help="use the console even with tokens")
    run.add_argument(
        "--sim-clock",
        action="store_true",
        help="console only: time stands still until you type `advance 2h`",
    )
    run.set_defaults(func=cmd_run)

    manifest = sub.add_parser(
        "slack-manifest", help="print the Slack app manifest (YAML) generated from the commands"
    )
    manifest.add_argument(
        "--request-url",
        help="HTTP mode: the public URL of /slack/events (default: Socket Mode, no URL needed)",
    )
    manifest.set_defaults(func=cmd_slack_manifest)

    invite = sub.add_parser("discord-invite", help="print the URL that adds the bot to a server")
    invite.add_argument("--application-id", help="the application's id (default: ask Discord)")
    invite.set_defaults(func=cmd_discord_invite)

    mig = sub.add_parser("migrate", help="apply database migrations (run also does this)")
    mig.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    mig.set_defaults(func=cmd_migrate)

    questions = sub.add_parser("questions", help="work with question files")
    qsub = questions.add_subparsers(dest="questions_command", required=True)
    validate = qsub.add_parser("validate", help="check files (default: the shipped bank)")
    validate.add_argument("paths", nargs="*", type=Path)
    validate.set_defaults(func=cmd_questions_validate)

    stats = qsub.add_parser("stats", help="counts per topic, kind and difficulty; key spread")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--workspace", help="also analyse items asked in PLATFORM:ID")
    stats.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    stats.set_defaults(func=cmd_questions_stats)

    imp = qsub.add_parser("import", help="import a pack (YAML or CSV) into a workspace")
    imp.add_argument("file", type=Path)
    imp.add_argument("--workspace", required=True, help="PLATFORM:ID, e.g. console:console")
    imp.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    imp.set_defaults(func=cmd_questions_import)

    exp = qsub.add_parser("export", help="a workspace's own questions (default: the bank) as YAML")
    exp.add_argument("--workspace", help="PLATFORM:ID; without it, the shipped bank")
    exp.add_argument("--out", type=Path, help="write to this file instead of standard output")
    exp.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    exp.set_defaults(func=cmd_questions_export)
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
