"""The ``studybot`` command: run the bot, migrate the database, check question files.

Only the standard library is imported when this module loads, and Ctrl-C while it loads or at
any later moment of start-up ends the process with one line, never a traceback; each
platform's SDK is imported only when that platform runs.
"""

from __future__ import annotations

import signal
import sys

try:
    import argparse
    import asyncio
    import contextlib
    import gc
    import importlib
    import io
    import json
    import os
    from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
    from datetime import UTC, datetime
    from pathlib import Path
    from typing import TYPE_CHECKING
except KeyboardInterrupt:  # Ctrl-C while the command loads: the same one line as later
    print("studybot: interrupted.", file=sys.stderr)
    raise SystemExit(130) from None

if TYPE_CHECKING:
    from pydantic import ValidationError

    from adapters.console import ConsoleSession
    from bot.app import App
    from bot.chat import MemberRef
    from bot.config import Settings

# What each extra installs, as the modules its adapter imports (pyproject.toml's extras).
EXTRAS = {
    "discord": ("discord",),
    "slack": ("slack_bolt", "slack_sdk", "aiohttp"),
    "postgres": ("asyncpg",),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
URL_EXAMPLES = "e.g. postgresql://user:password@host:5432/studybot or sqlite:///data/studybot.db"


class Refusal(Exception):
    """A problem with how studybot was started; the message says what to change."""


def _need(extra: str, purpose: str) -> str | None:
    """A message when the optional dependencies ``purpose`` needs are not installed."""
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            return (
                f"{purpose} needs the {extra} extra: pip install -e '.[{extra}]' "
                f"(or pip install 'studybot[{extra}]')."
            )
    return None


def database_url(url: str) -> str:
    """``url`` with the async driver studybot uses, as hosting providers hand URLs out:
    ``postgres://`` and ``postgresql://`` go through asyncpg (whose ``ssl=`` takes the place
    of ``sslmode=``), ``sqlite://`` through aiosqlite. Refusal for anything else."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:  # its message holds the URL, password and all: say it our way
        raise Refusal(f"DATABASE_URL is not a database URL; {URL_EXAMPLES}.") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "asyncpg"):
        query = dict(parsed.query)
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(drivername="postgresql+asyncpg", query=query)
        if problem := _need("postgres", "A PostgreSQL DATABASE_URL"):
            raise Refusal(problem)
    elif backend == "sqlite" and driver in ("", "aiosqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgres", "postgresql", "sqlite"):
        raise Refusal(
            f"DATABASE_URL asks for the {driver} driver; studybot talks to {backend} through "
            f"its async driver: leave the driver out ({URL_EXAMPLES})."
        )
    else:
        raise Refusal(
            f"DATABASE_URL names {backend}; studybot keeps its data in PostgreSQL or SQLite "
            f"({URL_EXAMPLES})."
        )
    return parsed.render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """A database URL safe to print: the password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(DATABASE_URL)"


def _settings(args: argparse.Namespace) -> Settings:
    from bot.config import Settings

    settings = Settings()
    db = getattr(args, "db", None)
    url = f"sqlite+aiosqlite:///{db}" if db else database_url(settings.database_url)
    return settings.model_copy(update={"database_url": url})


async def settled(building: Awaitable[App]) -> App:
    """The app, once built, with everything allocated so far (modules, the bank, the command
    table, the store's engine: about 120,000 objects) moved out of the garbage collector's
    reach. They live as long as the process, yet each full collection walked them all, a
    27-33 ms pause of the event loop in the middle of members' presses; afterwards a full
    collection walks only what was made since."""
    app = await building
    gc.freeze()
    gc.enable()  # off while starting (see _main); on again for whatever the run allocates
    return app


async def _run_console(settings: Settings, *, sim_clock: bool) -> int:
    from rich.console import Console
    from sqlalchemy.engine import make_url

    from adapters.console import ConsolePlatform, ConsoleSession
    from adapters.reviewer import build_reviewer
    from bot.app import build_app
    from bot.ports import ManualClock
    from bot.scheduler import ManualDriver

    stream = sys.stdin
    interactive = stream.isatty() and sys.stdout.isatty()
    if not stream.isatty() and isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="replace")  # a script's stray bytes are not a crash
    console = Console(highlight=False)
    database = make_url(settings.database_url).database
    files_dir = Path(database).parent / "files" if database else Path("data") / "files"
    platform = ConsolePlatform(console, files_dir=files_dir)
    start = settings.sim_start or datetime.now(UTC)  # STUDYBOT_SIM_START: a rehearsal's date
    clock = ManualClock(start.replace(second=0, microsecond=0)) if sim_clock else None
    if sim_clock:  # one process in simulated time: nothing to keep in step with
        settings = settings.model_copy(update={"sync_seconds": 0})
    driver = ManualDriver(clock) if clock else None
    if interactive:  # preparing the database and the bank takes a moment
        console.print("[dim]studybot is starting… (Ctrl-C or Ctrl-D leaves)[/dim]")
    app = await settled(
        build_app(
            settings=settings,
            platform=platform,
            clock=clock,
            driver=driver,
            reviewer=build_reviewer(),
        )
    )
    try:
        await app.start()
        session = ConsoleSession(app, platform, stream, echo=not stream.isatty(), sim=driver)
        if not interactive:
            return await session.run()
        return await _interactive(session)
    finally:
        await app.close()


