"""Points: pure rules, no I/O. README "How points work" mirrors this module."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

CORRECT = {"easy": 10, "medium": 15, "hard": 20}
TAKING_PART = 2  # a wrong answer to a channel drop still counts for showing up
OPEN_ANSWER = 5  # submitting an open answer to a channel drop
PER_VOTE = 2  # each member (other than the author) who reacts to an open answer
VOTES_COUNTED = 5  # votes beyond this earn nothing more, so popularity cannot run away


def choice_points(*, correct: bool, difficulty: str) -> int:
    return CORRECT[difficulty] if correct else TAKING_PART


def open_points(*, votes: int) -> int:
    return OPEN_ANSWER + PER_VOTE * min(max(votes, 0), VOTES_COUNTED)


def periods(at: datetime, tz: ZoneInfo) -> tuple[str, ...]:
    """The score periods a moment belongs to, in the workspace's time zone.

    Weeks start on Monday. Keys sort chronologically as text.
    """
    local = at.astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())
    return ("all", f"week:{monday.isoformat()}", f"month:{local.strftime('%Y-%m')}")
