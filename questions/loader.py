"""Load and validate question files, reporting every error as file:line: field: message,
in plain words (questions/wording.py rewrites pydantic's).

`python -m questions` (questions/__main__.py) validates files from the command line.

Files may come from admins (packs), so reading is bounded before anything is built: a file
nested deeper than ``MAX_DEPTH``, a value longer than ``MAX_FIELD_CHARS``, more than
``MAX_VALUES`` values or ``MAX_ITEMS`` items is refused with a message naming the limit, and
whatever YAML cannot turn into a value (``!!python`` tags, unhashable keys, a bad ``!!int``,
``!!float`` or ``!!timestamp``) is reported at its line like any other mistake.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from questions.files import BANK_DIR, BankError, Problem, bank_files, bank_fingerprint
from questions.schema import KINDS, BankFile, Item
from questions.wording import plain

MAX_ITEMS = 2_000  # per file
MAX_DEPTH = 10  # levels of nesting; the schema needs five
MAX_FIELD_CHARS = 5_000  # per value; the longest field the schema allows is 2,500
MAX_VALUES = 250_000  # keys and values in one file; a full 2,000-item pack needs ~100,000
MAX_PROBLEMS = 200  # listed per file; past this the file needs fixing at its source anyway


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


# Tags pydantic adds for the branches of a `str | Model` union, such as a key point that is
# either plain text or a mapping with terms.
_BRANCHES = frozenset({"constrained-str", "str", "KeyPoint"})


def _branch(part: object) -> str | None:
    if isinstance(part, str):
        name = part.rsplit(", ", 1)[-1].rstrip("]") if part.startswith("function-") else part
        return name if name in _BRANCHES else None
    return None


def _wrong_branch(err: ErrorDetails) -> bool:
    """An error from the union branch the value plainly was not meant for: 'expected text'
    for a mapping, or 'expected fields' for text."""
    loc, kind, value = err["loc"], err["type"], err.get("input")
    branch = next((_branch(p) for p in reversed(loc) if _branch(p)), None)
    if branch is None:
        return False
    if isinstance(value, dict):
        return branch != "KeyPoint" and kind == "string_type"
    return branch == "KeyPoint" and kind in {"model_type", "dict_type"}


def clean_loc(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """Drop the union-member tags pydantic adds (``choice``, ``function-after[...]``)."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (
            isinstance(part, str)
            and (
                part.startswith("function-")
                or part in _BRANCHES
                or (part in KINDS and isinstance(loc[i - 1], int))
            )
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


class _Loader(FAST_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, turning every failure to build a value into a located YAML error."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> object:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # int(), float(), datetime() … on what the file says
            what = f"{node.tag.rsplit(':', 1)[-1]} value" if node.tag else "value"
            detail = " ".join(str(exc).split(";")[0].split())  # not Python's advice on limits
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this {what}: {detail}", node.start_mark
            ) from None