@contextlib.contextmanager
def _ctrl_d_kept(fd: int) -> Iterator[None]:
    """At a terminal, keep Ctrl-D as a key while the console is not reading (starting up, or
    running a command), so the next prompt sees it and leaves; the terminal's line
    discipline would otherwise swallow it as an end of file that nobody reads. The
    terminal's settings are put back on the way out."""
    try:
        import termios

        saved = termios.tcgetattr(fd)
        disabled = os.fpathconf(fd, "PC_VDISABLE")
    except (ImportError, OSError, ValueError):  # not a POSIX terminal: nothing to keep
        yield
        return
    changed = [*saved[:6], list(saved[6])]
    eof = saved[6][termios.VEOF]
    changed[6][termios.VEOF] = disabled if isinstance(eof, int) else bytes([disabled])
    try:
        termios.tcsetattr(fd, termios.TCSANOW, changed)
    except termios.error:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)  # TCSANOW: typed-ahead keys stay


async def _interactive(session: ConsoleSession) -> int:
    """The session at a terminal: line editing, history and completion; bot output printed
    while the prompt is up goes above it."""
    from prompt_toolkit.patch_stdout import patch_stdout

    from adapters.console.prompt import PromptLines, TableCompleter, open_history
    from adapters.settings import ConsoleSettings

    history, session.note = open_history(ConsoleSettings().history)
    completer = TableCompleter(session.app.ctx.commands, session.hints)
    session.lines = PromptLines(completer, history)
    with patch_stdout(raw=True):
        return await session.run()


