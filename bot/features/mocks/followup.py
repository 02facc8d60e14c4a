"""After a session: did it happen, rubric feedback to the partner, and the admin report."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import scoring
from bot.chat import (
    Action,
    Button,
    Card,
    Field,
    Form,
    FormField,
    FormSubmit,
    MemberRef,
    Reply,
    Style,
    Tone,
    clip,
    plural,
)
from bot.context import Context, workspace_tz
from bot.features import settings
from bot.features.mocks import drafting as drafting_
from bot.features.mocks.groups import MockGroup, display_names, dm, load_group
from bot.features.mocks.policy import MISSED_TO_PAUSE, pauses_after
from bot.handlers import UNKNOWN_BUTTON, UNKNOWN_FORM, Invocation
from bot.store import sql
from bot.store.schema import (
    mock_checkins,
    mock_feedback,
    mock_groups,
    mock_packets,
    mock_profiles,
    mock_rounds,
)
from questions.extras import rubrics

FOLLOW_UP_ACTION = "mock-follow-up"  # the timer that asks whether a session happened
ASK_AGAIN_AFTER = timedelta(hours=48)

# Ids are parsed whole and bounded: a forged one is an unknown button or form, never an error.
_CHECKIN = re.compile(r"mock:([0-9]{1,10}):(yes|notyet|no|feedback|write|draft|edit)")
# "Give feedback"; with the AI reviewer on, it offers "Write feedback" and "Draft from my
# notes", and a draft comes with "Edit and send" (features/mocks/drafting.py).
_FEEDBACK_STEPS = ("feedback", "write", "draft", "edit")
_FEEDBACK_FORM = re.compile(r"mock:([0-9]{1,10}):feedback:([a-z0-9_-]{1,40})")
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on PostgreSQL
FEEDBACK_CHARS = 500  # each of "what went well" and "to improve"
SCORES_CHARS = 40


class FeedbackError(ValueError):
    """The feedback form cannot be sent as filled in; the message says what to fix."""


@dataclass(frozen=True)
class Feedback:
    """Rubric feedback for a partner, checked."""

    scores: tuple[tuple[str, int], ...]  # (dimension, 1..4), in the rubric's order
    strength: str
    improve: str


@dataclass(frozen=True)
class MockStats:
    """A workspace's mock interviews in numbers, for /mock report."""

    rounds: int
    groups: int
    trios: int
    repeats: int  # groups with a pair who met within the matcher's memory
    answers: tuple[str | None, ...]  # one per check-in: yes, no, notyet, or None (not asked)
    scores: tuple[Mapping[str, int], ...]  # one per feedback given: dimension → 1..4
    opted_in: int
    waiting: int  # opted in but not placed, after the last round


# --- did it happen ---------------------------------------------------------------------------


async def follow_up(ctx: Context, payload: Mapping[str, object]) -> None:
    """After the session window: ask each member who has not answered whether it happened."""
    group_id = int(str(payload["group_id"]))
    only = payload.get("user_id")
    async with ctx.engine.connect() as conn:
        group = await load_group(conn, group_id)
        if group is None:
            return
        pending = await _unanswered(conn, group_id)
        names = await display_names(conn, group.platform, group.workspace_id, group.members)
    for user in pending:
        if only is None or user == only:
            await dm(ctx, group.ref(user), _did_it_happen(group, user, names))


async def _unanswered(conn: AsyncConnection, group_id: int) -> Sequence[str]:
    query = select(mock_checkins.c.user_id).where(
        mock_checkins.c.group_id == group_id,
        (mock_checkins.c.answer.is_(None)) | (mock_checkins.c.answer == "notyet"),
    )
    return (await conn.scalars(query)).all()


def _did_it_happen(group: MockGroup, user: str, names: Mapping[str, str]) -> Card:
    others = " and ".join(names[p] for p in group.partners_of(user))
    return Card(
        title="Did your mock interview happen?",
        body=f"Your mock with {others} (round {group.round_id}).",
        buttons=(
            Button("Yes", f"mock:{group.id}:yes", Style.SUCCESS),
            Button("Not yet", f"mock:{group.id}:notyet"),
            Button("No", f"mock:{group.id}:no", Style.DANGER),
        ),
        tone=Tone.QUESTION,
    )


