"""The console at a terminal: Tab completion from the command table, and a real `studybot run`
driven through a pseudo-terminal (history, completion, Ctrl-C, Ctrl-D)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pexpect

from adapters.console.complete import Hints, candidates
from bot.commands import commands

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "admin>"


def _complete(before: str, hints: Hints | None = None) -> list[str]:
    _current, found = candidates(commands(), before, hints or Hints())
    return [c.text for c in found]


def test_tab_completes_commands_and_subcommands_from_the_table() -> None:
    assert _complete("/sch") == ["/schedule "]
    assert _complete("/schedule ") == [
        f"{spec.name.split()[1]} " for spec in commands() if spec.name.startswith("schedule ")
    ]
    assert _complete("/schedule a") == ["add "]
    first = _complete("")
    assert {"as ", "press ", "react ", "advance ", "quit "} <= set(first)
    assert {f"/{spec.name.split()[0]} " for spec in commands()} <= set(first)


def test_tab_completes_option_names_and_choice_values() -> None:
    quiz = next(spec for spec in commands() if spec.name == "quiz")
    offered = _complete("/quiz ")
    for option in quiz.options:
        assert f"{option.name}:" in offered
    assert _complete("/quiz diff") == ["difficulty:"]
    assert _complete("/quiz difficulty:h") == ["difficulty:hard "]
    assert _complete("/quiz difficulty:") == [
        "difficulty:easy ",
        "difficulty:medium ",
        "difficulty:hard ",
    ]
    assert _complete("/quiz med") == ["medium "]  # a bare choice value, as the parser accepts
    given = _complete("/quiz difficulty:hard ")
    assert "difficulty:" not in given and "hard " not in given
    assert "medium " not in _complete("/quiz hard ")
    assert _complete("/leaderboard ")[:3] == ["week ", "month ", "all "]
    assert _complete("/nosuch ") == []


def test_tab_completes_the_console_verbs_from_the_screen() -> None:
    hints = Hints(
        names=("admin", "alice"),
        buttons=(("1", "A"), ("2", "B")),
        cards=(("m4", "Your question"), ("m1", "Question drop")),
        messages=(("m5", "@bob's answer"),),
    )
    assert _complete("pr") == ["press "]
    assert _complete("as al", hints) == ["alice "]
    assert _complete("press ", hints) == ["1 ", "2 "]
    assert _complete("press 1 m", hints) == ["m4 ", "m1 "]
    assert _complete("react ", hints) == ["👍 ", "👎 "]
    assert _complete("react 👍 ", hints) == ["m5 "]
    assert _complete("advance n") == ["next "]


def _spawn(tmp_path: Path, script: str) -> pexpect.spawn:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "SLACK_", "DATABASE_URL", "STUDYBOT_"))
    }
    env.update(
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",  # no cursor-position request: nothing here would answer it
        STUDYBOT_CONSOLE_HISTORY=str(tmp_path / "history"),
    )
    return pexpect.spawn(
        "/bin/sh",
        ["-c", script],
        env=env,
        cwd=str(ROOT),
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=20,
    )


def test_the_interactive_console_edits_completes_recalls_cancels_and_leaves(
    tmp_path: Path,
) -> None:
    """Through a pseudo-terminal: Tab completes a command and an option value, ↑ recalls the
    last line, Ctrl-C drops a typed line unrun (and cancels a form), Ctrl-D leaves with exit
    code 0 and no traceback, and the terminal's own settings are as they were."""
    run = shlex.join([sys.executable, "-m", "adapters.cli", "run", "--db", str(tmp_path / "t.db")])
    child = _spawn(tmp_path, f"{run}; echo exit=$?; stty -a")
    try:
        child.expect("Tab completes commands")
        child.expect(PROMPT)
        child.send("/pin\t\r")  # completes to /ping
        child.expect("Pong")
        child.expect(PROMPT)
        child.send("/quiz kind:choice diff\th\t\r")  # difficulty:hard
        child.expect(r"Your question · [^\r\n]*· hard")
        child.expect(PROMPT)
        child.send("\x1b[A\r")  # ↑: the same line again
        child.expect(r"Your question · [^\r\n]*· hard")
        child.expect(PROMPT)
        child.send("/drop now\x03")  # Ctrl-C: the line is dropped, not run
        child.expect(PROMPT)
        child.send("/ping\r")
        child.expect(PROMPT)
        child.send("press 1\r")  # the ping's form asks for minutes
        child.expect("how many minutes")
        child.send("\x03")  # Ctrl-C in a form cancels the form
        child.expect("Form cancelled.")
        child.expect(PROMPT)
        child.send("/next\r")
        child.expect("No drops are scheduled")
        child.expect(PROMPT)
        child.send("\x04")  # Ctrl-D on an empty line: leave
        child.expect("bye")
        child.expect("exit=0")
        child.expect(r"eof = \^D")
        child.expect(pexpect.EOF)
        seen = child.before
    finally:
        child.close(force=True)
    log = (tmp_path / "history").read_text(encoding="utf-8")
    assert "+/ping" in log and "+/quiz kind:choice difficulty:hard" in log
    assert "+/drop now" not in log
    assert "Traceback" not in seen


def test_ctrl_d_typed_while_the_console_starts_leaves_once_it_is_up(tmp_path: Path) -> None:
    """Ctrl-D typed while the console starts (it prepares the database and the bank first) is
    not lost: the console leaves as soon as it can read it."""
    run = shlex.join([sys.executable, "-m", "adapters.cli", "run", "--db", str(tmp_path / "t.db")])
    child = _spawn(tmp_path, f"{run}; echo exit=$?")
    try:
        child.expect("studybot is starting")
        child.send("\x04")
        child.expect("bye")
        child.expect("exit=0")
        child.expect(pexpect.EOF)
        assert "Traceback" not in child.before
    finally:
        child.close(force=True)
