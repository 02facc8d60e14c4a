"""What Tab offers in the console: commands, subcommands, option names and choice values from
the command table, and the console's own verbs with what is on screen (buttons, messages,
members this session has been)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.handlers import CommandSpec, Kind, Option

VERBS = (
    ("as", "become another member: as alice"),
    ("press", "press a button of the newest card with buttons: press 1"),
    ("react", "react to a message; 👍 on an answer is a vote"),
    ("advance", "move simulated time on (studybot run --sim-clock)"),
    ("quit", "leave the console"),
)
REACTIONS = (("👍", "a vote, on an answer"), ("👎", "a thumbs down"))
STEPS = (
    ("next", "to the next timed job"),
    ("30m", "30 minutes"),
    ("2h", "2 hours"),
    ("1d", "1 day"),
    ("7d", "7 days"),
)


@dataclass(frozen=True)
class Candidate:
    text: str  # replaces the word being typed
    meta: str = ""  # a short description shown beside it


@dataclass(frozen=True)
class Hints:
    """What the session can tell about its screen, for completing the console's verbs."""

    names: Sequence[str] = ()  # members this session has been
    buttons: Sequence[tuple[str, str]] = ()  # (number, label) on the newest card with buttons
    cards: Sequence[tuple[str, str]] = ()  # (message id, title): cards with buttons, newest first
    messages: Sequence[tuple[str, str]] = ()  # (message id, title): messages one can react to


def resolve(table: Sequence[CommandSpec], words: Sequence[str]) -> tuple[CommandSpec | None, int]:
    """The command the first words name (``/schedule add …``) and how many words it took."""
    if not words or not words[0].startswith("/"):
        return None, 0
    first = words[0][1:].lower()
    by_name = {spec.name: spec for spec in table}
    if len(words) > 1 and (spec := by_name.get(f"{first} {words[1].lower()}")):
        return spec, 2
    return by_name.get(first), 1


def candidates(
    table: Sequence[CommandSpec], before: str, hints: Hints
) -> tuple[str, list[Candidate]]:
    """The word being typed at the end of ``before``, and what could complete it."""
    words = before.split()
    current = "" if not before or before[-1].isspace() else words.pop()
    if not words:
        found = _first_words(table)
    elif words[0].startswith("/"):
        found = _command_words(table, words, current, hints)
    else:
        found = _verb_words(words, hints)
    wanted = current.lower()
    return current, [c for c in found if c.text.lower().startswith(wanted)]


def _first_words(table: Sequence[CommandSpec]) -> list[Candidate]:
    found = [Candidate(f"{verb} ", meta) for verb, meta in VERBS]
    groups: dict[str, list[CommandSpec]] = {}
    for spec in table:
        groups.setdefault(spec.name.split()[0], []).append(spec)
    for top, specs in groups.items():
        subs = [s.name.split()[1] for s in specs if " " in s.name]
        meta = f"subcommands: {', '.join(subs)}" if subs else specs[0].help
        found.append(Candidate(f"/{top} ", meta))
    return found


def _command_words(
    table: Sequence[CommandSpec], words: Sequence[str], current: str, hints: Hints
) -> list[Candidate]:
    first = words[0][1:].lower()
    if len(words) == 1:
        subs = [s for s in table if s.name.startswith(f"{first} ")]
        if subs:
            return [Candidate(f"{s.name.split()[1]} ", s.help) for s in subs]
    spec, used = resolve(table, words)
    if spec is None:
        return []
    rest = [w.lower() for w in words[used:]]
    if ":" in current:
        name = current.partition(":")[0].lower()
        option = next((o for o in spec.options if o.name == name), None)
        values = _values(option, hints) if option else []
        return [Candidate(f"{name}:{value} ", meta) for value, meta in values]
    found = []
    for option in spec.options:
        given = any(w.startswith(f"{option.name}:") for w in rest)
        if option.kind is Kind.CHOICE and option.positional:
            given = given or any(w in option.choices for w in rest)
            if not given:
                found += [Candidate(f"{choice} ", option.name) for choice in option.choices]
        if not given:
            found.append(Candidate(f"{option.name}:", option.help))
    return found


def _values(option: Option, hints: Hints) -> list[tuple[str, str]]:
    if option.kind is Kind.CHOICE:
        return [(choice, option.name) for choice in option.choices]
    if option.kind is Kind.MEMBER:
        return [(f"@{name.lower()}", "a member") for name in hints.names]
    return []


def _verb_words(words: Sequence[str], hints: Hints) -> list[Candidate]:
    verb, position = words[0].lower(), len(words)
    if verb == "as" and position == 1:
        return [Candidate(f"{name} ") for name in hints.names]
    if verb == "press" and position == 1:
        return [Candidate(f"{number} ", label) for number, label in hints.buttons]
    if verb == "press" and position == 2:
        return [Candidate(f"{message_id} ", title) for message_id, title in hints.cards]
    if verb == "react" and position == 1:
        return [Candidate(f"{emoji} ", meta) for emoji, meta in REACTIONS]
    if verb == "react" and position == 2:
        return [Candidate(f"{message_id} ", title) for message_id, title in hints.messages]
    if verb == "advance" and position == 1:
        return [Candidate(f"{step} ", meta) for step, meta in STEPS]
    return []