async def on_action(ctx: Context, action: Action) -> Reply:
    """A check-in button: yes, not yet, no, or Give feedback after a yes."""
    match = _CHECKIN.fullmatch(action.action_id)
    if match is None or int(match.group(1)) > MAX_ID:
        return Reply.error(UNKNOWN_BUTTON)
    group_id, answer = int(match.group(1)), match.group(2)
    ref = action.member.ref
    if answer in _FEEDBACK_STEPS:
        return await _feedback_step(ctx, group_id, ref, answer)
    async with ctx.engine.begin() as conn:
        await _lock(conn, group_id)  # partners answering at once are counted one after another
        group = await load_group(conn, group_id)
        checkin = await _checkin(conn, group_id, ref.user_id)
        if group is None or checkin is None or not _in_workspace(group, ref):
            return Reply.error("That mock interview is not yours.")
        if checkin.answer in ("yes", "no"):
            return Reply.text("You already answered; thanks.")
        said = await _record_answer(ctx, conn, group=group, ref=ref, answer=answer)
        names = await display_names(conn, group.platform, group.workspace_id, group.members)
    if answer == "notyet":
        await _ask_again_later(ctx, group_id, ref)
        return Reply.text("No problem: I'll ask again in two days.")
    if answer == "no":
        return _missed_reply(said.missed)
    for user in said.paid:
        if user != ref.user_id:  # they confirmed first and were waiting for this
            await dm(ctx, group.ref(user), _confirmed_card(names[ref.user_id]))
    return _completed_reply(group, ref.user_id, said, names)


async def _lock(conn: AsyncConnection, group_id: int) -> None:
    """Hold the group's row until commit (PostgreSQL; SQLite's writers already queue), so
    two partners confirming at the same moment each see the other's answer or come after it."""
    await conn.execute(
        select(mock_groups.c.id).where(mock_groups.c.id == group_id).with_for_update()
    )


def _in_workspace(group: MockGroup, ref: MemberRef) -> bool:
    """Whether the group belongs to the member's workspace: user ids repeat across
    workspaces, so a forged id from another must not reach this one's sessions."""
    return (group.platform, group.workspace_id) == (ref.platform, ref.workspace_id)


async def _checkin(conn: AsyncConnection, group_id: int, user_id: str) -> Row[Any] | None:
    """The member's check-in for the group (its ``answer`` None until they answer)."""
    query = select(mock_checkins.c.answer).where(
        mock_checkins.c.group_id == group_id, mock_checkins.c.user_id == user_id
    )
    return (await conn.execute(query)).first()


async def _feedback_step(ctx: Context, group_id: int, ref: MemberRef, step: str) -> Reply:
    """Give feedback (or, with drafting on, write it / draft it / edit the draft)."""
    async with ctx.engine.connect() as conn:
        group = await load_group(conn, group_id)
        checkin = await _checkin(conn, group_id, ref.user_id)
        kind = await conn.scalar(
            select(mock_packets.c.kind).where(
                mock_packets.c.group_id == group_id, mock_packets.c.interviewer == ref.user_id
            )
        )
    if group is None or checkin is None or not _in_workspace(group, ref):
        return Reply.error("That mock interview is not yours.")
    if checkin.answer != "yes":
        return Reply.text("Say it happened first.")
    form = _feedback_form(group_id, kind or "technical")
    drafting = await settings.active_reviewer(ctx, ref.platform, ref.workspace_id) is not None
    if step == "feedback" and drafting:
        return Reply(card=drafting_.choice_card(group_id))
    if step == "draft" and drafting:
        return Reply(form=drafting_.notes_form(group_id, kind or "technical"))
    if step == "edit":
        form = await drafting_.drafted_form(ctx, group_id, ref.user_id, form)
    return Reply(form=form)


@dataclass(frozen=True)
class Answered:
    """What a check-in answer did."""

    missed: int = 0  # after a no: sessions missed in a row
    paid: tuple[str, ...] = ()  # after a yes: members given the session's points just now
    confirmed: tuple[str, ...] = ()  # after a yes: partners who had said yes before
    declined: tuple[str, ...] = ()  # after a yes: partners who said it did not happen


