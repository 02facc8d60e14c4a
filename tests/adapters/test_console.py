"""The console adapter, driven through its input stream, and `studybot run` as a process."""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from adapters.console import ConsolePlatform, ConsoleSession
from bot.app import build_app
from bot.config import Settings
from tests.conftest import mini_bank
from tests.fakes.llm import FakeModel

ACCEPTANCE = """\
/drop now kind:choice topic:evaluation
as alice
press 3
as bob
press 1
as admin
/reveal
/leaderboard
"""


# A fixed start for simulated time: what `advance next` reaches first must not depend on the
# day and hour the suite runs (on a Sunday the week's digest comes before Monday's drop).
TUESDAY = {"STUDYBOT_SIM_START": "2026-01-06T06:00:00+00:00"}


def _studybot(
    *args: str, script: str = "", columns: int = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`studybot ARGS` as a process, with no platform tokens unless ``env`` sets them."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        input=script,
        capture_output=True,
        text=True,
        env={**clean, "COLUMNS": str(columns), **(env or {})},
        timeout=120,
        check=False,
    )


async def _session(script: str, tmp_path: Path) -> str:
    out = io.StringIO()
    platform = ConsolePlatform(Console(file=out, width=110, highlight=False, color_system=None))
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/console.db"),
        platform=platform,
        items=mini_bank(),
        rng=random.Random(1),
    )
    try:
        code = await ConsoleSession(app, platform, io.StringIO(script), echo=True).run()
    finally:
        await app.close()
    assert code == 0
    return out.getvalue()


def _shown(out: str, option: str) -> str:
    """The letter the console showed ``option`` under (options are shuffled when posted)."""
    found = re.search(rf"\b([A-D])\. {re.escape(option)}", out)
    assert found is not None, f"{option!r} not shown"
    return found.group(1)


async def test_drop_answer_reveal_leaderboard(tmp_path: Path) -> None:
    """The acceptance path: drop, one right and one wrong answer, reveal, board."""
    # The same seed shows the same order: look first, then answer by what is on screen.
    (tmp_path / "probe").mkdir()
    probe = await _session(ACCEPTANCE.splitlines()[0] + "\n", tmp_path / "probe")
    key, wrong = _shown(probe, "Recall on the fraud class"), _shown(probe, "Log-loss on the")
    script = ACCEPTANCE.replace("press 3", f"press {'ABCD'.index(key) + 1}")
    script = script.replace("press 1", f"press {'ABCD'.index(wrong) + 1}")
    out = await _session(script, tmp_path)
    assert f"Locked in: {key}" in out and f"Locked in: {wrong}" in out
    assert f"Answer to drop #1: {key}. Recall on the fraud class" in out
    assert f"❌ {wrong}. Log-loss on the training set · 50% (1)" in out
    assert f"✅ {key}. Recall on the fraud class · 50% (1)" in out
    assert "recall on the positive class is zero" in out  # the key's reason
    assert "flatters the useless model" in out  # a distractor's reason
    assert "Right (1/2): @alice" in out
    assert "🥇 alice: 18 pts" in out and "🥈 bob: 2 pts" in out


async def test_forms_ask_each_field_and_reactions_vote(tmp_path: Path) -> None:
    """An open drop: the form reads the next line; `react` on an answer is a vote."""
    script = """\
/drop now kind:open
as alice
press 1
Overfitting is fitting noise: the validation gap grows.
as admin
/reveal
as bob
react 👍 m7
/leaderboard
"""
    out = await _session(script, tmp_path)
    assert "Saved your answer (8 words)" in out
    assert "@alice's answer" in out and "Model answer" in out
    assert "bob reacted 👍 to m7" in out
    assert "🥇 alice: 7 pts" in out


async def test_bad_input_is_explained_and_the_session_goes_on(tmp_path: Path) -> None:
    """Typos, stray words and impossible presses get help, not a crash."""
    script = "/quizz\nhello\npress 1\nas alice\n/drop now\n/quiz difficulty:hardd\n/quiz\npress 9\n"
    out = await _session(script, tmp_path)
    assert "Unknown command /quizz. Did you mean /quiz?" in out
    assert "Console: as NAME switches member" in out
    assert "No card with buttons yet" in out
    assert "/drop now is for admins" in out
    assert "difficulty got hardd, expected one of: easy, medium, hard. Did you mean hard?" in out
    assert "Press a button by number, 1 to" in out
    assert out.rstrip().endswith("bye")


def test_studybot_run_reads_a_piped_script(tmp_path: Path) -> None:
    """`studybot run --db FILE` with piped input runs the session and exits cleanly."""
    db = tmp_path / "data" / "bot.db"
    script = "/drop now kind:choice\nas alice\npress 1\nas bob\npress 2\nas admin\n/reveal\n"
    result = _studybot("run", "--db", str(db), script=script + "/leaderboard\n")
    assert result.returncode == 0, result.stderr
    # A long option may wrap inside the panel, between "50%" and "(1)".
    assert len(re.findall(r"50%[\s│]*\(1\)", result.stdout)) == 2, result.stdout
    assert "Leaderboard · this week" in result.stdout
    assert db.exists()


