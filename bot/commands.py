"""The command table, and parsing for platforms without typed options.

Each command is declared once, by its feature (``Feature.commands``); the table is those
declarations in the order of ``bot.features.FEATURES``. Discord registers app commands from
it, Slack parses ``/prep`` text with it and the console reads lines with it, so the three
never drift.

Input is bounded before any work: a command line of at most ``MAX_LINE_CHARS``, an option
value of at most ``MAX_VALUE_CHARS``, and whole numbers within ``INT_MAX`` (what every
integer column holds on both databases), unless the option's own range is narrower.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping, Sequence

from bot import registry
from bot.features.help import accepted
from bot.handlers import CommandError, CommandSpec, Kind, Option, Permission

__all__ = ["CommandError", "CommandSpec", "Kind", "Option", "Permission", "commands", "parse"]


def commands() -> tuple[CommandSpec, ...]:
    """Every command of the shipped features, in /help order."""
    return registry.default().commands


def find(name: str) -> CommandSpec | None:
    return registry.default().find(name)


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    return matches[0] if matches else None


_NAMED = re.compile(r"^([a-z][a-z0-9_-]*):(.*)$", re.DOTALL)
_INTEGER = re.compile(r"([+-]?)([0-9]+)")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # a member's name typed without its @

MAX_LINE_CHARS = 4_000  # a whole command as typed (Slack sends at most 4,000)
MAX_VALUE_CHARS = 200  # one option's value: ids, times, zones and schedules fit easily
INT_MAX = 2**31 - 1  # the widest integer column (INTEGER: 32 bits on PostgreSQL)
MAX_ID_CHARS = 64  # a member, channel or role id, as the store keeps them


def shown(value: str, limit: int = 40) -> str:
    """What the member typed, shortened and safe to put between backticks in a reply."""
    value = value if len(value) <= limit else value[: limit - 1] + "…"
    return value.replace("`", "'")


def parse(text: str) -> tuple[CommandSpec, dict[str, str | int]]:
    """Parse ``/name sub key:value positional…`` against the table."""
    if len(text) > MAX_LINE_CHARS:
        raise CommandError(
            f"That command is {len(text):,} characters long; the limit is {MAX_LINE_CHARS:,}. "
            "Shorten it."
        )
    text = text.strip()
    if text.startswith("/"):
        text = text[1:]
    try:
        words = shlex.split(text)
    except ValueError as exc:
        what = "it ends with a lone `\\`" if "escaped" in str(exc) else "a quote is not closed"
        raise CommandError(f"Could not read that command: {what}. Close every quote.") from None
    if not words:
        raise CommandError("Type a command, e.g. `/help`.")
    spec = _match_name(words)
    rest = words[len(spec.name.split()) :]
    return spec, _bind(spec, rest)


def _match_name(words: Sequence[str]) -> CommandSpec:
    names = [c.name for c in commands()]
    first = words[0].lower()
    if len(words) > 1 and (spec := find(f"{first} {words[1].lower()}")):
        return spec
    if spec := find(first):
        return spec
    subs = [n.split()[1] for n in names if n.split()[0] == first and " " in n]
    if subs:
        got = f" `{shown(words[1])}`" if len(words) > 1 else " nothing"
        hint = _closest(words[1].lower(), subs) if len(words) > 1 else None
        maybe = f" Did you mean `/{first} {hint}`?" if hint else ""
        raise CommandError(f"`/{first}` needs a subcommand: {', '.join(subs)}; got{got}.{maybe}")
    tops = sorted({n.split()[0] for n in names})
    hint = _closest(first, tops)
    maybe = f" Did you mean `/{hint}`?" if hint else ""
    raise CommandError(f"Unknown command `/{shown(first)}`.{maybe} Type `/help` for the list.")


def _bind(spec: CommandSpec, words: Sequence[str]) -> dict[str, str | int]:
    raw: dict[str, str] = {}
    by_name = {o.name: o for o in spec.options}
    positional: list[str] = []
    for word in words:
        match = _NAMED.match(word)
        if match and match.group(1) in by_name:
            name, value = match.group(1), match.group(2)
            if name in raw:
                raise CommandError(f"`{name}` is given twice. Give each option once.")
            raw[name] = value
        elif match:
            name = match.group(1)
            hint = _closest(name, list(by_name))
            maybe = f" Did you mean `{hint}:`?" if hint else ""
            takes = ", ".join(by_name) or "no options"
            raise CommandError(
                f"`/{spec.name}` has no option `{shown(name)}`.{maybe} It takes: {takes}."
            )
        else:
            positional.append(word)
    free = [o for o in spec.options if o.positional and o.name not in raw]
    collecting: Option | None = None
    for word in positional:
        typed = next((o for o in free if o.kind is not Kind.TEXT and _accepts(o, word)), None)
        if typed is not None and not (collecting and typed.kind is Kind.INT):
            free.remove(typed)
            raw[typed.name] = word
            continue
        if collecting is not None:
            raw[collecting.name] += " " + word
            continue
        option = next((o for o in free if o.kind is Kind.TEXT), None)
        if option is None:
            raise unplaced(spec, word, raw)
        free.remove(option)
        raw[option.name] = word
        if option.rest:
            collecting = option
    return normalise(spec, raw)


def unplaced(spec: CommandSpec, word: str, given: Mapping[str, str]) -> CommandError:
    """A bare word no free option takes: which options could, and what each accepts."""
    if not spec.options:
        return CommandError(f"`/{spec.name}` takes no options; remove `{shown(word)}`.")
    open_ = [o for o in spec.options if o.name not in given and o.kind is not Kind.FILE]
    choices = [c for o in open_ if o.kind is Kind.CHOICE for c in o.choices]
    hint = _closest(word.lower(), choices)
    member = next((o for o in open_ if o.kind is Kind.MEMBER), None)
    if member is not None and hint is None and _NAME.fullmatch(word):
        return CommandError(
            f"To name a member, put @ before the name: `/{spec.name} @{shown(word)}`."
        )
    taken = next((o for o in spec.options if o.name in given and _accepts(o, word)), None)
    if taken is not None and taken.kind is not Kind.TEXT:
        return CommandError(
            f"`{shown(word)}` would be `{taken.name}`, which is already "
            f"`{shown(given[taken.name])}`. Give `{taken.name}` once."
        )
    if not open_:
        return CommandError(
            f"`{shown(word)}` is one word too many: every option of `/{spec.name}` is given. "
            "Put a value with spaces in quotes."
        )
    lines = [f"`{o.name}` takes {accepted(o) or 'text'}" for o in open_ if o.positional]
    lines += [f"`{o.name}` is always written `{o.name}:…`" for o in open_ if not o.positional]
    maybe = f" Did you mean `{hint}`?" if hint else ""
    return CommandError(
        f"`{shown(word)}` fits no option of `/{spec.name}`: {'; '.join(lines)}.{maybe}"
    )


def _accepts(option: Option, word: str) -> bool:
    """Whether a bare word could be meant for this option (choices must match)."""
    if option.kind is Kind.CHOICE:
        return word.lower() in option.choices
    if option.kind is Kind.INT:
        return _INTEGER.fullmatch(word) is not None
    if option.kind is Kind.MEMBER:
        return word.startswith(("<@", "@"))
    if option.kind is Kind.CHANNEL:
        return word.startswith(("<#", "#"))
    if option.kind is Kind.ROLE:
        return word.startswith("<@&") or word.isdigit() or word == "off"
    return True


def normalise(spec: CommandSpec, raw: Mapping[str, object]) -> dict[str, str | int]:
    """Check and convert option values, whether parsed from text or typed by the platform."""
    out: dict[str, str | int] = {}
    by_name = {o.name: o for o in spec.options}
    for name, value in raw.items():
        option = by_name.get(name)
        if option is None:
            raise CommandError(f"`/{spec.name}` has no option `{shown(name)}`.")
        text = str(value).strip()
        if "\x00" in text:  # PostgreSQL cannot store it, and no one means to type it
            raise CommandError(f"`{name}` contains a NUL character; remove it and try again.")
        if len(text) > MAX_VALUE_CHARS and option.kind is not Kind.FILE:
            raise CommandError(
                f"`{name}` is {len(text):,} characters long; the limit is {MAX_VALUE_CHARS}."
            )
        out[name] = _convert(option, text)
    for option in spec.options:
        if option.required and option.name not in out:
            raise CommandError(
                f"`/{spec.name}` needs `{option.name}` ({option.help.lower()}). "
                f"Usage: `{spec.usage}`"
            )
    return out


def _convert(option: Option, value: str) -> str | int:
    if option.kind is Kind.CHOICE:
        lowered = value.lower()
        if lowered in option.choices:
            return lowered
        hint = _closest(lowered, option.choices)
        maybe = f" Did you mean `{hint}`?" if hint else ""
        raise CommandError(
            f"`{option.name}` got `{shown(value)}`, expected one of: "
            f"{', '.join(option.choices)}.{maybe}"
        )
    if option.kind is Kind.INT:
        return _integer(option, value)
    if not value:
        raise CommandError(f"`{option.name}` is empty; give it a value like `{option.name}:…`.")
    if option.kind in (Kind.MEMBER, Kind.CHANNEL, Kind.ROLE):
        if option.kind is Kind.ROLE:
            found = _role(option, value)
        else:
            found = _reference(option, value, "@" if option.kind is Kind.MEMBER else "#")
        if len(found) > MAX_ID_CHARS:
            raise CommandError(
                f"`{option.name}` got `{shown(value)}`: names and ids have at most "
                f"{MAX_ID_CHARS} characters."
            )
        return found
    return value


def _role(option: Option, value: str) -> str:
    role = re.fullmatch(r"<@&([0-9]+)>|([0-9]+)|(off)", value)
    if role is None:
        raise CommandError(f"`{option.name}` got `{shown(value)}`, expected a role (@Role) or off.")
    return next(g for g in role.groups() if g)


def _integer(option: Option, value: str) -> int:
    """A whole number within the option's range, which is never wider than ``INT_MAX``;
    thousands of digits are refused without being converted."""
    low = -INT_MAX if option.minimum is None else option.minimum
    high = INT_MAX if option.maximum is None else option.maximum
    match = _INTEGER.fullmatch(value)
    if match is None:
        raise CommandError(f"`{option.name}` got `{shown(value)}`, expected a whole number.")
    digits = match.group(2).lstrip("0") or "0"
    if len(digits) > len(str(INT_MAX)):  # out of any range: no need to read it
        too = "at least" if match.group(1) == "-" else "at most"
        bound = low if match.group(1) == "-" else high
        raise CommandError(f"`{option.name}` got `{shown(value)}`, expected {too} {bound}.")
    number = int(match.group(1) + digits)
    if number < low:
        raise CommandError(f"`{option.name}` got {number}, expected at least {low}.")
    if number > high:
        raise CommandError(f"`{option.name}` got {number}, expected at most {high}.")
    return number


_REFERENCE = re.compile(r"^<([@#])!?&?([A-Za-z0-9_.-]+)(?:\|[^>]*)?>$")


def _reference(option: Option, value: str, sigil: str) -> str:
    """A platform mention (<@U1>, <@U1|name>, <#C1|name>) or a plain @name / #name / id."""
    match = _REFERENCE.match(value)
    if match:
        if match.group(1) != sigil:
            what = "a member (@name)" if sigil == "@" else "a channel (#name)"
            raise CommandError(f"`{option.name}` got `{shown(value)}`, expected {what}.")
        return match.group(2)
    plain = value[1:] if value.startswith(sigil) else value
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", plain):
        what = "a member like @alice" if sigil == "@" else "a channel like #general"
        raise CommandError(f"`{option.name}` got `{shown(value)}`, expected {what}.")
    return plain.lower() if not value.startswith("<") and plain != plain.upper() else plain
