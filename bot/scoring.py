"""Points, streaks and mastery: pure rules, no I/O. README "How points work" mirrors this."""

from __future__ import annotations

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


def choice_points(*, correct: bool, difficulty: str, after: timedelta | None = None) -> int:
    """A channel drop: points by difficulty when right, a little for taking part when not,
    and a bonus for a right answer in the drop's first hour (``after`` = time since posting)."""
    if not correct:
        return TAKING_PART
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


def periods(at: datetime, tz: ZoneInfo) -> tuple[str, ...]:
    """The score periods a moment belongs to, in the workspace's time zone.

    Weeks start on Monday. Keys sort chronologically as text.
    """
    local = at.astimezone(tz).date()
    return ("all", f"week:{monday(local).isoformat()}", f"month:{local.strftime('%Y-%m')}")


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


def extend_streak(streak: Streak | None, day: date) -> Streak:
    """Count an active local day. One missed day a week is bridged by a freeze."""
    if streak is None:
        return Streak(1, 1, day, None)
    if day <= streak.last_day:
        return streak  # already counted today (or an out-of-order event)
    gap = (day - streak.last_day).days
    missed = streak.last_day + timedelta(days=1)
    freeze_free = streak.freeze_week != monday(missed)
    if gap == 1:
        current, freeze = streak.current + 1, streak.freeze_week
    elif gap == 2 and freeze_free:
        current, freeze = streak.current + 1, monday(missed)
    else:
        current, freeze = 1, streak.freeze_week
    return Streak(current, max(streak.best, current), day, freeze)


def alive(streak: Streak | None, today: date) -> int:
    """The streak as it stands today: still alive if today or a freezable gap can save it."""
    if streak is None:
        return 0
    gap = (today - streak.last_day).days
    if gap <= 1:
        return streak.current
    missed = streak.last_day + timedelta(days=1)
    if gap == 2 and streak.freeze_week != monday(missed):
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
