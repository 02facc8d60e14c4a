"""Reading what admins type for times: schedules, time zones, durations. Pure functions.

Schedules are stored as five-field cron with weekday *names*, so the crontab meaning of
numeric weekdays (0 and 7 are Sunday) survives APScheduler 3.x, which counts 0 as Monday.

Everything here is bounded: a schedule or duration is refused past 120 characters, numbers
past a handful of digits, zone names past 64 characters, and a cron that does not fire within
four years is refused when it is entered, so no later next-run computation can search the
calendar to the year 9999.
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

MAX_SPEC_CHARS = 120  # a schedule, as typed and as stored (the column's width)
MAX_ZONE_CHARS = 64  # the longest IANA name is about half that
MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(days=14)  # reveal delays
_MAX_DURATION_DIGITS = 7  # per number in a duration; anything longer is out of range anyway
FIRES_WITHIN = timedelta(days=4 * 366)  # a cron must fire this soon: every leap day counts


class SpecError(ValueError):
    """What the admin typed cannot be understood; the message says how to fix it."""


def _quote(text: str, limit: int = 40) -> str:
    """What the admin typed, shortened for an error message."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("`", "'")


@dataclass(frozen=True)
class Spec:
    text: str  # normalised, as shown back to admins
    cron: str  # minute hour day month day-of-week


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


@cache
def _zones_by_lower() -> dict[str, str]:
    return {z.lower(): z for z in (*_zones(), "UTC")}


def _loads(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def parse_timezone(name: str) -> str:
    """An IANA zone name, matched without regard to case; only names of the installed
    time-zone database are looked up, so no other text ever reaches the file system."""
    if len(name) > MAX_ZONE_CHARS:
        raise SpecError(
            f"`{_quote(name)}` is not a time zone: names have at most {MAX_ZONE_CHARS} "
            "characters. Use an IANA name like Europe/Berlin."
        )
    zone = _zones_by_lower().get(name.lower())
    if zone is not None and _loads(zone):
        return zone
    close = difflib.get_close_matches(name, _zones(), n=3, cutoff=0.5)
    if not close:  # "Berlin" → Europe/Berlin: match the city part
        close = [z for z in _zones() if z.split("/")[-1].lower() == name.lower()][:3]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise SpecError(
        f"Unknown time zone `{_quote(name)}`.{hint} Use an IANA name like Europe/Berlin."
    )


def _time(text: str) -> tuple[int, int]:
    match = _TIME.match(text)
    if not match:
        raise SpecError(
            f"`{_quote(text)}` is not a time. Write HH:MM on a 24-hour clock, e.g. 09:00."
        )
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
    raise SpecError(f"`{_quote(text)}` is not a day. Use mon, tue, wed, thu, fri, sat or sun.")


def parse_spec(text: str, *, now: datetime | None = None) -> Spec:
    """``daily HH:MM``, ``weekdays HH:MM``, ``weekly DAY HH:MM`` or ``cron M H DOM MON DOW``.

    A cron must fire within ``FIRES_WITHIN`` of ``now`` (default: the current time)."""
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(
            f"That schedule is {len(text):,} characters long; the limit is {MAX_SPEC_CHARS}. "
            + _USAGE
        )
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
        return _cron(words[1:], now or datetime.now(UTC))
    raise SpecError(_USAGE)


_USAGE = (
    "Say when as `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`, or "
    "`cron 0 9 * * 1-5` (minute hour day-of-month month day-of-week)."
)


_NUMERIC_DAYS = re.compile(r"^(\*|[0-9]+(?:-[0-9]+)?)(?:/([0-9]+))?$")


def _crontab_weekdays(field: str) -> str:
    """Turn crontab weekday numbers (0/7 = Sunday) into names APScheduler reads correctly.

    Numeric ranges and steps (``0-6``, ``*/2``) become lists of names, as crontab means them.
    """

    def number(digits: str) -> int:
        if len(digits) > 1 or int(digits) > 7:
            raise SpecError(
                f"Cron field 5 (day of week) `{_quote(field)}`: {_quote(digits, 12)} is not 0-7."
            )
        return int(digits)

    def part(text: str) -> str:
        if text == "*":
            return text
        match = _NUMERIC_DAYS.match(text)
        if match is None:  # names, or names mixed with numbers (mon-5)
            return re.sub(r"[0-9]+", lambda m: _CRONTAB_DAYS[number(m.group(0))], text)
        span, step_text = match.group(1), match.group(2)
        if step_text is not None and (len(step_text) > 1 or step_text == "0"):
            raise SpecError(f"Cron field 5 (day of week) `{_quote(field)}`: steps go from 1 to 7.")
        ends = span.split("-")
        first = 0 if span == "*" else number(ends[0])
        last = 6 if span == "*" or (step_text and len(ends) == 1) else number(ends[-1])
        if first > last:
            raise SpecError(
                f"Cron field 5 (day of week) `{_quote(field)}`: the range {span} runs backwards."
            )
        if step_text is None and first >= 1:  # Monday onwards reads the same in APScheduler
            return "-".join(dict.fromkeys((_CRONTAB_DAYS[first], _CRONTAB_DAYS[last])))
        days = range(first, last + 1, int(step_text or 1))
        return ",".join(_CRONTAB_DAYS[d] for d in days)

    return ",".join(dict.fromkeys(",".join(part(p) for p in field.split(",")).split(",")))


def _cron(fields: list[str], now: datetime) -> Spec:
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
    if len(text) > MAX_SPEC_CHARS:  # weekday numbers written out as names can grow it
        raise SpecError(
            f"That cron schedule is {len(text)} characters once weekdays are written as names; "
            f"the limit is {MAX_SPEC_CHARS}. Use ranges (1-5) rather than long lists."
        )
    _check_fires(text, fields, now)
    return Spec(text, " ".join(fields))


def _check_fires(text: str, fields: list[str], now: datetime) -> None:
    """Refuse a cron that never fires (``0 0 30 2 *``): searching for its next run would
    otherwise walk the calendar to the year 9999 each time. The search here is bounded."""
    minute, hour, day, month, day_of_week = fields
    try:
        trigger = CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=day_of_week,
            timezone=UTC,
            end_date=now + FIRES_WITHIN,
        )
        nxt = trigger.get_next_fire_time(None, now)
    except ValueError as exc:
        raise SpecError(f"`{text}` is not a valid schedule: {exc}.") from None
    if nxt is None:
        raise SpecError(
            f"`{text}` would not fire in the next four years: no date then has day of month "
            f"`{day}` in month `{month}` on day of week `{day_of_week}`. Check the day against "
            "the month (February has at most 29 days; April, June, September and November 30)."
        )


def parse_duration(
    text: str, *, minimum: timedelta = MIN_DURATION, maximum: timedelta = MAX_DURATION
) -> timedelta:
    """``2h``, ``90m``, ``1d``, ``1h30m``, from ``minimum`` to ``maximum``."""
    span = f"from {format_duration(minimum)} to {format_duration(maximum)}"
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"`{_quote(text)}` is too long: give a duration {span}, e.g. 2h.")
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise SpecError(
            f"`{_quote(text)}` is not a duration. Write e.g. 30m, 2h, 1d or 1h30m ({span})."
        )
    if any(g and len(g) > _MAX_DURATION_DIGITS for g in match.groups()):
        raise SpecError(f"`{_quote(text)}` is too long: give a duration {span}.")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    delta = timedelta(minutes=(days * 24 + hours) * 60 + minutes)  # at most ~10^10 minutes
    if delta < minimum:
        raise SpecError(f"`{_quote(text)}` is too short: give a duration {span}.")
    if delta > maximum:
        raise SpecError(f"`{_quote(text)}` is too long: give a duration {span}.")
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
    raise SpecError(f"`{_quote(word)}` is not a day. Use weekdays, weekends, daily, or mon … sun.")


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
                f"`{_quote(chunk)}`: say days and a time, e.g. `weekday evenings` or "
                "`sat 10:00-12:00`."
            )
        days_text, when = " ".join(words[:-1]), words[-1]
        days = _days_of(days_text)
        if when in PARTS or when.rstrip("s") + "s" in PARTS:
            start_text, end_text = PARTS[when if when in PARTS else when.rstrip("s") + "s"]
        else:
            match = _RANGE.match(when)
            if not match:
                raise SpecError(
                    f"`{_quote(when)}` is not a time of day. Use mornings, afternoons, evenings, "
                    "or a range like 18:00-20:00."
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
