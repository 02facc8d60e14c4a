"""Confidence: after a multiple-choice answer, "How sure were you?" and calibration.

The private reply to every multiple-choice answer (a channel drop, `/quiz`, `/practice`)
carries three buttons: guessing, fairly sure, certain. Their ids are
``sure:<level>:<drop id>:<member's user id>``, so a press by anyone else is refused without a
lookup. The first press is stored in ``answers.confidence``; a second changes nothing.

The FSRS rating (``rating``): wrong → Again whatever the confidence; right and certain →
Easy; right and fairly sure → Good; right and guessing → Hard. The confidence replaces the
speed rule (a fast right answer is Easy only when no confidence is given).

Why re-rate rather than wait: the review is written when the answer is saved, with today's
rule, so a member who never presses a button still has their card scheduled; a press then
re-rates that very review (``practice.rerate`` replays the question's reviews with the new
rating). Waiting for the press would leave every unrated answer unreviewed.

Calibration: each level stands for a probability of being right, guessing 0.33, fairly sure
0.67, certain 0.95. The Brier score is the mean of (probability − outcome)² over the rated
answers, outcome 1 if right and 0 if wrong: 0 is perfect, and always saying 50 % would score
0.25. Answers on channel drops still awaiting their reveal are left out, so neither /stats nor
the board gives away whether an answer was right before the reveal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import fsrs
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Action, Button, MemberRef, Reply, Style, Tone, plural
from bot.context import Context
from bot.features import drops as drops_feature
from bot.features import hints, practice
from bot.handlers import UNKNOWN_BUTTON, Feature
from bot.store import sql
from bot.store.prepared import Prepared
from bot.store.schema import answers, drops, members

PREFIX = "sure"
GUESSING = "guessing"
FAIRLY_SURE = "fairly-sure"
CERTAIN = "certain"
LEVELS = (GUESSING, FAIRLY_SURE, CERTAIN)
LABELS = {GUESSING: "Guessing", FAIRLY_SURE: "Fairly sure", CERTAIN: "Certain"}
# The chance of being right each level claims, for the Brier score.
PROBABILITY = {GUESSING: 0.33, FAIRLY_SURE: 0.67, CERTAIN: 0.95}
QUESTION = "How sure were you?"
BOARD_MINIMUM = 20  # rated answers before a member is ranked on the calibration board


def rating(*, correct: bool, level: str) -> fsrs.Rating:
    """The FSRS rating of an answer the member said they were ``level`` sure of."""
    if not correct:
        return fsrs.Rating.Again
    return {CERTAIN: fsrs.Rating.Easy, GUESSING: fsrs.Rating.Hard}.get(level, fsrs.Rating.Good)


def button_id(level: str, drop_id: int, user_id: str) -> str:
    return f"{PREFIX}:{level}:{drop_id}:{user_id}"


def parse_id(action_id: str) -> tuple[str, int, str] | None:
    """(level, drop id, user id) from a button id, or None if it is not one of ours."""
    parts = action_id.split(":", 3)
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] not in LEVELS:
        return None
    if not parts[2].isdigit() or not parts[3]:
        return None
    return parts[1], int(parts[2]), parts[3]


def buttons(drop_id: int, member: MemberRef) -> tuple[Button, ...]:
    """The "How sure were you?" row under a member's answer."""
    return tuple(
        Button(LABELS[level], button_id(level, drop_id, member.user_id), Style.SECONDARY)
        for level in LEVELS
    )


@dataclass(frozen=True)
class Calibration:
    """A member's rated answers: per level, (rated, right)."""

    levels: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def rated(self) -> int:
        return sum(n for n, _right in self.levels.values())

    @property
    def brier(self) -> float | None:
        """Mean (probability − outcome)²; None with nothing rated."""
        if not self.rated:
            return None
        total = sum(
            right * (PROBABILITY[level] - 1) ** 2 + (n - right) * PROBABILITY[level] ** 2
            for level, (n, right) in self.levels.items()
        )
        return total / self.rated

    def summary(self) -> str:
        """Per level the share right, then the Brier score: "Guessing 50% right (2) ·
        Certain 75% right (4) · Brier 0.225 (lower is better)"."""
        parts = []
        for level in LEVELS:
            n, right = self.levels.get(level, (0, 0))
            if n:
                parts.append(f"{LABELS[level]} {round(100 * right / n)}% right ({n})")
        brier = self.brier
        if brier is not None:
            parts.append(f"Brier {brier:.3f} (lower is better)")
        return " · ".join(parts)


def _counted() -> list[ColumnElement[bool]]:
    """Rated multiple-choice answers whose outcome is no secret: private questions, and
    channel drops already revealed."""
    return [
        answers.c.confidence.is_not(None),
        answers.c.correct.is_not(None),
        or_(drops.c.private_to.is_not(None), drops.c.revealed_at.is_not(None)),
    ]


