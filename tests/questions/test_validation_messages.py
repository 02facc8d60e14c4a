"""Pack validation: the CLI and /questions import run the same checks, report every problem
at once as file:line: field: message, and word each one plainly."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest
from rich.console import Console

import questions.__main__ as cli
from adapters.console import ConsolePlatform, ConsoleSession
from bot.app import build_app
from bot.chat import Attachment, Command
from bot.config import Settings
from questions.files import BankError
from questions.loader import parse_text
from questions.schema import TOPICS
from tests.conftest import Chat, mini_bank

SHIPPED = "statistics-quadruple-sample"  # an id of the bank the tests ship (tests/data/mini.yaml)

CHOICE = """\
  - id: {id}
    kind: choice
    topic: statistics
    difficulty: {difficulty}
    tags: [spread]
    prompt: Which of these summaries measures how spread out a sample is?
    options:
      - text: The variance
        correct: true
        reason: It averages squared distances from the mean.
      - text: {distractor}
        reason: It locates the centre of the data, not its spread.
      - text: The mode
        reason: It is the most common value, a location.
"""

CSV_HEADER = "id,topic,difficulty,tags,prompt,a,reason_a,b,reason_b,c,reason_c,d,reason_d,answer\n"
CSV_ROW = (
    "{id},{topic},easy,spread,{prompt},"
    "The variance,{reason},The median,Centre.,The mode,Most common.,,,A\n"
)
PROMPT = "Which of these summaries measures spread?"

LIBRARY_WORDING = (
    "Input should",
    "String should",
    "Field required",
    "Value error",
    "Extra inputs",
    "after validation",
    "Unable to extract",
    "Input tag",
    "valid dictionary",
)
LINE = re.compile(r"^[\w.-]+:\d+: (?:[\w.\[\]]+: )?\S.*$")


def _yaml_pack() -> str:
    return "items:\n" + "".join(
        [
            CHOICE.format(id=SHIPPED, difficulty="easy", distractor="The median"),
            CHOICE.format(id="acme-two", difficulty="trivial", distractor="Both A and C"),
            CHOICE.format(id="acme-three", difficulty="easy", distractor="The median"),
            CHOICE.format(id="acme-three", difficulty="hard", distractor="The median"),
            CHOICE.format(id="acme-five", difficulty="easy", distractor="Both mean and mode fall"),
        ]
    ).replace("        reason: It is the most common value, a location.\n", "", 1)


def _csv_pack() -> str:
    rows = [
        CSV_ROW.format(id=SHIPPED, topic="statistics", prompt=PROMPT, reason="Spread."),
        CSV_ROW.format(id="acme-b", topic="astrology", prompt="Spread?", reason=""),
        CSV_ROW.format(id="acme-c", topic="statistics", prompt=PROMPT, reason="Spread."),
        CSV_ROW.format(id="acme-c", topic="statistics", prompt=PROMPT, reason="Spread."),
    ]
    return CSV_HEADER + "".join(rows)


def _cli(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """`studybot questions validate NAME`, with the tests' shipped bank (as the app has)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "load_bank", mini_bank)
    assert cli.main([name]) == 1
    return capsys.readouterr().out.splitlines()


async def _import(chat: Chat, name: str, data: bytes) -> list[str]:
    command = Command(
        chat.admin, chat.place, text=f"/questions import {name}", files=(Attachment(name, data),)
    )
    reply = await chat.app.handle(command)
    assert reply is not None and reply.card is not None
    assert reply.card.title.startswith("Nothing imported")
    return [line.removeprefix("• ") for line in reply.card.body.splitlines()]


@pytest.mark.parametrize(("name", "pack"), [("pack.yaml", _yaml_pack()), ("pack.csv", _csv_pack())])
async def test_validate_and_import_report_the_same_problems_all_at_once(
    chat: Chat,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    pack: str,
) -> None:
    """Schema errors, a duplicate id and a shipped id come in one report, in line order, the
    same from the command line as from the chat command."""
    (tmp_path / name).write_text(pack)
    from_cli = _cli(name, tmp_path, monkeypatch, capsys)
    from_chat = await _import(chat, name, pack.encode())
    assert from_cli == from_chat
    lines = [int(line.split(":")[1]) for line in from_cli]
    assert lines == sorted(lines)
    text = "\n".join(from_cli)
    assert ": this id belongs to a shipped question" in text
    assert "duplicate id 'acme-" in text
    assert all(LINE.match(line) for line in from_cli), from_cli
    assert not [w for w in LIBRARY_WORDING if w in text], text


