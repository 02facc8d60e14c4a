"""Schema errors in plain words: pydantic's messages ("String should match pattern …",
"Input should be …") rewritten as what is wrong and how to fix it.

``plain`` reads pydantic's message (its wording is fixed per error type) and, when it is
given, the value that was refused, so the YAML loader (which has the value) and CSV packs
(which keep only the message) are worded the same way.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from questions.schema import ID_PATTERN

_NO_VALUE = object()


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _what(value: object) -> str:
    """A refused value's kind, as a person would name it."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a set of fields"
    if value is None:
        return "nothing"
    return "text"


def _quoted(value: object, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _choices(expected: str) -> list[str]:
    """ "'easy', 'medium' or 'hard'" → ["easy", "medium", "hard"]."""
    return re.findall(r"'([^']*)'", expected)


def _one_of(expected: str, value: object) -> str:
    allowed = _choices(expected)
    listed = ", ".join(allowed)
    if value is _NO_VALUE:
        return f"expected one of: {listed}"
    close = difflib.get_close_matches(str(value).lower(), allowed, n=1, cutoff=0.6)
    maybe = f"; did you mean {close[0]!r}?" if close else ""
    return f"{_quoted(value)} is not allowed here; expected one of: {listed}{maybe}"


def _too_short(found: re.Match[str], value: object) -> str:
    least = int(found.group(1))
    if least == 1:
        return "empty; write something here"
    has = f", this has {len(value):,}" if isinstance(value, str) else ""
    return f"too short: at least {_count(least, 'character')}{has}"


def _too_long(found: re.Match[str], value: object) -> str:
    has = f", this has {len(value):,}" if isinstance(value, str) else ""
    return f"too long: at most {_count(int(found.group(1)), 'character')}{has}"


def _pattern(found: re.Match[str], value: object) -> str:
    got = "" if value is _NO_VALUE else f"{_quoted(value)}: "
    if found.group(1) == ID_PATTERN:
        return (
            f"{got}an id is lower-case letters and digits, in words joined by single hyphens, "
            "e.g. statistics-mean-vs-median"
        )
    return f"{got}not in the expected form"


def _entries(found: re.Match[str], value: object) -> str:
    bound, has = int(found.group(2)), int(found.group(3))
    side = "at least" if found.group(1) == "least" else "at most"
    now = "none" if has == 0 else str(has)
    entries = "1 entry" if bound == 1 else f"{bound:,} entries"
    return f"needs {side} {entries}, this has {now}"


def _got(value: object) -> str:
    return "" if value is _NO_VALUE else f", got {_what(value)}"


_Rule = Callable[[re.Match[str], object], str]

_RULES: tuple[tuple[re.Pattern[str], _Rule], ...] = (
    (re.compile(r"Field required"), lambda m, v: "missing; add this field"),
    (
        re.compile(r"Extra inputs are not permitted"),
        lambda m, v: "not a field of this kind of item; check its spelling or remove it",
    ),
    (re.compile(r"String should have at least (\d+) characters?"), _too_short),
    (re.compile(r"String should have at most (\d+) characters?"), _too_long),
    (re.compile(r"String should match pattern '(.*)'"), _pattern),
    (
        re.compile(r"\w+ should have at (least|most) (\d+) items? after validation, not (\d+)"),
        _entries,
    ),
    (
        re.compile(
            r"Input tag '(.*)' found using '(\w+)' does not match any of the expected "
            r"tags: (.*)"
        ),
        lambda m, v: (
            f"{m.group(1)!r} is not a kind of item; expected one of: "
            + ", ".join(_choices(m.group(3)))
        ),
    ),
    (
        re.compile(r"Unable to extract tag using discriminator '(\w+)'"),
        lambda m, v: f"'{m.group(1)}' is missing; give one of: choice, open, scenario, behavioural",
    ),
    (re.compile(r"Input should be a valid string.*"), lambda m, v: "expected text" + _got(v)),
    (
        re.compile(r"Input should be a valid boolean.*"),
        lambda m, v: "expected true or false" + ("" if v is _NO_VALUE else f", got {_quoted(v)}"),
    ),
    (
        re.compile(r"Input should be a valid (?:tuple|list).*"),
        lambda m, v: "expected a list (one '- ' entry per line)" + _got(v),
    ),
    (
        re.compile(r"Input should be a valid dictionary.*|Input should be an object.*"),
        lambda m, v: "expected a set of fields (key: value lines)" + _got(v),
    ),
    (re.compile(r"Input should be ('.*)"), lambda m, v: _one_of(m.group(1), v)),
    (re.compile(r"(?:Value|Assertion) error, (.*)", re.DOTALL), lambda m, v: m.group(1)),
)


def plain(message: str, value: object = _NO_VALUE) -> str:
    """``message`` as pydantic wrote it, in plain words; other messages come back unchanged.

    ``value`` is what the file said there, when known: it lets the message quote it and
    suggest the closest allowed value."""
    for pattern, rule in _RULES:
        found = pattern.fullmatch(message)
        if found:
            return rule(found, value)
    return message