def _tally(rows: Iterable[Sequence[Any]]) -> dict[str, Calibration]:
    """Calibrations by user id from rows of (user id, level, correct, count)."""
    counts: dict[str, dict[str, list[int]]] = {}
    for user_id, level, correct, n in (tuple(row) for row in rows):
        if level not in PROBABILITY:
            continue
        tally = counts.setdefault(str(user_id), {}).setdefault(str(level), [0, 0])
        tally[0] += int(n)
        tally[1] += int(n) if correct else 0
    return {
        user: Calibration({level: (n, right) for level, (n, right) in levels.items()})
        for user, levels in counts.items()
    }


def _grouped() -> Select[Any]:
    return (
        select(answers.c.user_id, answers.c.confidence, answers.c.correct, func.count())
        .select_from(answers.join(drops, drops.c.id == answers.c.drop_id))
        .group_by(answers.c.user_id, answers.c.confidence, answers.c.correct)
    )


_MEMBER_CALIBRATION = Prepared(_grouped().where(*sql.by_member(answers), *_counted()))


async def calibration(conn: AsyncConnection, member: MemberRef) -> Calibration:
    """The member's calibration (empty if they rated nothing yet)."""
    rows = await _MEMBER_CALIBRATION.all(conn, sql.member_params(member))
    return _tally(tuple(row.values()) for row in rows).get(member.user_id, Calibration())


async def board(
    conn: AsyncConnection, ref: MemberRef, *, minimum: int = BOARD_MINIMUM
) -> list[tuple[str, str, Calibration]]:
    """Members of the workspace with at least ``minimum`` rated answers, best calibrated
    (lowest Brier score) first; ties by more rated answers, then by user id."""
    query = _grouped().where(*sql.of_workspace(answers, ref), *_counted())
    found = {
        user: cal
        for user, cal in _tally((await conn.execute(query)).all()).items()
        if cal.rated >= minimum
    }
    if not found:
        return []
    names = dict(
        (
            await conn.execute(
                select(members.c.user_id, members.c.display_name).where(
                    *sql.of_workspace(members, ref), members.c.user_id.in_(list(found))
                )
            )
        ).all()
    )
    ranked = sorted(found.items(), key=lambda kv: (kv[1].brier or 0.0, -kv[1].rated, kv[0]))
    return [(user, str(names.get(user) or user), cal) for user, cal in ranked]


# ---- the buttons ------------------------------------------------------------------------


def _someone_elses() -> Reply:
    return Reply.error(
        "Those buttons belong to someone else's answer, so only they can say how sure they "
        "were. Answer a question yourself to get your own."
    )


async def on_action(ctx: Context, action: Action) -> Reply:
    """Record how sure the member was of their answer, once, and re-rate its review."""
    parsed = parse_id(action.action_id)
    if parsed is None:
        return Reply.error(UNKNOWN_BUTTON)
    level, drop_id, owner = parsed
    member = action.member.ref
    if member.user_id != owner:
        return _someone_elses()
    async with ctx.engine.begin() as conn:
        drop = await drops_feature.load(conn, drop_id, lock=True)
        if drop is None or (drop.place.platform, drop.place.workspace_id) != (
            member.platform,
            member.workspace_id,
        ):
            return Reply.error("That answer no longer exists, so there is nothing to rate.")
        row = (
            (
                await conn.execute(
                    select(answers).where(answers.c.drop_id == drop_id, answers.c.user_id == owner)
                )
            )
            .mappings()
            .first()
        )
        if row is None or row["correct"] is None:
            return Reply.error(
                "There is no multiple-choice answer of yours to this question to rate."
            )
        if row["confidence"] is not None:
            return _already(str(row["confidence"]))
        public = drop.private_to is None
        if public and not drop.is_open:
            return Reply.error(
                f"Drop #{drop_id} has been revealed, so it is too late to say how sure you "
                "were: the answer is known now. Rate your next answer before its reveal."
            )
        done = await conn.execute(
            answers.update()
            .where(answers.c.id == row["id"], answers.c.confidence.is_(None))
            .values(confidence=level)
        )
        if not done.rowcount:  # a second press raced past the check above
            return _already(level)
        due = await practice.rerate(
            conn,
            member=member,
            question_id=str(row["question_id"]),
            reviewed_at=row["answered_at"],
            given=hints.capped(
                rating(correct=bool(row["correct"]), level=level),
                hinted=await hints.used(conn, drop_id, owner),
            ),
        )
    return _noted(level, public=public, due=due, now=ctx.clock.now())


def _already(level: str) -> Reply:
    return Reply.text(
        f"You already said **{LABELS.get(level, level).lower()}** for this answer, and the "
        "first choice stands, so nothing changed."
    )


def _noted(level: str, *, public: bool, due: datetime | None, now: datetime) -> Reply:
    said = f"Noted: **{LABELS[level].lower()}**."
    if public:  # before the reveal, nothing may hint whether the answer was right
        return Reply.text(
            f"{said} The reveal shows whether you were right; `/stats` shows how well your "
            "confidence matches your results.",
            tone=Tone.GOOD,
        )
    days = max(1, round((due - now).total_seconds() / 86400)) if due else None
    back = f" This question now comes back for review in {plural(days, 'day')}." if days else ""
    return Reply.text(
        f"{said}{back} `/stats` shows how well your confidence matches your results.",
        tone=Tone.GOOD,
    )


FEATURE = Feature("confidence", actions={PREFIX: on_action})