async def _run_discord(settings: Settings) -> int:
    from adapters.discord import run
    from adapters.reviewer import build_reviewer
    from adapters.settings import DiscordSettings
    from bot.app import build_app

    _stop_on_sigterm()
    discord = DiscordSettings()
    reviewer = build_reviewer()
    await run(
        discord,
        lambda platform: settled(
            build_app(settings=settings, platform=platform, reviewer=reviewer)
        ),
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot; a store that cannot be written (read-only, full, missing) is one plain
    line naming the database and the fix, exit code 1."""
    from sqlalchemy.exc import OperationalError

    settings = _settings(args)
    try:
        return _run(args, settings)
    except (OSError, OperationalError) as exc:
        where = shown_url(settings.database_url)
        reason = getattr(exc, "orig", None) or exc
        print(
            f"studybot: cannot use the database {where} ({reason}). Check that its folder "
            "exists and is writable and the disk has space, or choose another with --db PATH "
            "or DATABASE_URL.",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.settings import DiscordSettings, SlackSettings

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
    platform = "discord" if discord_token else "slack"
    missing = _need(platform, f"Running on {platform.capitalize()}")
    if missing:
        print(missing, file=sys.stderr)
        return 2
    if discord_token:
        try:
            return asyncio.run(_run_discord(settings))
        except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM
            return 0
    try:
        return asyncio.run(_run_slack(settings))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except RuntimeError as exc:  # a refused token, a missing secret: say what to fix
        print(f"studybot: {exc}", file=sys.stderr)
        return 2


def _stop_on_sigterm() -> None:
    """`docker stop` and systemd send SIGTERM: stop as Ctrl-C does, so the clean-up runs
    (requests in flight finish, this instance's claims are handed over at once).

    The signal is handled on the event loop, which cancels the run. A Python handler that
    raised KeyboardInterrupt wherever the main thread happened to be could land inside an
    object's finalizer (a pool's, a transport's), where Python prints the exception and
    drops it: the process then ran on, and `docker stop` had to kill it. Before the loop
    runs (imports, settings) SIGTERM ends the process at once: nothing needs cleaning up."""
    task = asyncio.current_task()
    assert task is not None, "called from the run's own task"
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


async def _run_slack(settings: Settings) -> int:
    from adapters.reviewer import build_reviewer
    from adapters.settings import SlackSettings
    from adapters.slack import run
    from adapters.slack.platform import build_platform
    from bot.app import build_app

    _stop_on_sigterm()
    slack = SlackSettings()
    app = await settled(
        build_app(settings=settings, platform=build_platform(slack), reviewer=build_reviewer())
    )
    try:
        await run(slack, app)
    finally:
        await app.close()
    return 0


def cmd_slack_manifest(args: argparse.Namespace) -> int:
    if missing := _need("slack", "studybot slack-manifest"):
        print(missing, file=sys.stderr)
        return 2
    from adapters.slack.manifest import render

    print(render(socket_mode=args.request_url is None, request_url=args.request_url), end="")
    return 0


def cmd_discord_invite(args: argparse.Namespace) -> int:
    if missing := _need("discord", "studybot discord-invite"):
        print(missing, file=sys.stderr)
        return 2
    from adapters.discord import application_id, invite_url
    from adapters.settings import DiscordSettings

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
    print(f"database at {shown_url(settings.database_url)} is up to date")
    return 0


def cmd_questions_validate(args: argparse.Namespace) -> int:
    from questions.__main__ import main as validate

    return validate([str(p) for p in args.paths])


def _workspace(text: str) -> MemberRef:
    from bot.chat import MemberRef

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
    from bot.chat import Attachment
    from questions.files import BankError

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
            count = len(exc.problems)
            print(f"nothing imported: {count} problem{'' if count == 1 else 's'}", file=sys.stderr)
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


def cmd_health(args: argparse.Namespace) -> int:
    """Ask the running bot's /healthz (for Docker's HEALTHCHECK): 0 when healthy, else 1."""
    from adapters.service import ServiceSettings

    port = args.port or ServiceSettings().http_port
    if not port:
        print(
            "studybot health: STUDYBOT_HTTP_PORT is not set, so there is no health server to "
            "ask. Set it where the bot runs and here (the Docker image sets 8080), or give "
            "--port.",
            file=sys.stderr,
        )
        return 1
    import urllib.error
    import urllib.request

    url = f"http://{args.host}:{port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=args.timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        print(f"studybot health: nothing answers at {url} ({reason}).", file=sys.stderr)
        return 1
    print(_health_summary(status, body))
    return 0 if status == 200 else 1


def _health_summary(status: int, body: bytes) -> str:
    try:
        report = json.loads(body)
        parts = [
            f"{part}: " + ("ok" if report[part]["ok"] else report[part]["problem"])
            for part in ("store", "platform")
        ]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: not a studybot health report"
    return f"{'healthy' if status == 200 else 'unhealthy'} ({status}); " + "; ".join(parts)


def cmd_backup(args: argparse.Namespace) -> int:
    from adapters.backup import BackupError, backup

    settings = _settings(args)
    try:
        print(backup(settings.database_url, args.path))
    except BackupError as exc:
        print(f"studybot backup: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from adapters.restore import RestoreError, restore

    settings = _settings(args)
    try:
        print(restore(settings.database_url, args.path))
    except RestoreError as exc:
        print(f"studybot restore: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_export_workspace(args: argparse.Namespace) -> int:
    from bot.store.transfer import TransferError, describe, export_workspace, parse_workspace

    settings = _settings(args)
    try:
        platform, workspace_id = parse_workspace(args.workspace)
        done = asyncio.run(
            export_workspace(
                settings.database_url, platform, workspace_id, args.file, now=datetime.now(UTC)
            )
        )
    except TransferError as exc:
        print(f"studybot export-workspace: {exc}", file=sys.stderr)
        return 1
    print(
        f"exported {args.workspace} from {shown_url(settings.database_url)} to {args.file} "
        f"(schema revision {done.revision}): {', '.join(describe(done.rows))}"
    )
    return 0


def cmd_import_workspace(args: argparse.Namespace) -> int:
    from bot.store.transfer import TransferError, import_workspace

    settings = _settings(args)
    try:
        done = asyncio.run(import_workspace(settings.database_url, args.file, replace=args.replace))
    except TransferError as exc:
        print(f"studybot import-workspace: {exc}", file=sys.stderr)
        return 1
    where = shown_url(settings.database_url)
    replaced = f", in place of the {done.replaced} rows it held" if done.replaced else ""
    print(f"imported {done.platform}:{done.workspace_id} into {where}{replaced}:")
    for table, count in done.rows.items():
        if count:
            moved = " (new ids)" if table in done.renumbered else ""
            print(f"  {table:16} {count:7}{moved}")
    if schedules := done.renumbered.get("schedules"):
        pairs = ", ".join(f"#{old} is now #{new}" for old, new in sorted(schedules.items()))
        print(f"Schedule numbers changed: {pairs}. /schedule commands take the new ones.")
    if {"drops", "mock_groups"} & done.renumbered.keys():
        print(
            "Buttons on messages posted before the move (questions still open, mock interview "
            "check-ins) no longer work, as their ids changed; reveals and the check-ins to "
            "come are sent as usual."
        )
    return 0


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("studybot")
    except PackageNotFoundError:
        return "unknown (not installed as a package: pip install -e .)"


class _Version(argparse.Action):
    """``--version``, looked up only when asked: importlib.metadata and the search of the
    installed packages took about 20 ms of every start."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"studybot {version()}")
        parser.exit()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="studybot", description="A study-group bot for ML interview preparation."
    )
    top.add_argument("--version", action=_Version)
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

    health = sub.add_parser(
        "health", help="ask the running bot's /healthz: exit 0 when healthy (Docker HEALTHCHECK)"
    )
    health.add_argument("--host", default="127.0.0.1", help="where the bot runs (default here)")
    health.add_argument("--port", type=int, help="its health port (default STUDYBOT_HTTP_PORT)")
    health.add_argument("--timeout", type=float, default=5.0, help="seconds to wait (default 5)")
    health.set_defaults(func=cmd_health)

    back = sub.add_parser(
        "backup", help="copy the database to a new file while the bot runs (SQLite; pg_dump)"
    )
    back.add_argument("path", type=Path, help="the backup file to create (never overwritten)")
    back.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    back.set_defaults(func=cmd_backup)

    rest = sub.add_parser(
        "restore", help="put a SQLite backup in place of the database (the bot stopped)"
    )
    rest.add_argument("path", type=Path, help="the backup file (made by studybot backup)")
    rest.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    rest.set_defaults(func=cmd_restore)

    wexp = sub.add_parser(
        "export-workspace", help="write one community's rows to a file (to move it elsewhere)"
    )
    wexp.add_argument("workspace", help="PLATFORM:ID, e.g. slack:T0123ABCD")
    wexp.add_argument("file", type=Path, help="the file to create (JSON lines; never overwritten)")
    wexp.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    wexp.set_defaults(func=cmd_export_workspace)

    wimp = sub.add_parser(
        "import-workspace", help="load a file from export-workspace into this database"
    )
    wimp.add_argument("file", type=Path, help="the file export-workspace wrote")
    wimp.add_argument(
        "--replace", action="store_true", help="delete what the database holds for it first"
    )
    wimp.add_argument("--db", type=Path, help="SQLite file to use instead of DATABASE_URL")
    wimp.set_defaults(func=cmd_import_workspace)

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


