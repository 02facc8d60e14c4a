"""Reading what admins type for times: schedules, time zones, durations. Pure functions.

Schedules are stored as five-field cron with weekday *names*, so the crontab meaning of
numeric weekdays (0 and 7 are Sunday) survives APScheduler 3.x, which counts 0 as Monday.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.cron import CronTrigger

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # 0..7
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?$")


class SpecError(ValueError):
    """What the admin typed cannot be understood; the message says how to fix it."""


@dataclass(frozen=True)
class Spec:
    text: str  # normalised, as shown back to admins
    cron: str  # minute hour day month day-of-week


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def parse_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    else:
        if name in _zones() or name == "UTC":
            return name
    by_lower = {z.lower(): z for z in _zones()}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name, _zones(), n=3, cutoff=0.5)
    if not close:  # "Berlin" → Europe/Berlin: match the city part
        close = [z for z in _zones() if z.split("/")[-1].lower() == name.lower()][:3]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise SpecError(f"Unknown time zone `{name}`.{hint} Use an IANA name like Europe/Berlin.")


def _time(text: str) -> tuple[int, int]:
    match = _TIME.match(text)
    if not match:
        raise SpecError(f"`{text}` is not a time. Write HH:MM on a 24-hour clock, e.g. 09:00.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23:
        raise SpecError(f"`{text}` is not a time: hours go from 00 to 23. E.g. 09:00 or 21:30.")
    if minute > 59:
        raise SpecError(f"`{text}` is not a time: minutes go from 00 to 59.")
    return hour, minute


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(text: str) -> str:
    key = text.lower()
    if key in DAYS:
        return key
    if key in _FULL_DAYS:
        return DAYS[_FULL_DAYS.index(key)]
    raise SpecError(f"`{text}` is not a day. Use mon, tue, wed, thu, fri, sat or sun.")


def parse_spec(text: str) -> Spec:
    """``daily HH:MM``, ``weekdays HH:MM``, ``weekly DAY HH:MM`` or ``cron M H DOM MON DOW``."""
    words = text.split()
    if not words:
        raise SpecError(_USAGE)
    head = words[0].lower()
    if head in ("daily", "weekdays") and len(words) == 2:
        hour, minute = _time(words[1])
        days = "*" if head == "daily" else "mon-fri"
        return Spec(f"{head} {hour:02d}:{minute:02d}", f"{minute} {hour} * * {days}")
    if head == "weekly" and len(words) == 3:
        day = _day(words[1])
        hour, minute = _time(words[2])
        return Spec(f"weekly {day} {hour:02d}:{minute:02d}", f"{minute} {hour} * * {day}")
    if head == "cron":
        return _cron(words[1:])
    raise SpecError(_USAGE)


_USAGE = (
    "Say when as `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`, or "
    "`cron 0 9 * * 1-5` (minute hour day-of-month month day-of-week)."
)


def _crontab_weekdays(field: str) -> str:
    """Turn crontab weekday numbers (0/7 = Sunday) into names APScheduler reads correctly."""

    def name(match: re.Match[str]) -> str:
        number = int(match.group(0))
        if number > 7:
            raise SpecError(f"Cron field 5 (day of week) `{field}`: {number} is not 0-7.")
        return _CRONTAB_DAYS[number]

    return re.sub(r"\d+", name, field)


def _cron(fields: list[str]) -> Spec:
    if len(fields) != 5:
        raise SpecError(
            f"A cron schedule has 5 fields (minute hour day-of-month month day-of-week); "
            f"got {len(fields)}. E.g. `cron 30 8 * * mon-fri`."
        )
    fields = [*fields[:4], _crontab_weekdays(fields[4].lower())]
    names = ("minute", "hour", "day", "month", "day_of_week")
    for i, (value, name) in enumerate(zip(fields, names, strict=True)):
        try:
            CronTrigger(**{name: value})
        except ValueError as exc:
            raise SpecError(
                f"Cron field {i + 1} ({_FIELDS[i]}) `{value}` is not valid: {exc}."
            ) from None
    text = "cron " + " ".join(fields)
    return Spec(text, " ".join(fields))


def parse_duration(text: str) -> timedelta:
    """``2h``, ``90m``, ``1d``, ``1h30m``."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise SpecError(f"`{text}` is not a duration. Write e.g. 30m, 2h, 1d or 1h30m.")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    delta = timedelta(days=days, hours=hours, minutes=minutes)
    if delta < timedelta(minutes=5):
        raise SpecError(f"`{text}` is too short; give members at least 5 minutes.")
    if delta > timedelta(days=14):
        raise SpecError(f"`{text}` is too long; reveals can wait at most 14 days.")
    return delta


