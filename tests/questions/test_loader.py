"""Question files: validation errors name file, line and field; the shipped bank loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from questions.files import BankError
from questions.loader import load_bank, parse_text

GOOD_CHOICE = """\
items:
  - id: stats-one
    kind: choice
    topic: statistics
    difficulty: easy
    tags: [x]
    prompt: Which of these is a measure of spread?
    options:
      - text: Variance
        correct: true
        reason: It averages squared distances from the mean.
      - text: Median
        reason: It locates the centre, not the spread.
      - text: Mode
        reason: It is the most common value, a location.
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(BankError) as err:
        parse_text(text, path="pack.yaml")
    return [str(p) for p in err.value.problems]


def test_a_good_file_loads() -> None:
    """A valid item comes back with its key found."""
    (item,) = parse_text(GOOD_CHOICE, path="pack.yaml")
    assert item.kind == "choice" and item.key_index == 0  # type: ignore[union-attr]


def test_missing_reason_is_reported_with_line_and_field() -> None:
    """A missing reason points at the option's line and names the field."""
    text = GOOD_CHOICE.replace("        reason: It is the most common value, a location.\n", "")
    assert _problems(text) == ["pack.yaml:14: items[0].options[2].reason: missing; add this field"]


def test_every_problem_is_listed_at_once() -> None:
    """Two broken items give two problems in one report."""
    text = GOOD_CHOICE + GOOD_CHOICE.split("items:\n")[1].replace("stats-one", "stats-two")
    text = text.replace("difficulty: easy", "difficulty: trivial")
    problems = _problems(text)
    assert len(problems) == 2
    assert problems[0].startswith("pack.yaml:5: items[0].difficulty:")
    assert problems[1].startswith("pack.yaml:19: items[1].difficulty:")


def test_lazy_options_are_refused() -> None:
    """No 'all of the above' options."""
    text = GOOD_CHOICE.replace("      - text: Mode\n", "      - text: All of the above\n")
    (problem,) = _problems(text)
    assert problem.startswith("pack.yaml:14: items[0].options[2].text:")
    assert "points at other options (like 'all of the above'" in problem


def test_exactly_one_key() -> None:
    """Two options marked correct is an error on the item."""
    text = GOOD_CHOICE.replace(
        "      - text: Median\n", "      - text: Median\n        correct: true\n"
    )
    (problem,) = _problems(text)
    assert problem == (
        "pack.yaml:2: items[0]: mark exactly one option 'correct: true'; 2 are marked"
    )


def test_duplicate_ids_are_refused() -> None:
    """Ids are unique within a file."""
    text = GOOD_CHOICE + GOOD_CHOICE.split("items:\n")[1]
    assert _problems(text) == [
        "pack.yaml:16: items[1].id: duplicate id 'stats-one'; items[0].id on line 2 has it"
    ]


def test_broken_yaml_names_the_line() -> None:
    """A YAML syntax error is reported with its line, not as a traceback."""
    problems = _problems("items:\n  - id: [unclosed\n")
    assert problems[0].startswith("pack.yaml:3: not valid YAML")


def test_the_shipped_bank_loads_and_is_big_enough() -> None:
    """Every shipped file validates; the bank has at least 30 items over several topics."""
    items = load_bank()
    assert len(items) >= 30
    assert len({i.topic for i in items}) >= 5
    assert {i.kind for i in items} >= {"choice", "open"}


def test_shipped_files_are_named_after_their_topic() -> None:
    """Each shipped file holds only its own topic's items."""
    from questions.files import bank_files
    from questions.schema import TOPICS

    for path in bank_files():
        assert Path(path).stem in TOPICS


def test_the_bank_is_parsed_once_until_a_file_changes(tmp_path: Path) -> None:
    """A second load of unchanged files returns the same items without parsing; an edited
    file is read again, and a broken one is refused, not served from before."""
    from questions.files import BANK_DIR

    (tmp_path / "bank").mkdir()  # two of the bank's files: what is cached is per file set
    for name in ("statistics.yaml", "evaluation.yaml"):
        shutil.copyfile(BANK_DIR / name, tmp_path / "bank" / name)
    first = load_bank(tmp_path / "bank")
    assert load_bank(tmp_path / "bank") is first
    stats = tmp_path / "bank" / "statistics.yaml"
    text = stats.read_text(encoding="utf-8")
    stats.write_text(text.replace("prompt: ", "prompt: Edited. ", 1), encoding="utf-8")
    edited = load_bank(tmp_path / "bank")
    assert edited is not first and len(edited) == len(first)
    assert any(i.prompt.startswith("Edited. ") for i in edited)
    stats.write_text(text + "\n  - id: [broken\n", encoding="utf-8")
    with pytest.raises(BankError):
        load_bank(tmp_path / "bank")