async def _record_answer(
    ctx: Context, conn: AsyncConnection, *, group: MockGroup, ref: MemberRef, answer: str
) -> Answered:
    """Save the answer. A no counts a missed session, and pauses the member at
    MISSED_TO_PAUSE. A yes clears missed sessions; the points come when a partner confirms
    too: the second yes pays both, and in a trio a third yes pays its own sender."""
    await conn.execute(
        update(mock_checkins)
        .where(mock_checkins.c.group_id == group.id, mock_checkins.c.user_id == ref.user_id)
        .values(answer=answer)
    )
    where = [*sql.of_workspace(mock_profiles, ref), mock_profiles.c.user_id == ref.user_id]
    if answer == "no":
        await conn.execute(
            update(mock_profiles)
            .where(*where)
            .values(missed_in_row=mock_profiles.c.missed_in_row + 1)
        )
        missed = int(await conn.scalar(select(mock_profiles.c.missed_in_row).where(*where)) or 0)
        if pauses_after(missed):
            await conn.execute(update(mock_profiles).where(*where).values(active=False))
        return Answered(missed=missed)
    if answer != "yes":
        return Answered()
    await conn.execute(update(mock_profiles).where(*where).values(missed_in_row=0))
    others = dict(
        (
            await conn.execute(
                select(mock_checkins.c.user_id, mock_checkins.c.answer).where(
                    mock_checkins.c.group_id == group.id, mock_checkins.c.user_id != ref.user_id
                )
            )
        ).all()
    )
    confirmed = [user for user, said in others.items() if said == "yes"]
    paid: tuple[str, ...] = ()  # nobody before this yes: the points wait for a partner's
    if len(confirmed) == 1:  # the second yes: both are paid, the first one waited for it
        paid = (ref.user_id, confirmed[0])
    elif confirmed:  # a trio's third yes: the others were paid at the second
        paid = (ref.user_id,)
    tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
    for user in paid:
        await sql.add_score(
            conn,
            member=group.ref(user),
            topic="mock",
            at=ctx.clock.now(),
            tz=tz,
            points=scoring.MOCK_COMPLETED,
        )
    declined = tuple(user for user, said in others.items() if said == "no")
    return Answered(paid=paid, confirmed=tuple(confirmed), declined=declined)


async def _ask_again_later(ctx: Context, group_id: int, ref: MemberRef) -> None:
    await ctx.jobs.schedule_at(
        key=f"mock-follow-up:{group_id}:{ref.user_id}",
        when=ctx.clock.now() + ASK_AGAIN_AFTER,
        action=FOLLOW_UP_ACTION,
        payload={"group_id": group_id, "user_id": ref.user_id},
        platform=ref.platform,
        workspace_id=ref.workspace_id,
    )


def _missed_reply(missed: int) -> Reply:
    if pauses_after(missed):
        return Reply.text(
            f"Thanks for saying. That's {MISSED_TO_PAUSE} missed sessions in a row, so I've "
            "paused your mock interviews. `/mock join` resumes them whenever you're ready."
        )
    return Reply.text("Thanks for saying; I hope the next one works out.")


def _completed_reply(
    group: MockGroup, user_id: str, said: Answered, names: Mapping[str, str]
) -> Reply:
    """After a yes: the points if a partner had confirmed too, else when they will come."""
    points = scoring.MOCK_COMPLETED
    if user_id in said.paid:
        title = f"Great: +{points} points"
        confirmed = " and ".join(names[p] for p in said.confirmed)
        body = f"{confirmed} confirmed too, so the {points} points are yours."
    elif said.declined:
        title = "Thanks: noted"
        body = (
            f"{' and '.join(names[p] for p in said.declined)} said it did not happen, so there "
            f"are no points for this one: the {points} points need both partners to confirm."
        )
    else:
        title = "Thanks: noted"
        partners = " or ".join(names[p] for p in group.partners_of(user_id))
        body = f"Your {points} points come as soon as {partners} confirms it happened too."
    return Reply(
        card=Card(
            title=title,
            body=body + " Give your partner feedback with the rubric: it's the most useful part.",
            buttons=(Button("Give feedback", f"mock:{group.id}:feedback", Style.PRIMARY),),
            tone=Tone.GOOD,
        )
    )


def _confirmed_card(name: str) -> Card:
    """To a member who confirmed first, once a partner confirms too."""
    return Card(
        title=f"Mock interview confirmed: +{scoring.MOCK_COMPLETED} points",
        body=f"{name} confirmed it happened too. Thanks for practising together.",
        tone=Tone.GOOD,
    )


# --- feedback --------------------------------------------------------------------------------