def _settings_problem(exc: ValidationError) -> str:
    """Why a settings class would not load: each variable named, in plain words, and its
    value unless it is a token or secret."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "a setting"
        wanted = {
            "int_parsing": "expected a whole number",
            "bool_parsing": "expected true or false",
            "greater_than_equal": f"expected at least {error.get('ctx', {}).get('ge')}",
            "less_than_equal": f"expected at most {error.get('ctx', {}).get('le')}",
        }.get(error["type"], error["msg"])
        secret = any(word in name for word in ("TOKEN", "SECRET", "PASSWORD"))
        value = "not valid" if secret else f"{error.get('input')!r}"
        lines.append(f"{name} is {value}: {wanted}.")
    return " ".join(lines)


def _log_level(settings: Settings, *, platform: bool = False) -> str:
    """STUDYBOT_LOG_LEVEL; unset: INFO on a platform, WARNING in the console (whose screen
    log lines would clutter) and for the other commands."""
    if "log_level" not in settings.model_fields_set:
        return "INFO" if platform else "WARNING"
    level = settings.log_level.strip().upper()
    if level not in LOG_LEVELS:
        raise Refusal(
            f"STUDYBOT_LOG_LEVEL is {settings.log_level!r}; use one of "
            f"{', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}."
        )
    return level


def _logging(args: argparse.Namespace, settings: Settings) -> None:
    """Log lines on standard error, in STUDYBOT_LOG_FORMAT, with every secret hidden."""
    from pydantic import ValidationError

    from adapters.service import LOG_FORMATS, ServiceSettings, configure_logging
    from adapters.settings import DiscordSettings, SlackSettings

    try:
        discord, slack = DiscordSettings(), SlackSettings()
    except ValidationError:  # reported by the command that reads them (run), not here
        discord, slack = DiscordSettings.model_construct(), SlackSettings.model_construct()
    secrets = [discord.token, slack.bot_token, slack.app_token, slack.signing_secret]
    on_platform = (
        args.func is cmd_run and not args.console and any(s.get_secret_value() for s in secrets[:2])
    )
    log_format = ServiceSettings().log_format.strip().lower()
    if log_format not in LOG_FORMATS:
        raise Refusal(
            f"STUDYBOT_LOG_FORMAT is {ServiceSettings().log_format!r}; use text (plain lines, "
            "the default) or json (one JSON object a line, for log shippers)."
        )
    hidden = [s.get_secret_value() for s in secrets] + [_db_password(settings.database_url)]
    hidden.append(_llm_key())
    configure_logging(_log_level(settings, platform=on_platform), log_format, secrets=hidden)


def _llm_key() -> str:
    """The AI reviewer's API key, hidden from the logs like the platform tokens."""
    from pydantic import ValidationError

    from adapters.reviewer import ReviewerSettings

    try:
        return ReviewerSettings().api_key.get_secret_value()
    except ValidationError:
        return ""


