"""`studybot` as an operator runs it: version, settings that are wrong, platform extras that
are missing, database URLs as hosting providers hand them out, and Ctrl-C (issue 15)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from adapters.cli import Refusal, database_url
from tests.conftest import PG_ADMIN_DSN, _pg_drop, pg_database_or_skip

SDKS = ("discord", "slack_bolt", "slack_sdk", "aiohttp")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "DATABASE_URL", "STUDYBOT_"))
    }
    return {**clean, **(extra or {})}


def _studybot(
    *args: str, env: dict[str, str] | None = None, script: str = "", missing: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`studybot ARGS` in a fresh process; ``missing`` modules cannot be imported there, as
    when their extra is not installed."""
    code = (
        "import sys\n"
        f"for name in {missing!r}:\n"
        "    sys.modules[name] = None  # importing it now raises ImportError\n"
        "from adapters.cli import main\n"
        f"raise SystemExit(main({list(args)!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        input=script,
        capture_output=True,
        text=True,
        env=_env(env),
        timeout=120,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


def test_version() -> None:
    result = _studybot("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"studybot {version('studybot')}"


def test_a_bad_log_level_is_one_clear_line() -> None:
    result = _studybot("migrate", env={"STUDYBOT_LOG_LEVEL": "loud"})
    assert result.returncode == 2
    assert _one_line(result) == (
        "studybot: STUDYBOT_LOG_LEVEL is 'loud'; use one of DEBUG, INFO, WARNING, ERROR or "
        "CRITICAL."
    )
    assert _studybot("--version", env={"STUDYBOT_LOG_LEVEL": "debug"}).returncode == 0


def test_a_setting_that_is_not_a_number_is_named(tmp_path: Path) -> None:
    result = _studybot("migrate", env={"STUDYBOT_GRACE_MINUTES": "soon"})
    assert result.returncode == 2
    assert _one_line(result) == (
        "studybot: STUDYBOT_GRACE_MINUTES is 'soon': expected a whole number."
    )
    env = {"DISCORD_TOKEN": "t0ken", "DISCORD_SHARD_COUNT": "two"}
    adapter = _studybot("run", "--db", str(tmp_path / "x.db"), env=env)
    assert adapter.returncode == 2
    assert _one_line(adapter) == "studybot: DISCORD_SHARD_COUNT is 'two': expected a whole number."


@pytest.mark.parametrize(
    ("args", "extra", "missing"),
    [
        (("slack-manifest",), "slack", ("slack_bolt",)),
        (("slack-manifest",), "slack", ("aiohttp",)),
        (("discord-invite", "--application-id", "1"), "discord", ("discord",)),
    ],
)
def test_platform_commands_without_their_extra_say_what_to_install(
    args: tuple[str, ...], extra: str, missing: tuple[str, ...]
) -> None:
    result = _studybot(*args, missing=missing)
    assert result.returncode == 2
    assert _one_line(result) == (
        f"studybot {args[0]} needs the {extra} extra: pip install -e '.[{extra}]' "
        f"(or pip install 'studybot[{extra}]')."
    )


@pytest.mark.parametrize(
    ("token", "extra", "missing"),
    [("DISCORD_TOKEN", "discord", "discord"), ("SLACK_BOT_TOKEN", "slack", "slack_bolt")],
)
def test_run_without_the_platforms_extra_says_the_same(
    tmp_path: Path, token: str, extra: str, missing: str
) -> None:
    result = _studybot("run", "--db", str(tmp_path / "x.db"), env={token: "x"}, missing=(missing,))
    assert result.returncode == 2
    assert _one_line(result) == (
        f"Running on {extra.capitalize()} needs the {extra} extra: pip install -e "
        f"'.[{extra}]' (or pip install 'studybot[{extra}]')."
    )


def test_slack_manifest_with_its_extra_prints_the_manifest() -> None:
    result = _studybot("slack-manifest")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("display_information:")


def _console_loads(
    db: Path, watched: tuple[str, ...], lines: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """A piped console session on ``db`` in its own process: the process, and which of the
    ``watched`` modules it had loaded when the session ended."""
    code = (
        "import json, sys\n"
        "from adapters.cli import main\n"
        f"code = main(['run', '--db', {str(db)!r}])\n"
        f"print('loaded:', json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))\n"
        "raise SystemExit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=lines,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.rsplit("loaded:", 1)[1])
    return result, loaded


def test_the_console_imports_no_platform_sdk(tmp_path: Path) -> None:
    """A console session (here piped) loads neither Discord's nor Slack's SDK, nor aiohttp."""
    result, loaded = _console_loads(tmp_path / "c.db", SDKS, "/ping\npress 1\n5\n/quiz\n")
    assert "Pong" in result.stdout
    assert loaded == []


def test_a_start_on_an_up_to_date_store_parses_no_question_file(tmp_path: Path) -> None:
    """The first start syncs the shipped bank (YAML read and validated); later starts on the
    same store find its digest unchanged and load neither YAML nor the loader: start-up."""
    watched = ("yaml", "questions.loader")
    first = _console_loads(tmp_path / "c.db", watched, "/quiz\n")[1]
    second = _console_loads(tmp_path / "c.db", watched, "/quiz\n")[1]
    assert (first, second) == (["questions.loader", "yaml"], [])


def _sigint_as_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_the_console_waits_for_piped_input_ends_it_at_once(tmp_path: Path) -> None:
    """SIGINT while the console waits on a pipe that stays open: one line, exit code 130, no
    traceback (the read used to hold the process until its input closed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "run", "--db", str(tmp_path / "c.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env({"PYTHONFAULTHANDLER": "1"}),
        # As a terminal would have it: a suite started in the background (`cmd &` in a
        # script) passes SIGINT on ignored, and then the console rightly ignores it.
        preexec_fn=_sigint_as_default,
    )
    assert process.stdin is not None and process.stdout is not None
    assert process.stderr is not None
    try:
        process.stdin.write("/ping\n")
        process.stdin.flush()
        for line in process.stdout:
            if "Pong" in line:
                break
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # say where it is stuck: every thread's stack
            process.send_signal(signal.SIGABRT)  # faulthandler prints them, then it ends
            process.wait(timeout=20)
            pytest.fail(f"still running 20 s after SIGINT:\n{process.stderr.read()}")
        assert code == 130
        assert process.stderr.read().strip() == "studybot: interrupted."
    finally:
        process.kill()
        process.wait(timeout=20)
        process.stdin.close()


def test_a_script_with_stray_bytes_is_read_not_a_crash(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "run", "--db", str(tmp_path / "c.db")],
        input=b"/ping \xff\xfe\n/ping\n",
        capture_output=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert result.stdout.count(b"Pong") >= 1


def test_questions_import_counts_its_problems_in_plain_words(tmp_path: Path) -> None:
    bad = Path(__file__).parent / "data" / "packs" / "bad.yaml"
    result = _studybot(
        "questions",
        "import",
        str(bad),
        "--workspace",
        "console:console",
        "--db",
        str(tmp_path / "q.db"),
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    count = int(last.removeprefix("nothing imported: ").split()[0])
    assert last == f"nothing imported: {count} problem{'' if count == 1 else 's'}"
    assert "(s)" not in result.stderr


# ---- DATABASE_URL -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgres://u:pw@db.example.com:5432/app",
            "postgresql+asyncpg://u:pw@db.example.com:5432/app",
        ),
        ("postgresql://u:pw@db.example.com/app", "postgresql+asyncpg://u:pw@db.example.com/app"),
        (
            "postgres://u:pw@db.example.com/app?sslmode=require",
            "postgresql+asyncpg://u:pw@db.example.com/app?ssl=require",
        ),
        ("postgresql+asyncpg://u@h/app", "postgresql+asyncpg://u@h/app"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite+aiosqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
    ],
)
def test_database_urls_as_hosting_providers_give_them_use_the_async_driver(
    given: str, used: str
) -> None:
    assert database_url(given) == used


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("postgresql+psycopg2://u:secret@h/app", "asks for the psycopg2 driver"),
        ("mysql://u:secret@h/app", "names mysql; studybot keeps its data in PostgreSQL or SQLite"),
        ("not a url secret", "DATABASE_URL is not a database URL; e.g. postgresql://"),
    ],
)
def test_a_database_url_studybot_cannot_use_is_refused_without_its_password(
    given: str, said: str
) -> None:
    with pytest.raises(Refusal) as refused:
        database_url(given)
    assert said in str(refused.value)
    assert "secret" not in str(refused.value)


def test_a_postgres_url_without_asyncpg_says_what_to_install() -> None:
    result = _studybot(
        "migrate", env={"DATABASE_URL": "postgres://u@localhost/app"}, missing=("asyncpg",)
    )
    assert result.returncode == 2
    assert _one_line(result) == (
        "studybot: A PostgreSQL DATABASE_URL needs the postgres extra: pip install -e "
        "'.[postgres]' (or pip install 'studybot[postgres]')."
    )


def test_a_database_that_cannot_be_reached_is_named_without_its_password() -> None:
    result = _studybot(
        "run", "--console", env={"DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/app"}
    )
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith("studybot: cannot use the database postgresql+asyncpg://u:***@")
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.postgres
def test_studybot_migrate_takes_a_postgres_url(tmp_path: Path) -> None:
    """`DATABASE_URL=postgres://…` (no driver named) migrates a real PostgreSQL database."""
    name = asyncio.run(pg_database_or_skip())
    try:
        url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgres://") + f"/{name}"
        result = _studybot("migrate", env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith(f"/{name} is up to date")
        assert "postgresql+asyncpg://" in result.stdout
    finally:
        asyncio.run(_pg_drop(name))