def _feedback_form(group_id: int, kind: str) -> Form:
    dims = [d.name for d in rubrics()[kind].dimensions]
    return Form(
        form_id=f"mock:{group_id}:feedback:{kind}",
        title="Feedback for your partner",
        fields=(
            FormField(
                "scores",
                clip(f"Scores 1-4 for: {', '.join(dims)}", 45),
                multiline=False,
                max_length=40,
                placeholder=" ".join("3" for _ in dims),
            ),
            FormField("strength", "One thing they did well", max_length=500),
            FormField("improve", "One thing to improve", max_length=500),
        ),
    )


def read_feedback(values: Mapping[str, str], dims: Sequence[str]) -> Feedback:
    """The feedback form's values: a score from 1 to 4 per rubric dimension, in order, one
    strength and one thing to improve. Raises FeedbackError saying what to fix."""
    given = values.get("scores", "")
    raw = given.replace(",", " ").split() if len(given) <= SCORES_CHARS else []
    if len(raw) != len(dims) or any(s not in ("1", "2", "3", "4") for s in raw):
        shown = given if len(given) <= SCORES_CHARS else given[: SCORES_CHARS - 1] + "…"
        shown = shown.replace("`", "'")
        raise FeedbackError(
            f"Scores: give {len(dims)} numbers from 1 to 4, one per dimension in order "
            f"({', '.join(dims)}); got `{shown}`. Nothing was sent; "
            "press Give feedback again."
        )
    strength = values.get("strength", "").strip()
    improve = values.get("improve", "").strip()
    if not strength or not improve:
        raise FeedbackError("Give one strength and one thing to improve. Nothing was sent.")
    for label, text in (("What went well", strength), ("To improve", improve)):
        if len(text) > FEEDBACK_CHARS:
            raise FeedbackError(
                f"{label} has {len(text):,} characters; the limit is {FEEDBACK_CHARS}. "
                "Nothing was sent; shorten it and press Give feedback again."
            )
    scores = tuple(zip(dims, (int(s) for s in raw), strict=True))
    return Feedback(scores=scores, strength=strength, improve=improve)


def feedback_card(giver: str, feedback: Feedback) -> Card:
    """What the partner receives, privately."""
    return Card(
        title=f"Feedback from {giver}",
        fields=(
            *(Field(d, f"{s}/4") for d, s in feedback.scores),
            Field("What went well", feedback.strength),
            Field("To improve", feedback.improve),
        ),
        tone=Tone.GOOD,
    )


async def on_feedback(ctx: Context, submit: FormSubmit) -> Reply:
    """The feedback form: checked, kept once per member and session, sent to the partner."""
    match = _FEEDBACK_FORM.fullmatch(submit.form_id)
    rubric = rubrics().get(match.group(2)) if match else None
    if match is None or rubric is None or int(match.group(1)) > MAX_ID:
        return Reply.error(UNKNOWN_FORM)
    group_id, kind = int(match.group(1)), match.group(2)
    try:
        feedback = read_feedback(submit.values, [d.name for d in rubric.dimensions])
    except FeedbackError as exc:
        return Reply.error(str(exc))
    ref = submit.member.ref
    async with ctx.engine.begin() as conn:
        group = await load_group(conn, group_id)
        if group is None or ref.user_id not in group.members or not _in_workspace(group, ref):
            return Reply.error("That mock interview is not yours.")
        to = await _feedback_receiver(conn, group, ref.user_id)
        saved = await _save_feedback(ctx, conn, group_id, ref, to=to, kind=kind, feedback=feedback)
        if not saved:
            return Reply.text("You already sent feedback for this session; thanks.")
        names = await display_names(conn, ref.platform, ref.workspace_id, [ref.user_id])
    await dm(
        ctx,
        MemberRef(ref.platform, ref.workspace_id, to),
        feedback_card(names[ref.user_id], feedback),
    )
    return Reply.text(
        "Sent privately to your partner. +10 points for giving feedback.", tone=Tone.GOOD
    )


async def _feedback_receiver(conn: AsyncConnection, group: MockGroup, user_id: str) -> str:
    """Whom the member interviewed (or, failing a packet, their first partner)."""
    interviewed = await conn.scalar(
        select(mock_packets.c.candidate).where(
            mock_packets.c.group_id == group.id, mock_packets.c.interviewer == user_id
        )
    )
    return interviewed or group.partners_of(user_id)[0]


