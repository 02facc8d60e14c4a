"""Admin packs: YAML in the bank's schema, or CSV for multiple-choice items.

CSV columns (a header row first; ``d``/``reason_d`` may be empty for three options)::

    id,topic,difficulty,tags,prompt,a,reason_a,b,reason_b,c,reason_c,d,reason_d,answer

``tags`` are separated by ``;`` and ``answer`` is the key's letter. Every problem is reported
as file:line: field: message, and nothing is returned unless the whole pack is valid.

A pack is at most ``MAX_PACK_BYTES`` and ``MAX_ITEMS`` items, each value at most
``MAX_FIELD_CHARS`` characters (questions/loader.py holds the limits YAML files share).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence

from pydantic import ValidationError

from questions.files import BankError, Problem
from questions.loader import MAX_FIELD_CHARS, MAX_ITEMS, parse_text
from questions.schema import ChoiceItem, Item

CSV_COLUMNS = (
    "id", "topic", "difficulty", "tags", "prompt",
    "a", "reason_a", "b", "reason_b", "c", "reason_c", "d", "reason_d", "answer",
)  # fmt: skip
LETTERS = "abcd"
MAX_PACK_BYTES = 2 * 1024 * 1024  # 2 MB: about 2,000 items, the most one pack may hold


def parse_pack(name: str, data: bytes) -> tuple[Item, ...]:
    """Validate a pack file's content; raise BankError listing every problem."""
    if len(data) > MAX_PACK_BYTES:
        size = f"{len(data) / (1024 * 1024):.1f} MB"
        raise BankError(
            [Problem(name, 1, "", f"the file is {size}; a pack is at most 2 MB, so split it")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BankError([Problem(name, 1, "", "not UTF-8 text; save the file as UTF-8")]) from None
    lower = name.lower()
    if lower.endswith(".csv"):
        return parse_csv(text, path=name)
    if lower.endswith((".yaml", ".yml")):
        return parse_text(text, path=name)
    raise BankError(
        [Problem(name, 1, "", "expected a .yaml/.yml pack or a .csv of multiple-choice items")]
    )


def _csv_field(loc: Sequence[int | str]) -> str:
    """Map a schema error location in the built item back to the CSV column."""
    if not loc:
        return "answer"
    if loc[0] == "options" and len(loc) >= 2 and isinstance(loc[1], int):
        letter = LETTERS[loc[1]] if loc[1] < len(LETTERS) else "?"
        return f"reason_{letter}" if len(loc) > 2 and loc[2] == "reason" else letter
    return str(loc[0])


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(reader: csv.DictReader[str], path: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, cells by lower-case column) per data row; a broken row or a field past the
    limit ends the file with a located problem, as does a row past ``MAX_ITEMS``."""
    count = 0
    while True:
        try:
            row = next(reader, None)
        except csv.Error as exc:  # a field past csv's own limit, a stray carriage return …
            raise BankError([_csv_problem(path, reader.line_num + 1, exc)]) from None
        if row is None:
            return
        count += 1
        if count > MAX_ITEMS:
            message = f"more than {MAX_ITEMS:,} items; a pack holds at most {MAX_ITEMS:,}"
            raise BankError([Problem(path, reader.line_num, "", message)])
        cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        for column, value in cells.items():
            if len(value) > MAX_FIELD_CHARS:
                message = f"{len(value):,} characters; the limit is {MAX_FIELD_CHARS:,}"
                raise BankError([Problem(path, reader.line_num, _short(column), message)])
        yield reader.line_num, cells


def _csv_problem(path: str, line: int, exc: csv.Error) -> Problem:
    if "field limit" in str(exc):
        message = f"a field longer than {MAX_FIELD_CHARS:,} characters (the limit)"
        return Problem(path, line, "", message)
    if "new-line" in str(exc):
        message = "a line break inside a field that is not in quotes; put the field in quotes"
        return Problem(path, line, "", f"not valid CSV: {message}")
    return Problem(path, line, "", f"not valid CSV: {exc}")


def _header(reader: csv.DictReader[str], path: str) -> None:
    try:
        names = reader.fieldnames or ()
    except csv.Error as exc:
        raise BankError([_csv_problem(path, 1, exc)]) from None
    header = [h.strip().lower() for h in names]
    missing = [c for c in CSV_COLUMNS if c not in header and c not in ("d", "reason_d")]
    if missing:
        message = f"missing column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
        raise BankError([Problem(path, 1, "header", message)])


def _raw_item(cells: Mapping[str, str], line: int, path: str) -> dict[str, object] | Problem:
    """The item a row describes, in the bank's schema; a Problem if its answer is no letter."""
    answer = cells.get("answer", "").lower()
    options = []
    for letter in LETTERS:
        text_ = cells.get(letter, "")
        if not text_ and letter == "d" and not cells.get("reason_d"):
            continue
        reason = cells.get(f"reason_{letter}", "")
        options.append({"text": text_, "reason": reason, "correct": letter == answer})
    if answer not in LETTERS[: len(options)]:
        return Problem(
            path,
            line,
            "answer",
            f"expected the key's letter ({', '.join(LETTERS[: len(options)]).upper()})"
            f", got {_short(cells.get('answer', ''))!r}",
        )
    return {
        "id": cells.get("id", ""),
        "kind": "choice",
        "topic": cells.get("topic", ""),
        "difficulty": cells.get("difficulty", ""),
        "tags": [t.strip() for t in cells.get("tags", "").split(";") if t.strip()],
        "prompt": cells.get("prompt", ""),
        "options": options,
    }


def parse_csv(text: str, *, path: str) -> tuple[Item, ...]:
    reader = csv.DictReader(io.StringIO(text))
    _header(reader, path)
    problems: list[Problem] = []
    items: list[Item] = []
    seen: dict[str, int] = {}
    for line, cells in _rows(reader, path):
        raw = _raw_item(cells, line, path)
        if isinstance(raw, Problem):
            problems.append(raw)
            continue
        try:
            item = ChoiceItem.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                problems.append(Problem(path, line, _csv_field(err["loc"]), err["msg"]))
            continue
        if item.id in seen:
            problems.append(
                Problem(
                    path, line, "id", f"duplicate id {item.id!r}, first on line {seen[item.id]}"
                )
            )
            continue
        seen[item.id] = line
        items.append(item)
    if not items and not problems:
        problems.append(Problem(path, 1, "", "the file has a header but no items"))
    if problems:
        raise BankError(problems)
    return tuple(items)
