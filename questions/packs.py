"""Admin packs: YAML in the bank's schema, or CSV for multiple-choice items.

CSV columns (a header row first; ``d``/``reason_d`` may be empty for three options)::

    id,topic,difficulty,tags,prompt,a,reason_a,b,reason_b,c,reason_c,d,reason_d,answer

``tags`` are separated by ``;`` and ``answer`` is the key's letter. Every problem is reported
as file:line: field: message, and nothing is returned unless the whole pack is valid.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pydantic import ValidationError

from questions.loader import BankError, Problem, parse_text
from questions.schema import ChoiceItem, Item

CSV_COLUMNS = (
    "id", "topic", "difficulty", "tags", "prompt",
    "a", "reason_a", "b", "reason_b", "c", "reason_c", "d", "reason_d", "answer",
)  # fmt: skip
LETTERS = "abcd"


def parse_pack(name: str, data: bytes) -> tuple[Item, ...]:
    """Validate a pack file's content; raise BankError listing every problem."""
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


def parse_csv(text: str, *, path: str) -> tuple[Item, ...]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    missing = [c for c in CSV_COLUMNS if c not in header and c not in ("d", "reason_d")]
    if missing:
        raise BankError(
            [
                Problem(
                    path,
                    1,
                    "header",
                    f"missing column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}",
                )
            ]
        )
    problems: list[Problem] = []
    items: list[Item] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        answer = cells.get("answer", "").lower()
        options = []
        for letter in LETTERS:
            text_ = cells.get(letter, "")
            if not text_ and letter == "d" and not cells.get("reason_d"):
                continue
            options.append(
                {
                    "text": text_,
                    "reason": cells.get(f"reason_{letter}", ""),
                    "correct": letter == answer,
                }
            )
        if answer not in LETTERS[: len(options)]:
            problems.append(
                Problem(
                    path,
                    line,
                    "answer",
                    f"expected the key's letter ({', '.join(LETTERS[: len(options)]).upper()})"
                    f", got {cells.get('answer', '')!r}",
                )
            )
            continue
        raw = {
            "id": cells.get("id", ""),
            "kind": "choice",
            "topic": cells.get("topic", ""),
            "difficulty": cells.get("difficulty", ""),
            "tags": [t.strip() for t in cells.get("tags", "").split(";") if t.strip()],
            "prompt": cells.get("prompt", ""),
            "options": options,
        }
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
