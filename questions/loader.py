"""Load and validate question files, reporting every error as file:line: field: message.

`python -m questions` (questions/__main__.py) validates files from the command line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from questions.schema import KINDS, BankFile, Item

BANK_DIR = Path(str(resources.files("questions") / "bank"))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a question file, located precisely enough to fix."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class BankError(Exception):
    """Raised with every problem found, so a file is fixed in one pass."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def node_at(root: yaml.Node, loc: Sequence[int | str]) -> yaml.Node:
    """Walk a composed YAML tree along a pydantic error location, as deep as it goes."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key_node = next((k for k, _ in node.value if k.value == part), None)
                return key_node or node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def clean_loc(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """Drop the union-member tags pydantic adds (``choice``, ``function-after[...]``)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (
            isinstance(part, str)
            and (part.startswith("function-") or (part in KINDS and isinstance(loc[i - 1], int)))
        )
    )


def field_name(loc: Sequence[int | str]) -> str:
    """Render a location like items[3].options[1].reason."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# libyaml's C parser when installed (PyYAML's wheels carry it): about 15x faster than the
# pure-Python one, which made loading the bank most of studybot's start-up time.
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_text(text: str, *, path: str) -> tuple[Item, ...]:
    """Validate one file's text; raise BankError listing every problem with its line.

    The text is parsed once; the line-numbered node tree is built only to locate problems.
    """
    try:
        data = yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise BankError([Problem(path, line, "", f"not valid YAML: {exc}")]) from exc
    if data is None:
        raise BankError(
            [Problem(path, 1, "", "the file is empty; expected a mapping with 'items:'")]
        )
    try:
        bank = BankFile.model_validate(data)
    except ValidationError as exc:
        root = _tree(text)
        errors = [(clean_loc(err["loc"]), err["msg"]) for err in exc.errors(include_url=False)]
        problems = []
        for loc, msg in errors:
            if "after validation" in msg and any(
                other != loc and other[: len(loc)] == loc for other, _ in errors
            ):
                continue  # a length complaint caused by an inner error already listed
            node = node_at(root, loc)
            problems.append(Problem(path, node.start_mark.line + 1, field_name(loc), msg))
        raise BankError(problems) from None
    ids = [item.id for item in bank.items]
    if len(set(ids)) != len(ids):
        raise BankError(_duplicate_ids(bank.items, _tree(text), path))
    return bank.items


def _tree(text: str) -> yaml.Node:
    """The file as YAML nodes, which know their line numbers."""
    root = yaml.compose(text, Loader=FAST_LOADER)
    assert root is not None  # the text already loaded as a non-empty document
    return root


def _duplicate_ids(items: Iterable[Item], root: yaml.Node, path: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        if item.id in seen:
            node = node_at(root, ["items", index, "id"])
            problems.append(
                Problem(
                    path,
                    node.start_mark.line + 1,
                    f"items[{index}].id",
                    f"duplicate id {item.id!r}, first used by items[{seen[item.id]}]",
                )
            )
        seen.setdefault(item.id, index)
    return problems


def load_file(path: Path) -> tuple[Item, ...]:
    return parse_text(path.read_text(encoding="utf-8"), path=str(path))


def load_paths(paths: Iterable[Path], *, topic_from_name: bool = False) -> tuple[Item, ...]:
    """Load many files; every problem from every file is raised together.

    With ``topic_from_name`` (the shipped bank), each item's topic must match its file's name.
    """
    items: list[Item] = []
    problems: list[Problem] = []
    origin: dict[str, str] = {}
    for path in paths:
        try:
            loaded = load_file(path)
        except BankError as exc:
            problems.extend(exc.problems)
            continue
        for item in loaded:
            if item.id in origin:
                problems.append(
                    Problem(str(path), 1, "id", f"id {item.id!r} is also used in {origin[item.id]}")
                )
            if topic_from_name and item.topic != path.stem:
                problems.append(
                    Problem(
                        str(path),
                        1,
                        f"{item.id}.topic",
                        f"item has topic {item.topic!r} but lives in {path.name}; "
                        f"move it to {item.topic}.yaml",
                    )
                )
            origin.setdefault(item.id, str(path))
            items.append(item)
    if problems:
        raise BankError(problems)
    return tuple(items)


def bank_files(directory: Path = BANK_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_bank(directory: Path = BANK_DIR) -> tuple[Item, ...]:
    """The shipped bank: one file per topic, named after it."""
    return load_paths(bank_files(directory), topic_from_name=True)
