"""When a member is free for mock interviews, read as people type it. Pure functions.

``evenings``, ``weekday evenings``, ``mon-fri 18:00-21:00``, ``sat 10-12``, ``tue, thu 6-9pm``
and ``weekends`` (all day) all read; what was understood is shown back in one normal form
(``weekdays 18:00-22:00, sat 10:00-12:00``) that reads again to the same windows. Parts of
the day: mornings 08–12, afternoons 12–17, evenings 18–22, all day 08–22, in the member's
own time zone. Every refusal says what was not understood and gives an example.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from bot.timespec import DAYS, SpecError, Weekly

MAX_WINDOWS = 21  # three a day: more is never needed and would only slow the matcher
MAX_CHARS = 300  # the normal form, as a profile stores it
WORKING_DAY = ((8, 0), (22, 0))  # "all day", and a day named without a time
PARTS = {
    "morning": ((8, 0), (12, 0)),
    "afternoon": ((12, 0), (17, 0)),
    "evening": ((18, 0), (22, 0)),
    "allday": WORKING_DAY,
    "anytime": WORKING_DAY,
}
EXAMPLE = "e.g. `weekday evenings, sat 10-12` or `mon-fri 18:00-21:00`"

_GROUPS = {
    "weekday": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "anyday": tuple(range(7)),
    "allweek": tuple(range(7)),
}
_GROUP_NAMES = {(0, 1, 2, 3, 4): "weekdays", (5, 6): "weekends", tuple(range(7)): "daily"}
_DAY_WORDS = {
    **{d: i for i, d in enumerate(DAYS)},
    **{
        name: i
        for i, names in enumerate(
            (
                ("monday",),
                ("tues", "tuesday"),
                ("weds", "wednesday"),
                ("thur", "thurs", "thursday"),
                ("friday",),
                ("saturday",),
                ("sunday",),
            )
        )
        for name in names
    },
}
_CHUNKS = re.compile(r"[,;\n]+")
_AND = re.compile(r"\s+(?:and|&)\s+")
_PHRASES = re.compile(r"\b(every|any|all)\s+(day|week|time)\b")
_FILLER = re.compile(r"^(?:on|every)\s+|\bevery\s+")
_RANGE = re.compile(r"^(.+?)\s*(?:-|–|—|\bto\b|\buntil\b|\btill\b)\s*(.+)$")
_CLOCK = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$")
_JOINS = re.compile(r"\s*(?:/|&|\+|\band\b)\s*")
_DAY_RANGE = re.compile(r"\s*(?:-|–|—|\bto\b)\s*")


def parse(text: str) -> tuple[Weekly, ...]:
    """The weekly windows in ``text``: comma-separated, each days and a time of day, either
    of which may be left out (``evenings`` is every evening; ``weekends`` is all day).
    Day names written alone before a time share it: ``tue, thu 18-20``."""
    windows: list[Weekly] = []
    waiting: list[int] = []  # days named alone, waiting for the next chunk's time
    for days, spans in _pieces(text):
        if spans is None and days is not None and days not in _GROUP_NAMES:
            waiting.extend(d for d in days if d not in waiting)
            continue
        days = tuple(sorted({*waiting, *(days or (() if waiting else range(7)))}))
        waiting = []
        windows.extend(Weekly(days, start, end) for start, end in spans or (WORKING_DAY,))
    if waiting:
        windows.append(Weekly(tuple(sorted(waiting)), *WORKING_DAY))
    if not windows:
        raise SpecError(f"Say when you are free, {EXAMPLE}.")
    windows = list(dict.fromkeys(windows))  # the same window said twice counts once
    if len(windows) > MAX_WINDOWS:
        raise SpecError(
            f"That is {len(windows)} windows; give at most {MAX_WINDOWS} by naming days "
            "together, e.g. `weekdays 18-21` rather than each day on its own."
        )
    return tuple(windows)


Days = tuple[int, ...]
Span = tuple[tuple[int, int], tuple[int, int]]


def _pieces(text: str) -> Iterator[tuple[Days | None, list[Span] | None]]:
    """(days, spans) per chunk. A chunk that does not read whole but holds "and" is read
    as several: ``weekday evenings and weekend mornings``."""
    for raw in _CHUNKS.split(text):
        chunk = _FILLER.sub("", _PHRASES.sub(r"\1\2", " ".join(raw.lower().split())))
        if not chunk:
            continue
        try:
            yield _chunk(chunk)
        except SpecError:
            parts = [p for p in _AND.split(chunk) if p]
            if len(parts) < 2:
                raise
            for part in parts:
                yield _chunk(part)


def text(windows: Iterable[Weekly]) -> str:
    """Windows in the normal form ``parse`` reads back to the same windows."""
    return ", ".join(f"{days_text(w.days)} {_hhmm(w.start)}-{_hhmm(w.end)}" for w in windows)


def normalise(typed: str) -> str:
    """What the member typed, as it is stored and shown back; raises SpecError, also when
    written out it would not fit the profile's MAX_CHARS."""
    shown = text(parse(typed))
    if len(shown) > MAX_CHARS:
        raise SpecError(
            f"Written out, those times take {len(shown)} characters and a profile keeps "
            f"{MAX_CHARS}: name days together, e.g. `weekdays 18-21` rather than each day on "
            "its own."
        )
    return shown


def days_text(days: Sequence[int]) -> str:
    """``weekdays``, ``weekends``, ``daily``, or days and runs of days: ``mon/wed-fri``."""
    key = tuple(sorted(set(days)))
    if key in _GROUP_NAMES:
        return _GROUP_NAMES[key]
    runs: list[list[int]] = []
    for day in key:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return "/".join(DAYS[r[0]] if len(r) == 1 else f"{DAYS[r[0]]}-{DAYS[r[-1]]}" for r in runs)