def _db_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password or ""
    except ArgumentError:
        return ""


def _main(argv: Sequence[str] | None) -> int:
    args = parser().parse_args(argv)
    if args.func is not cmd_run:
        return _command(args)
    # No garbage collection while starting: nearly everything start-up allocates (modules,
    # settings, the store, the command table) lives as long as the process, yet each
    # collection triggered by that growth walked it all again, 60 ms of a 0.5 s start.
    # `settled` freezes the start-up heap and turns collection back on once the app is built.
    gc.disable()
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():
            with _ctrl_d_kept(sys.stdin.fileno()):
                return _command(args)
        return _command(args)
    finally:
        gc.enable()  # a run that ended before its app was built


def _command(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.config import Settings

    try:
        _logging(args, Settings())
        result: int = args.func(args)
    except ValidationError as exc:
        if exc.title not in (
            "Settings",
            "DiscordSettings",
            "SlackSettings",
            "ConsoleSettings",
            "ServiceSettings",
            "ReviewerSettings",
        ):
            raise
        raise Refusal(_settings_problem(exc)) from None
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``studybot``: a problem with the settings is one line and exit code 2; Ctrl-C at any
    moment (start-up included) is one line and exit code 130."""
    try:
        return _main(argv)
    except Refusal as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("studybot: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