def _yaml_problem(path: str, exc: yaml.YAMLError, text: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        return Problem(
            path,
            line,
            "",
            f"not valid YAML: character U+{exc.character:04X} is not allowed ({exc.reason}); "
            "save the file as plain text",
        )
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    detail = " ".join(str(getattr(exc, "problem", None) or exc).split())
    if "nesting depth" in detail:  # libyaml's own limit, far above ours
        return Problem(path, line, "", f"nested more than {MAX_DEPTH} levels deep")
    return Problem(path, line, "", f"not valid YAML: {detail}")


def _events(text: str, path: str) -> Iterator[yaml.Event]:
    try:
        yield from yaml.parse(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        raise BankError([_yaml_problem(path, exc, text)]) from None


def check_limits(text: str, *, path: str) -> None:
    """Refuse, before building anything, a file nested too deep, with a value too long, or
    with too many items or values; the parser's events are read one at a time, so this is
    cheap. Items are the entries under the top-level key (``items:``), two levels down."""
    depth = values = items = 0
    for event in _events(text, path):
        starts = isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent)
        if starts or isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            values += 1
            items += depth == 2
            message = _over_limit(event, depth + starts, values, items)
            if message:
                line = event.start_mark.line + 1 if event.start_mark else 1
                raise BankError([Problem(path, line, "", message)])
        if starts:
            depth += 1
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _over_limit(event: yaml.Event, depth: int, values: int, items: int) -> str | None:
    size = len(getattr(event, "value", "") or "")
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep"
    if size > MAX_FIELD_CHARS:
        return f"a value of {size:,} characters; the limit is {MAX_FIELD_CHARS:,}"
    if items > MAX_ITEMS:
        return f"more than {MAX_ITEMS:,} items; a file holds at most {MAX_ITEMS:,}, so split it"
    if values > MAX_VALUES:
        return f"more than {MAX_VALUES:,} values; split the file into smaller packs"
    return None


def _load(text: str, path: str) -> tuple[object, yaml.Node | None]:
    """The file's data and its node tree (which knows line numbers), from one parse."""
    check_limits(text, path=path)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        return (None if root is None else loader.construct_document(root)), root
    except yaml.YAMLError as exc:
        raise BankError([_yaml_problem(path, exc, text)]) from None
    except RecursionError:  # checked above; kept so no input can reach the catch-all
        message = f"nested more than {MAX_DEPTH} levels deep"
        raise BankError([Problem(path, 1, "", message)]) from None
    finally:
        loader.dispose()


def parse_text(text: str, *, path: str) -> tuple[Item, ...]:
    """Validate one file's text; raise BankError listing every problem with its line."""
    data, root = _load(text, path)
    if data is None or root is None:
        raise BankError(
            [Problem(path, 1, "", "the file is empty; expected a mapping with 'items:'")]
        )
    try:
        bank = BankFile.model_validate(data)
    except ValidationError as exc:
        raise BankError(_validation_problems(exc, root, path)) from None
    ids = [item.id for item in bank.items]
    if len(set(ids)) != len(ids):
        raise BankError(_duplicate_ids(bank.items, root, path))
    return bank.items


def _validation_problems(exc: ValidationError, root: yaml.Node, path: str) -> list[Problem]:
    errors = [
        (clean_loc(err["loc"]), err)
        for err in exc.errors(include_url=False)
        if not _wrong_branch(err)
    ]
    inner = {loc[:n] for loc, _ in errors for n in range(len(loc))}  # proper prefixes
    problems = []
    for loc, err in errors:
        if "after validation" in err["msg"] and loc in inner:
            continue  # a length complaint caused by an inner error already listed
        if err["type"] == "union_tag_invalid":
            loc = (*loc, "kind")  # point at the kind the file gave, not at the whole item
        node = node_at(root, loc)
        message = plain(err["msg"], err.get("input"))
        problems.append(Problem(path, node.start_mark.line + 1, field_name(loc), message))
        if len(problems) == MAX_PROBLEMS:
            more = f"stopped after {MAX_PROBLEMS} problems; fix these and check the file again"
            problems.append(Problem(path, node.start_mark.line + 1, "", more))
            break
    return problems


def _duplicate_ids(items: Iterable[Item], root: yaml.Node, path: str) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        if item.id in seen:
            node = node_at(root, ["items", index, "id"])
            first = node_at(root, ["items", seen[item.id], "id"]).start_mark.line + 1
            problems.append(
                Problem(
                    path,
                    node.start_mark.line + 1,
                    f"items[{index}].id",
                    f"duplicate id {item.id!r}; items[{seen[item.id]}].id on line {first} has it",
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


_LOADED: dict[Path, tuple[str, tuple[Item, ...]]] = {}  # directory: (fingerprint, items)


def load_bank(directory: Path = BANK_DIR) -> tuple[Item, ...]:
    """The shipped bank: one file per topic, named after it.

    Parsed once per process while its files stay the same (their digest takes 2 ms, the
    parse about 300): the items are frozen, so every caller can share them."""
    fingerprint = bank_fingerprint(directory)
    held = _LOADED.get(directory)
    if held is not None and held[0] == fingerprint:
        return held[1]
    items = load_paths(bank_files(directory), topic_from_name=True)
    _LOADED[directory] = (fingerprint, items)
    return items