def test_studybot_refuses_two_platforms_at_once(tmp_path: Path) -> None:
    """Tokens for two platforms in one process is a clear error, not a guess."""
    env = {"DISCORD_TOKEN": "x", "SLACK_BOT_TOKEN": "y"}
    result = _studybot("run", "--db", str(tmp_path / "b.db"), env=env)
    assert result.returncode == 2
    assert "Both DISCORD_TOKEN and SLACK_BOT_TOKEN are set" in result.stderr


def test_discord_invite_prints_the_oauth_url() -> None:
    """`studybot discord-invite --application-id ID` prints the bot's OAuth2 URL."""
    result = _studybot("discord-invite", "--application-id", "1234")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("https://discord.com/oauth2/authorize?client_id=1234")
    assert "scope=bot+applications.commands" in result.stdout


def test_sim_clock_watches_a_drop_post_and_reveal(tmp_path: Path) -> None:
    """`--sim-clock` with `advance`: a scheduled drop posts once, is answered, reveals once."""
    script = (
        "/schedule add daily 09:00 tz:Europe/Berlin topic:evaluation kind:choice reveal:2h\n"
        "/schedule preview\n"
        "advance next\nas alice\npress 1\nas admin\nadvance next\nadvance 2d\n/schedule list\n"
    )
    result = _studybot(
        "run", "--sim-clock", "--db", str(tmp_path / "sim.db"), script=script, env=TUESDAY
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.count("09:00 CET") >= 5  # the preview, in Berlin time
    assert "⏩ 1 timed job ran" in out
    assert "Locked in: A" in out
    assert out.count("Answer to drop #1") == 1
    # Two more days: two more drops, each revealed once.
    assert out.count("Answer to drop #") == 3
    assert "next: " in out


async def test_questions_import_takes_a_path(tmp_path: Path) -> None:
    """In the console, `/questions import PATH` uploads the named file."""
    pack = Path(__file__).parent.parent / "data" / "packs" / "good.csv"
    out = await _session(f"/questions import {pack}\n/questions list statistics\n", tmp_path)
    assert "Imported 2 new and updated 0 questions from good.csv" in out
    assert "acme-csv-median" in out


def test_progress_after_a_few_simulated_days(tmp_path: Path) -> None:
    """Issue 7's acceptance: days of answers, then board, rank, stats with PNG, practice,
    export and forget, all from the console."""
    day = "as alice\n/practice\npress 1\nas bob\n/practice\npress 2\nadvance 1d\n"
    script = (
        day * 3
        + "as alice\n/leaderboard week\n/rank\n/stats\n/review\n/me export\n/me forget\npress 1\n"
        + "/leaderboard all\n"
    )
    result = _studybot(
        "run", "--sim-clock", "--db", str(tmp_path / "p.db"), script=script, columns=140
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Leaderboard · this week" in out
    assert "Your rank this week: #" in out
    assert "Stats · alice" in out
    png = tmp_path / "files" / "mastery.png"
    assert png.exists() and png.read_bytes().startswith(b"\x89PNG")
    assert f"mastery.png saved to {png}" in out.replace("\n", "")
    assert (tmp_path / "files" / "studybot-my-data.json").exists()
    assert "about you deleted" in out


def test_mock_round_check_in_and_feedback_in_the_console(tmp_path: Path) -> None:
    """Issue 8's acceptance: five opt in; a round makes a pair and a trio with private spaces
    and packets; after `advance`, the check-in and feedback complete; the report counts it."""
    join = "as {name}\n/mock join\nmid\ntechnical\nEurope/Berlin\nweekday evenings\nweekly\n"
    script = "".join(join.format(name=n) for n in ("ann", "ben", "cat", "dan", "eve"))
    script += (
        "as admin\n/mock round now\nadvance 7d1m\n"
        "as ann\npress 1\npress 1\n3 3 4 2 3\nExplains trade-offs clearly.\n"
        "Ask clarifying questions first.\n"
        "as admin\n/mock report\n"
    )
    result = _studybot(
        "run", "--sim-clock", "--db", str(tmp_path / "m.db"), script=script, columns=140
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.count("You're in: mid, technical, weekly") == 5
    assert "Round 1: 1 pair, 1 trio, 0 waiting" in out
    assert out.count("private group for") == 2
    assert out.count("Your interviewer packet for") == 5
    assert "Did your mock interview happen?" in out
    assert "Sent privately to your partner" in out
    assert "Feedback from ann" in out
    assert "Completion" in out and "20% (1 of 5 confirmed)" in out


def test_ping_button_form_and_timer_in_the_console(tmp_path: Path) -> None:
    """`/ping`, its button, its form and its timer, as a newcomer would try them."""
    script = "as alice\n/ping\npress 1\n5\nadvance 6m\n"
    result = _studybot("run", "--sim-clock", "--db", str(tmp_path / "ping.db"), script=script)
    assert result.returncode == 0, result.stderr
    assert "Pong" in result.stdout
    assert "direct message in 5 minutes" in result.stdout
    assert "Pong, later" in result.stdout


async def test_the_same_question_twice_shows_two_orders_each_revealed_right(
    tmp_path: Path,
) -> None:
    """Two drops of one question in the console: two option orders, and each reveal's key
    letter is the one that drop showed it under."""
    drop = "/drop now kind:choice topic:evaluation\n"
    out = await _session(f"{drop}/reveal\n{drop}/reveal\n", tmp_path)
    cards = re.split(r"Question drop #\d+ · evaluation", out)[1:]
    assert len(cards) >= 2
    orders = [re.findall(r"\b[A-D]\. ([A-Z][^│\n]*?)\s*│", card)[:4] for card in cards[:2]]
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])
    titles = re.findall(r"Answer to drop #(\d)\s*: ([A-D])\. Recall on the fraud class", out)
    for (number, shown), order in zip(titles, orders, strict=True):
        assert order["ABCD".index(shown)].startswith("Recall on the fraud class"), number


def test_a_database_that_cannot_be_written_is_one_plain_line(tmp_path: Path) -> None:
    """A store in a place that cannot hold it: one line naming it and the fix, exit 1."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _studybot("run", "--db", str(blocker / "studybot.db"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("studybot: cannot use the database ") and "--db PATH" in line


async def test_a_field_with_a_draft_keeps_it_on_an_empty_line() -> None:
    """Piped input cannot edit a draft in place: an empty line keeps it, and the console
    shows the draft first so the member knows what they keep."""
    from adapters.console.lines import PipedLines

    out = io.StringIO()
    reader = PipedLines(io.StringIO("\nmine\n"), Console(file=out, width=100), echo=True)
    kept = await reader.read("To improve: ", field=True, default="Ask about data size.")
    typed = await reader.read("To improve: ", field=True, default="Ask about data size.")
    assert (kept, typed) == ("Ask about data size.", "mine")
    assert "an empty line keeps: Ask about data size." in out.getvalue()


async def test_hint_pre_ticked_self_rating_and_plan_in_the_console(tmp_path: Path) -> None:
    """Issues 18 and 19 in the console: the Hint button, the self-rating message with the
    word check's ticks after an open reveal, and /plan."""
    from tests.features.test_hints import OPEN_HINT, _hinted

    interview = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    out = io.StringIO()
    platform = ConsolePlatform(Console(file=out, width=110, highlight=False, color_system=None))
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/console.db"),
        platform=platform,
        items=tuple(_hinted(i) for i in mini_bank()),
        rng=random.Random(1),
    )
    script = (
        "/drop now kind:open\nas alice\npress 2\npress 1\n"
        "It memorises noise, and the validation loss gap grows.\n"
        f"as admin\n/reveal\nas alice\n/plan {interview} topics:statistics\n"
    )
    try:
        code = await ConsoleSession(app, platform, io.StringIO(script), echo=True).run()
    finally:
        await app.close()
    shown = out.getvalue()
    assert code == 0
    assert OPEN_HINT in shown and "The reveal counts who used the hint." in shown
    assert "1 used the hint" in shown
    assert "You covered 2 of 3: ✓ 1 ✓ 2 ✗ 3" in shown
    assert "Interview plan set" in shown


async def test_reveal_check_and_ai_review_in_the_console(tmp_path: Path, model: FakeModel) -> None:
    """Issue 19 end to end in the console (`studybot run --sim-clock`, the shipped bank): an
    open answer, the reveal, the self-rating message with the word check's line, then the
    queued AI review from a local OpenAI-compatible fake."""
    import asyncio

    from tests.features.test_reviewer import ADVICE, _reply

    model.replies.append(_reply([]))
    script = (
        "/settings reviewer on\n/drop now kind:open\nas alice\npress 1\n"
        "I would compare against a simple baseline and look at the validation curves first.\n"
        "as admin\n/reveal\nadvance 1m\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    env = {
        **clean,
        "COLUMNS": "120",
        "STUDYBOT_LLM_URL": f"http://127.0.0.1:{model.port}/v1/",
        "STUDYBOT_LLM_MODEL": "tiny",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        "run",
        "--sim-clock",
        "--db",
        str(tmp_path / "r.db"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(script.encode()), 120)
    shown = out.decode()
    assert proc.returncode == 0, shown[-2000:]
    assert "which key points did your answer make?" in shown and "You covered " in shown
    assert "An AI reviewer's advice" in shown and ADVICE["strength"][:30] in shown
    assert len(model.requests) == 1
