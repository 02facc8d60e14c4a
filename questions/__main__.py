"""Validate question files from the command line: ``python -m questions [FILE…]``.

With no files it checks the shipped bank with its tips, rubrics and resources; with files it
reads each as an import pack would (YAML or CSV) and prints every problem as file:line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from questions.extras import validate_extras
from questions.loader import BankError, Problem, bank_files, load_paths
from questions.packs import parse_pack
from questions.schema import Item


def main(argv: Sequence[str] | None = None) -> int:
    """Validate files given on the command line (or the shipped bank); print every problem."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = [Path(a) for a in args] or bank_files()
    problems: list[Problem] = []
    items: tuple[Item, ...] = ()
    try:
        if args:
            loaded: list[Item] = []
            for path in paths:
                try:
                    loaded.extend(parse_pack(str(path), path.read_bytes()))
                except BankError as exc:
                    problems.extend(exc.problems)
            items = tuple(loaded)
        else:
            items = load_paths(paths, topic_from_name=True)
    except BankError as exc:
        problems.extend(exc.problems)
    if not args:  # the shipped bank comes with its tips, rubrics and resources
        problems.extend(validate_extras())
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(items)} items in {len(paths)} file(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
