"""Validate question files from the command line: ``python -m questions [FILE…]``.

With no files it checks the shipped bank with its tips, rubrics and resources; with files it
runs on each the checks `/questions import` runs (questions/checks.py) and prints every
problem as file:line: field: message, and a warning for each prompt that reads like a
shipped question's.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from questions.checks import check_pack, similar_warnings
from questions.extras import validate_extras
from questions.files import BankError, Problem, bank_files
from questions.loader import load_bank, load_paths
from questions.quality import near_duplicates
from questions.schema import Item


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def check_packs(paths: Sequence[Path]) -> tuple[list[Item], list[str], list[str]]:
    """Each pack through the checks `/questions import` runs: its items, every problem (as
    file:line: field: message), and warnings for prompts that read like a shipped one's."""
    try:
        bank: tuple[Item, ...] = load_bank()
        problems: list[Problem] = []
    except BankError as exc:  # a broken installation: say so, and check the packs anyway
        bank, problems = (), list(exc.problems)
    shipped = {item.id for item in bank}
    found = [str(p) for p in problems]
    items: list[Item] = []
    warnings: list[str] = []
    for path in paths:
        if not path.is_file():
            what = "a folder, not a pack file" if path.is_dir() else "no such file; check the path"
            found.append(f"{path}: {what}")
            continue
        try:
            checked = check_pack(str(path), path.read_bytes(), shipped=shipped)
        except BankError as exc:
            found.extend(str(p) for p in exc.problems)
            continue
        items.extend(checked)
        warnings.extend(similar_warnings(near_duplicates(checked, against=bank)))
    return items, found, warnings


def main(argv: Sequence[str] | None = None) -> int:
    """Validate files given on the command line (or the shipped bank); print every problem."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(a) for a in args] or bank_files()
    problems: list[str] = []
    items: Sequence[Item] = ()
    warnings: list[str] = []
    if args:
        items, problems, warnings = check_packs(paths)
    else:  # the shipped bank comes with its tips, rubrics and resources
        try:
            items = load_paths(paths, topic_from_name=True)
        except BankError as exc:
            problems.extend(str(p) for p in exc.problems)
        problems.extend(str(p) for p in validate_extras())
    for warning in warnings:
        print(f"warning: {warning}")
    if problems:
        for problem in problems:
            print(problem)
        print(f"{_plural(len(problems), 'problem')}: fix each line above", file=sys.stderr)
        return 1
    print(f"ok: {_plural(len(items), 'item')} in {_plural(len(paths), 'file')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
