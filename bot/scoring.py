"""Points, streaks and mastery: pure rules, no I/O. README "How points work" mirrors this."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CORRECT = {"easy": 10, "medium": 15, "hard": 20}
TAKING_PART = 2  # a wrong answer to a channel drop still counts for showing up
EARLY_BONUS = 3  # a right answer within the first hour of a drop
EARLY_WINDOW = timedelta(hours=1)
OPEN_ANSWER = 5  # submitting an open answer to a channel drop
PER_VOTE = 2  # each member (other than the author) who reacts to an open answer
VOTES_COUNTED = 5  # votes beyond this earn nothing more, so popularity cannot run away
PRACTICE_CORRECT = 1  # a right answer in /practice, /review or /quiz
PRACTICE_DAILY_CAP = 10  # practice points per member per local day
MOCK_COMPLETED = 20  # a mock interview both partners confirm happened
FEEDBACK_GIVEN = 10  # feedback submitted to a partner
MILESTONES = (7, 30, 100)  # streak lengths announced in the channel


def choice_points(
    *, correct: bool, difficulty: str, after: timedelta | None = None, hinted: bool = False
) -> int:
    """A channel drop: points by difficulty when right, a little for taking part when not,
    and a bonus for a right answer in the drop's first hour (``after`` = time since posting).
    After the hint, a right answer earns half and no bonus."""
    if not correct:
        return TAKING_PART
    if hinted:
        return CORRECT[difficulty] // 2
    early = after is not None and after <= EARLY_WINDOW
    return CORRECT[difficulty] + (EARLY_BONUS if early else 0)


def practice_points(*, correct: bool, earned_today: int) -> int:
    """Personal practice: small, and capped per day so the board cannot be farmed."""
    if not correct or earned_today >= PRACTICE_DAILY_CAP:
        return 0
    return min(PRACTICE_CORRECT, PRACTICE_DAILY_CAP - earned_today)


def open_points(*, votes: int) -> int:
    return OPEN_ANSWER + PER_VOTE * min(max(votes, 0), VOTES_COUNTED)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def periods(at: datetime, tz: ZoneInfo, season: int | None = None) -> tuple[str, ...]:
    """The score periods a moment belongs to, in the workspace's time zone, and the season
    running then (its number), if any.

    Weeks start on Monday. Keys sort chronologically as text.
    """
    local = at.astimezone(tz).date()
    calendar = ("all", f"week:{monday(local).isoformat()}", f"month:{local.strftime('%Y-%m')}")
    return calendar if season is None else (*calendar, season_period(season))


def season_period(number: int) -> str:
    """The score period of a workspace's season number ``number``."""
    return f"season:{number}"


def period_key(kind: str, at: datetime, tz: ZoneInfo) -> str:
    """The key of the current ``week``, ``month`` or ``all`` period."""
    return dict(zip(("all", "week", "month"), periods(at, tz), strict=True))[kind]


@dataclass(frozen=True)
class Streak:
    current: int
    best: int
    last_day: date
    freeze_week: date | None  # the Monday of the week whose freeze was used

    @property
    def milestone(self) -> int | None:
        return self.current if self.current in MILESTONES else None


def missed_days(last_day: date, day: date, excused: Collection[date] = ()) -> list[date]:
    """The days strictly between ``last_day`` and ``day`` that count against a streak: every
    day in between but the excused ones (away, or the bot missed a drop). Stops at two, the
    most a streak can survive being one (a freeze)."""
    missed: list[date] = []
    for n in range(1, (day - last_day).days):
        between = last_day + timedelta(days=n)
        if between not in excused:
            missed.append(between)
            if len(missed) == 2:
                break
    return missed


def extend_streak(
    streak: Streak | None, day: date, excused: Collection[date] = frozenset()
) -> Streak:
    """Count an active local day. Excused days in between neither break nor grow the
    streak; one other missed day a week is bridged by a freeze."""
    if streak is None:
        return Streak(1, 1, day, None)
    if day <= streak.last_day:
        return streak  # already counted today (or an out-of-order event)
    missed = missed_days(streak.last_day, day, excused)
    if not missed:
        current, freeze = streak.current + 1, streak.freeze_week
    elif len(missed) == 1 and streak.freeze_week != monday(missed[0]):
        current, freeze = streak.current + 1, monday(missed[0])
    else:
        current, freeze = 1, streak.freeze_week
    return Streak(current, max(streak.best, current), day, freeze)


def alive(streak: Streak | None, today: date, excused: Collection[date] = frozenset()) -> int:
    """The streak as it stands today: still alive if today or a freezable gap can save it.
    Excused days (away, or the bot missed a drop) do not count as missed."""
    if streak is None:
        return 0
    missed = missed_days(streak.last_day, today, excused)
    if not missed:
        return streak.current
    if len(missed) == 1 and streak.freeze_week != monday(missed[0]):
        return streak.current
    return 0


MASTERY_FULL = 10  # reviewed questions in a topic for full coverage


def mastery(retrievabilities: list[float]) -> float:
    """0..1: how well a member knows a topic, from their review cards.

    The mean recall probability of their cards, scaled by coverage, so one lucky answer is
    not mastery: ten or more reviewed questions count fully.
    """
    if not retrievabilities:
        return 0.0
    recall = sum(retrievabilities) / len(retrievabilities)
    return recall * min(1.0, len(retrievabilities) / MASTERY_FULL)