async def test_the_yaml_report_in_full(
    chat: Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each problem of the YAML pack, located and worded as a person would fix it."""
    (tmp_path / "pack.yaml").write_text(_yaml_pack())
    assert _cli("pack.yaml", tmp_path, monkeypatch, capsys) == [
        "pack.yaml:2: items[0].id: this id belongs to a shipped question; choose another id",
        "pack.yaml:14: items[0].options[2].reason: missing; add this field",
        "pack.yaml:18: items[1].difficulty: 'trivial' is not allowed here; expected one of: "
        "easy, medium, hard",
        "pack.yaml:25: items[1].options[1].text: this option points at other options (like "
        "'all of the above' or 'both A and C'), which shuffling breaks and guessing wins; "
        "write a distractor that tests a real misconception",
        "pack.yaml:43: items[3].id: duplicate id 'acme-three'; items[2].id on line 29 has it",
    ]


async def test_the_csv_report_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CSV problems name the column, and are worded like the YAML ones."""
    (tmp_path / "pack.csv").write_text(_csv_pack())
    assert _cli("pack.csv", tmp_path, monkeypatch, capsys) == [
        "pack.csv:2: id: this id belongs to a shipped question; choose another id",
        "pack.csv:3: topic: 'astrology' is not allowed here; expected one of: " + ", ".join(TOPICS),
        "pack.csv:3: prompt: too short: at least 10 characters, this has 7",
        "pack.csv:3: reason_a: empty; write something here",
        "pack.csv:5: id: duplicate id 'acme-c'; id on line 4 has it",
    ]


def _problems(text: str) -> list[str]:
    with pytest.raises(BankError) as err:
        parse_text(text, path="p.yaml")
    return [str(p) for p in err.value.problems]


def test_schema_errors_are_worded_plainly() -> None:
    """Ids, choices, lengths, lists, kinds and unknown fields: what is wrong, how to fix it."""
    item = CHOICE.format(id="Bad_Id", difficulty="easy", distractor="The median")
    item = item.replace("topic: statistics", "topic: statistcs").replace(
        "tags: [spread]", "tags: []\n    colour: red"
    )
    mcq = CHOICE.format(id="acme-two", difficulty="easy", distractor="x").replace("choice", "mcq")
    problems = _problems("items:\n" + item + mcq + "  - just a line\n")
    assert problems == [
        "p.yaml:2: items[0].id: 'Bad_Id': an id is lower-case letters and digits, in words "
        "joined by single hyphens, e.g. statistics-mean-vs-median",
        "p.yaml:4: items[0].topic: 'statistcs' is not allowed here; expected one of: "
        + ", ".join(TOPICS)
        + "; did you mean 'statistics'?",
        "p.yaml:6: items[0].tags: needs at least 1 entry, this has none",
        "p.yaml:7: items[0].colour: not a field of this kind of item; check its spelling or "
        "remove it",
        "p.yaml:18: items[1].kind: 'mcq' is not a kind of item; expected one of: choice, open, "
        "scenario, behavioural",
        "p.yaml:31: items[2]: expected a set of fields (key: value lines), got text",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Both bias and variance fall",
        "Both precision and recall rise",
        "Both A and B are invertible matrices",
        "None of these features matter",
        "Neither the mean nor the median moves",
        "I and my manager agreed on a plan",
    ],
)
def test_an_option_that_only_starts_with_both_is_ordinary(text: str) -> None:
    """A statement about two things is a real option, not a reference to other options."""
    pack = "items:\n" + CHOICE.format(id="acme-one", difficulty="easy", distractor=text)
    (item,) = parse_text(pack, path="p.yaml")
    assert item.options[1].text == text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "Both A and C",
        "both (a) and (c)",
        "A and C only",
        "A, B and C",
        "Both A and C are correct",
        "Neither A nor B",
        "I and III only",
        "Options 1 and 3",
        "All of the above",
        "None of the above.",
        "None of these",
    ],
)
def test_options_that_point_at_other_options_are_refused(text: str) -> None:
    """ "Both A and C", "All of the above" and their kin are refused, with the reason."""
    pack = "items:\n" + CHOICE.format(id="acme-one", difficulty="easy", distractor=text)
    (problem,) = _problems(pack)
    assert problem.startswith("p.yaml:12: items[0].options[1].text: this option points at other")


def test_validate_names_a_missing_file_and_warns_of_near_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong path is "no such file"; a prompt like a shipped one is a warning, not a failure."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "load_bank", mini_bank)
    assert cli.main(["nope.yaml"]) == 1
    assert capsys.readouterr().out == "nope.yaml: no such file; check the path\n"
    shipped = next(i for i in mini_bank() if i.id == SHIPPED)
    pack = "items:\n" + CHOICE.format(id="acme-one", difficulty="easy", distractor="The median")
    (tmp_path / "near.yaml").write_text(
        pack.replace(
            "Which of these summaries measures how spread out a sample is?", shipped.prompt
        )
    )
    assert cli.main(["near.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"warning: acme-one reads like {SHIPPED} (")
    assert out[1] == "ok: 1 item in 1 file"


async def test_console_import_reports_the_problems_in_plain_words(tmp_path: Path) -> None:
    """Piped into the console, `/questions import PATH` lists every problem of a broken pack."""
    (tmp_path / "pack.yaml").write_text(_yaml_pack())
    out = io.StringIO()
    platform = ConsolePlatform(Console(file=out, width=250, highlight=False, color_system=None))
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/console.db"),
        platform=platform,
        items=mini_bank(),
        rng=random.Random(1),
    )
    script = f"/questions import {tmp_path / 'pack.yaml'}\n"
    try:
        assert await ConsoleSession(app, platform, io.StringIO(script), echo=True).run() == 0
    finally:
        await app.close()
    text = out.getvalue()
    assert "Nothing imported: 5 problems in pack.yaml" in text
    assert "pack.yaml:2: items[0].id: this id belongs to a shipped question" in text
    assert "pack.yaml:18: items[1].difficulty: 'trivial' is not allowed here" in text
    assert "pack.yaml:43: items[3].id: duplicate id 'acme-three'" in text
    assert not [w for w in LIBRARY_WORDING if w in text]
