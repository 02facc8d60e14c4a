"""The checks every pack goes through, the same for `studybot questions validate FILE`,
`studybot questions import` and `/questions import`.

Every problem comes at once, sorted by line, each as file:line: field: message in plain
words: the schema's, ids used twice in the file and ids that belong to shipped questions,
even when other items fail the schema (the parser alone stops short of the last two).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import yaml

from questions.files import BankError, Problem
from questions.loader import FAST_LOADER
from questions.packs import parse_pack
from questions.schema import Item
from questions.wording import plain

SHIPPED_ID = "this id belongs to a shipped question; choose another id"
OPTION_COLUMNS = frozenset(("a", "b", "c", "d", "reason_a", "reason_b", "reason_c", "reason_d"))

Parse = Callable[[str, bytes], tuple[Item, ...]]


@dataclass(frozen=True)
class Entry:
    """Where one item's id is written, read without the schema (so broken items count too)."""

    id: str
    line: int
    field: str


def check_pack(
    name: str, data: bytes, *, shipped: Collection[str], parse: Parse = parse_pack
) -> tuple[Item, ...]:
    """The pack's items if it passes every check; otherwise BankError listing every problem.

    ``shipped`` holds the ids of the shipped bank, which a pack may not take over; ``parse``
    reads the file (``parse_pack``: YAML or CSV by its extension)."""
    try:
        items, problems = parse(name, data), []
    except BankError as exc:
        items, problems = (), list(exc.problems)
    if not any(not p.field for p in problems):  # no file-wide problem: the items can be read
        entries = id_entries(name, data)
        if problems:  # the parser checks ids only once the items pass the schema
            problems = [p for p in problems if not p.message.startswith("duplicate id")]
            problems += duplicates(name, entries)
        problems += [Problem(name, e.line, e.field, SHIPPED_ID) for e in entries if e.id in shipped]
    if problems:
        cells = csv_cells(data) if name.lower().endswith(".csv") else {}
        if cells:
            problems = [p for p in problems if not _caused_by_a_cell(p, problems)]
        worded = (_worded(p, cells.get(p.line, {})) for p in problems)
        raise BankError(sorted(worded, key=lambda p: p.line))
    return items


def _caused_by_a_cell(problem: Problem, problems: Iterable[Problem]) -> bool:
    """A CSV row's option count, cut short by an option cell already listed on that row."""
    return (
        problem.field == "options"
        and "after validation" in problem.message
        and any(p.line == problem.line and p.field in OPTION_COLUMNS for p in problems)
    )


def _worded(problem: Problem, cells: Mapping[str, str]) -> Problem:
    """The problem in plain words; a CSV cell that holds one value is quoted by the message."""
    if problem.field in cells and problem.field != "tags":
        message = plain(problem.message, cells[problem.field])
    else:
        message = plain(problem.message)
    return Problem(problem.path, problem.line, problem.field, message)


def duplicates(name: str, entries: Iterable[Entry]) -> list[Problem]:
    first: dict[str, Entry] = {}
    problems = []
    for entry in entries:
        if entry.id in first:
            earlier = first[entry.id]
            message = f"duplicate id {entry.id!r}; {earlier.field} on line {earlier.line} has it"
            problems.append(Problem(name, entry.line, entry.field, message))
        first.setdefault(entry.id, entry)
    return problems


def id_entries(name: str, data: bytes) -> list[Entry]:
    """Each item's id and its line, from a file the parser has already bounded and read."""
    if name.lower().endswith(".csv"):
        rows = csv_cells(data)
        return [Entry(row["id"], line, "id") for line, row in rows.items() if row.get("id")]
    if name.lower().endswith((".yaml", ".yml")):
        try:
            return _yaml_entries(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, yaml.YAMLError):
            pass  # reported by the parser already
    return []


def csv_cells(data: bytes) -> dict[int, dict[str, str]]:
    """A CSV pack's cells by line and lower-case column, as the parser reads them."""
    rows: dict[int, dict[str, str]] = {}
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        for row in reader:
            cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            rows[reader.line_num] = cells
    except (UnicodeDecodeError, csv.Error):
        pass  # reported by the parser already
    return rows


def _yaml_entries(text: str) -> list[Entry]:
    root = yaml.compose(text, Loader=FAST_LOADER)
    if not isinstance(root, yaml.MappingNode):
        return []
    items = next((v for k, v in root.value if k.value == "items"), None)
    if not isinstance(items, yaml.SequenceNode):
        return []
    entries = []
    for index, node in enumerate(items.value):
        if not isinstance(node, yaml.MappingNode):
            continue
        found = next((v for k, v in node.value if k.value == "id"), None)
        if isinstance(found, yaml.ScalarNode) and str(found.value).strip():
            line = found.start_mark.line + 1
            entries.append(Entry(str(found.value).strip(), line, f"items[{index}].id"))
    return entries


def similar_warnings(pairs: Sequence[tuple[str, str, float]]) -> list[str]:
    """Near-duplicate prompts (questions.quality.near_duplicates) as warnings to read."""
    return [f"{a} reads like {b} ({score:.0f}% similar)" for a, b, score in pairs]