def _hhmm(at: tuple[int, int]) -> str:
    return f"{at[0]:02d}:{at[1]:02d}"


def _chunk(chunk: str) -> tuple[Days | None, list[Span] | None]:
    """(days, time spans) of one chunk; None for a part left out. Days come first
    (``sat 10-12``) or last (``evenings on weekdays``)."""
    parts = chunk.split()
    for cut in range(len(parts), 0, -1):  # the longest run of leading words that are days
        days = _days(" ".join(parts[:cut]))
        if days is not None:
            rest = " ".join(parts[cut:])
            return days, (_spans(rest, chunk, days_read=True) if rest else None)
    for cut in range(1, len(parts)):  # or trailing ones: "evenings on weekdays"
        tail = parts[cut + 1 :] if parts[cut] == "on" else parts[cut:]
        days = _days(" ".join(tail)) if tail else None
        if days is not None:
            return days, _spans(" ".join(parts[:cut]), chunk, days_read=True)
    return None, _spans(chunk, chunk, days_read=False)


def _days(words: str) -> Days | None:
    """Days such as ``weekdays``, ``mon-fri``, ``mon/wed``, ``tue & thu``; None if not."""
    found: list[int] = []
    for piece in _JOINS.split(words.strip()):
        ends = _DAY_RANGE.split(piece)
        if len(ends) == 1:
            group = _GROUPS.get(piece.removesuffix("s"))
            one = _day_word(piece)
            if group is not None:
                found.extend(group)
            elif one is not None:
                found.append(one)
            else:
                return None
            continue
        first, last = (_day_word(e) for e in ends) if len(ends) == 2 else (None, None)
        if first is None or last is None:
            return None
        span = (last - first) % 7  # a range may wrap round the week: fri-mon
        found.extend((first + n) % 7 for n in range(span + 1))
    return tuple(sorted(set(found))) if found else None


def _day_word(word: str) -> int | None:
    word = word.strip().rstrip(".")
    return _DAY_WORDS.get(word, _DAY_WORDS.get(word.removesuffix("s")))


def _spans(words: str, chunk: str, *, days_read: bool) -> list[Span]:
    """Times of day: parts (``evenings``, ``mornings and afternoons``, ``all day``) or a
    range (``18:00-21:00``, ``18-21``, ``6-9pm``, ``after 18:00``)."""
    words = words.strip().removeprefix("from ").removeprefix("in the ").strip()
    parts = [p.replace(" ", "").removesuffix("s") for p in _JOINS.split(words)]
    if all(p in PARTS for p in parts):
        return [PARTS[p] for p in dict.fromkeys(parts)]
    start_end = _range(words, chunk)
    if start_end is None:
        what = "a time of day" if days_read else "days or a time of day"
        days = "" if days_read else "days such as weekdays, weekends, daily, sat or mon-fri; "
        raise SpecError(
            f"`{_quote(chunk)}`: `{_quote(words, 24)}` is not {what}. Use {days}mornings "
            "(08–12), afternoons (12–17), evenings (18–22), all day, or hours like `18-21`, "
            f"`18:00-21:00` or `6-9pm`; {EXAMPLE}."
        )
    start, end = start_end
    if end <= start:
        raise SpecError(
            f"`{_quote(chunk)}` ends before it starts: a window stays within one day on a "
            "24-hour clock, e.g. `fri 18:00-23:00` or `sat 10-12`."
        )
    return [(start, end)]


def _range(words: str, chunk: str) -> Span | None:
    """``18-21``, ``18:00 to 21:00``, ``6-9pm``, ``after 18:00``, ``before 12``."""
    for word, fixed in (("after ", "end"), ("before ", "start")):
        if words.startswith(word):
            at = _clock(words.removeprefix(word), chunk)
            if at is None:
                return None
            return (at, WORKING_DAY[1]) if fixed == "end" else (WORKING_DAY[0], at)
    match = _RANGE.match(words)
    if match is None:
        return None
    end = _clock(match.group(2), chunk)
    suffix = _CLOCK.match(match.group(2).strip())
    shared = suffix.group(3) if suffix else None
    start = _clock(match.group(1), chunk, shared=shared, end=end)
    return None if start is None or end is None else (start, end)


def _clock(
    word: str,
    chunk: str,
    *,
    shared: str | None = None,
    end: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """A time: ``18``, ``18:00``, ``9.30``, ``6pm``; None if it is not one. A start without
    am/pm takes the end's (``6-9pm``) unless that puts it after the end (``10-2pm``)."""
    match = _CLOCK.match(word.strip())
    if match is None:
        return None
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if minute > 59 or hour > 24 or (suffix and not 1 <= hour <= 12):
        raise SpecError(
            f"`{_quote(chunk)}`: `{_quote(word, 12)}` is not a time. Write hours from 0 to 23 "
            "(`18`, `18:30`) or with am/pm (`6pm`), e.g. `sat 10-12`."
        )
    if suffix is None and shared is not None and end is not None and 1 <= hour <= 12:
        suffix = shared if (_twelve(hour, shared), minute) < end else "am"
    hour = _twelve(hour, suffix) if suffix else hour
    if hour == 24:
        return (23, 59) if minute == 0 else None  # "until 24": the end of the day
    return hour, minute


def _twelve(hour: int, suffix: str) -> int:
    return hour % 12 + (12 if suffix == "pm" else 0)


def _quote(text: str, limit: int = 40) -> str:
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return short.replace("`", "'")