def format_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = (
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    )
    return "".join(parts) or "0m"


# ---- weekly availability ("weekday evenings, sat 10:00-12:00") -------------------------

PARTS = {
    "mornings": ("08:00", "12:00"),
    "afternoons": ("12:00", "17:00"),
    "evenings": ("18:00", "22:00"),
}
_DAY_GROUPS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekday": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": tuple(range(7)),
    "every day": tuple(range(7)),
}
_RANGE = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class Weekly:
    """A recurring window in the member's own time zone: on these weekdays, start to end."""

    days: tuple[int, ...]  # 0 = Monday
    start: tuple[int, int]
    end: tuple[int, int]

    def text(self) -> str:
        names = {v: k for k, v in _DAY_GROUPS.items() if k in ("weekdays", "weekends", "daily")}
        days = names.get(self.days) or ",".join(DAYS[d] for d in self.days)
        return f"{days} {self.start[0]:02d}:{self.start[1]:02d}-{self.end[0]:02d}:{self.end[1]:02d}"


def _days_of(word: str) -> tuple[int, ...]:
    if word in _DAY_GROUPS:
        return _DAY_GROUPS[word]
    singular = word.rstrip("s")
    if singular in DAYS:
        return (DAYS.index(singular),)
    if word in _FULL_DAYS or singular in _FULL_DAYS:
        return (_FULL_DAYS.index(word if word in _FULL_DAYS else singular),)
    raise SpecError(f"`{word}` is not a day. Use weekdays, weekends, daily, or mon … sun.")


def parse_availability(text: str) -> tuple[Weekly, ...]:
    """Comma-separated windows: ``weekday evenings``, ``weekend mornings``,
    ``sat 10:00-12:00``. Parts of day: mornings 08-12, afternoons 12-17, evenings 18-22."""
    windows = []
    for chunk in (c.strip().lower() for c in text.split(",")):
        if not chunk:
            continue
        words = chunk.split()
        if len(words) < 2:
            raise SpecError(
                f"`{chunk}`: say days and a time, e.g. `weekday evenings` or `sat 10:00-12:00`."
            )
        days_text, when = " ".join(words[:-1]), words[-1]
        days = _days_of(days_text)
        if when in PARTS or when.rstrip("s") + "s" in PARTS:
            start_text, end_text = PARTS[when if when in PARTS else when.rstrip("s") + "s"]
        else:
            match = _RANGE.match(when)
            if not match:
                raise SpecError(
                    f"`{when}` is not a time of day. Use mornings, afternoons, evenings, or a "
                    "range like 18:00-20:00."
                )
            start_text, end_text = match.group(1), match.group(2)
        start, end = _time(start_text), _time(end_text)
        if end <= start:
            raise SpecError(f"`{when}` ends before it starts; windows cannot cross midnight.")
        windows.append(Weekly(days, start, end))
    if not windows:
        raise SpecError("Give at least one window, e.g. `weekday evenings, weekend mornings`.")
    return tuple(windows)


def expand(
    windows: tuple[Weekly, ...], tz: str, start: datetime, days: int = 7
) -> tuple[tuple[datetime, datetime], ...]:
    """The absolute (UTC) times these weekly windows cover in the ``days`` from ``start``."""
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).date()
    out = []
    for n in range(days + 1):
        day = first + timedelta(days=n)
        for window in windows:
            if day.weekday() not in window.days:
                continue
            begin = datetime.combine(day, dt_time(*window.start), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, dt_time(*window.end), tzinfo=zone).astimezone(UTC)
            if end > start and begin < start + timedelta(days=days):
                out.append((max(begin, start), min(end, start + timedelta(days=days))))
    return tuple(sorted(out))