async def _save_feedback(
    ctx: Context,
    conn: AsyncConnection,
    group_id: int,
    ref: MemberRef,
    *,
    to: str,
    kind: str,
    feedback: Feedback,
) -> bool:
    """Keep the feedback and give the points, unless the member already sent it."""
    added = await sql.insert_ignore(
        conn,
        mock_feedback,
        {
            "group_id": group_id,
            "platform": ref.platform,
            "workspace_id": ref.workspace_id,
            "user_id": ref.user_id,
            "to_user_id": to,
            "kind": kind,
            "scores": json.dumps(dict(feedback.scores)),
            "strength": feedback.strength,
            "improve": feedback.improve,
            "created_at": ctx.clock.now(),
        },
        keys=("group_id", "user_id"),
    )
    if not added:
        return False
    tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
    await sql.add_score(
        conn, member=ref, topic="mock", at=ctx.clock.now(), tz=tz, points=scoring.FEEDBACK_GIVEN
    )
    await conn.execute(
        update(mock_checkins)
        .where(mock_checkins.c.group_id == group_id, mock_checkins.c.user_id == ref.user_id)
        .values(feedback_given=True)
    )
    return True


# --- the admin report ------------------------------------------------------------------------


async def report_command(ctx: Context, inv: Invocation) -> Reply:
    async with ctx.engine.connect() as conn:
        stats = await _stats(conn, inv.member.ref)
    return Reply(card=report_card(stats))


async def _stats(conn: AsyncConnection, ref: MemberRef) -> MockStats:
    rounds = await conn.scalar(select(func.count()).where(*sql.of_workspace(mock_rounds, ref)))
    groups = (
        await conn.execute(
            select(mock_groups.c.observer, mock_groups.c.repeat).where(
                *sql.of_workspace(mock_groups, ref)
            )
        )
    ).all()
    answers = (
        await conn.scalars(
            select(mock_checkins.c.answer).where(*sql.of_workspace(mock_checkins, ref))
        )
    ).all()
    feedback = (
        await conn.scalars(
            select(mock_feedback.c.scores).where(*sql.of_workspace(mock_feedback, ref))
        )
    ).all()
    waiting = await conn.scalar(
        select(mock_rounds.c.waiting)
        .where(*sql.of_workspace(mock_rounds, ref))
        .order_by(mock_rounds.c.id.desc())
        .limit(1)
    )
    opted_in = await conn.scalar(
        select(func.count()).where(
            *sql.of_workspace(mock_profiles, ref), mock_profiles.c.active.is_(True)
        )
    )
    return MockStats(
        rounds=int(rounds or 0),
        groups=len(groups),
        trios=sum(1 for g in groups if g.observer),
        repeats=sum(1 for g in groups if g.repeat),
        answers=tuple(answers),
        scores=tuple(json.loads(text) for text in feedback),
        opted_in=int(opted_in or 0),
        waiting=int(waiting or 0),
    )


def completion(answers: Sequence[str | None]) -> str:
    """The share of check-ins confirmed as happened, or "-" before any."""
    if not answers:
        return "-"
    yes = answers.count("yes")
    return f"{round(100 * yes / len(answers))}% ({yes} of {len(answers)} confirmed)"


def average_scores(scores: Iterable[Mapping[str, int]]) -> str:
    """The mean score per rubric dimension over all feedback, or "-" before any."""
    totals: dict[str, list[int]] = {}
    for given in scores:
        for dim, score in given.items():
            totals.setdefault(dim, []).append(score)
    return " · ".join(f"{d} {sum(v) / len(v):.1f}" for d, v in totals.items()) or "-"


def report_card(stats: MockStats) -> Card:
    repeat_rate = f"{round(100 * stats.repeats / stats.groups)}%" if stats.groups else "-"
    return Card(
        title="Mock interviews report",
        fields=(
            Field("Rounds", str(stats.rounds)),
            Field("Groups", f"{stats.groups} ({plural(stats.trios, 'trio')})"),
            Field("Completion", completion(stats.answers)),
            Field("Average rubric scores", average_scores(stats.scores)),
            Field("Repeat rate", repeat_rate),
            Field(
                "People",
                f"{stats.opted_in} opted in; {stats.waiting} waiting after the last round",
            ),
        ),
        tone=Tone.INFO,
    )
