"""After a session: did it happen, rubric feedback to the partner, and the admin report."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from sqlalchemy import func, select, update

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
)
from bot.context import Context, workspace_tz
from bot.features.mocks.common import (
    ASK_AGAIN_AFTER,
    FOLLOW_UP_ACTION,
    MISSED_TO_PAUSE,
    display_names,
    dm,
    load_group,
    partners,
)
from bot.handlers import Invocation
from bot.store import ops
from bot.store.schema import (
    mock_checkins,
    mock_feedback,
    mock_groups,
    mock_packets,
    mock_profiles,
    mock_rounds,
)
from questions.extras import rubrics


async def follow_up(ctx: Context, payload: Mapping[str, object]) -> None:
    """After the session window: ask each member who has not answered whether it happened."""
    group_id = int(str(payload["group_id"]))
    only = payload.get("user_id")
    async with ctx.engine.connect() as conn:
        group = await load_group(conn, group_id)
        if group is None:
            return
        pending = (
            await conn.scalars(
                select(mock_checkins.c.user_id).where(
                    mock_checkins.c.group_id == group_id,
                    (mock_checkins.c.answer.is_(None)) | (mock_checkins.c.answer == "notyet"),
                )
            )
        ).all()
        names = await display_names(
            conn,
            group["platform"],
            group["workspace_id"],
            [m for m in (group["interviewer"], group["candidate"], group["observer"]) if m],
        )
    for user in pending:
        if only is not None and user != only:
            continue
        others = " and ".join(names[p] for p in partners(group, user))
        await dm(
            ctx,
            MemberRef(group["platform"], group["workspace_id"], user),
            Card(
                title="Did your mock interview happen?",
                body=f"Your mock with {others} (round {group['round_id']}).",
                buttons=(
                    Button("Yes", f"mock:{group_id}:yes", Style.SUCCESS),
                    Button("Not yet", f"mock:{group_id}:notyet"),
                    Button("No", f"mock:{group_id}:no", Style.DANGER),
                ),
                tone=Tone.QUESTION,
            ),
        )


_CHECKIN = re.compile(r"^mock:(\d+):(yes|notyet|no|feedback)$")


async def on_action(ctx: Context, action: Action) -> Reply:
    match = _CHECKIN.match(action.action_id)
    if match is None:
        return Reply.error("That button is no longer understood.")
    group_id, answer = int(match.group(1)), match.group(2)
    ref = action.member.ref
    async with ctx.engine.begin() as conn:
        group = await load_group(conn, group_id)
        checkin = (
            (
                await conn.execute(
                    select(mock_checkins).where(
                        mock_checkins.c.group_id == group_id,
                        mock_checkins.c.user_id == ref.user_id,
                    )
                )
            )
            .mappings()
            .first()
        )
        if group is None or checkin is None:
            return Reply.error("That mock interview is not yours.")
        if answer == "feedback":
            if checkin["answer"] != "yes":
                return Reply.text("Say it happened first.")
            kind = await conn.scalar(
                select(mock_packets.c.kind).where(
                    mock_packets.c.group_id == group_id, mock_packets.c.interviewer == ref.user_id
                )
            )
            return Reply(form=_feedback_form(group_id, kind or "technical"))
        if checkin["answer"] in ("yes", "no"):
            return Reply.text("You already answered; thanks.")
        await conn.execute(
            update(mock_checkins)
            .where(
                mock_checkins.c.group_id == group_id,
                mock_checkins.c.user_id == ref.user_id,
            )
            .values(answer=answer)
        )
        where = [*ops.of_workspace(mock_profiles, ref), mock_profiles.c.user_id == ref.user_id]
        missed = 0
        if answer == "yes":
            await conn.execute(update(mock_profiles).where(*where).values(missed_in_row=0))
            tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
            await ops.add_score(
                conn,
                member=ref,
                topic="mock",
                at=ctx.clock.now(),
                tz=tz,
                points=scoring.MOCK_COMPLETED,
            )
        elif answer == "no":
            await conn.execute(
                update(mock_profiles)
                .where(*where)
                .values(missed_in_row=mock_profiles.c.missed_in_row + 1)
            )
            missed = int(
                await conn.scalar(select(mock_profiles.c.missed_in_row).where(*where)) or 0
            )
            if missed >= MISSED_TO_PAUSE:
                await conn.execute(update(mock_profiles).where(*where).values(active=False))
    if answer == "notyet":
        await ctx.jobs.schedule_at(
            key=f"mock-follow-up:{group_id}:{ref.user_id}",
            when=ctx.clock.now() + ASK_AGAIN_AFTER,
            action=FOLLOW_UP_ACTION,
            payload={"group_id": group_id, "user_id": ref.user_id},
            platform=ref.platform,
            workspace_id=ref.workspace_id,
        )
        return Reply.text("No problem: I'll ask again in two days.")
    if answer == "no":
        if missed >= MISSED_TO_PAUSE:
            return Reply.text(
                f"Thanks for saying. That's {MISSED_TO_PAUSE} missed sessions in a row, so I've "
                "paused your mock interviews. `/mock join` resumes them whenever you're ready."
            )
        return Reply.text("Thanks for saying; I hope the next one works out.")
    return Reply(
        card=Card(
            title="Great: +20 points",
            body="Give your partner feedback with the rubric: it's the most useful part.",
            buttons=(Button("Give feedback", f"mock:{group_id}:feedback", Style.PRIMARY),),
            tone=Tone.GOOD,
        )
    )


def _feedback_form(group_id: int, kind: str) -> Form:
    dims = [d.name for d in rubrics()[kind].dimensions]
    return Form(
        form_id=f"mock:{group_id}:feedback:{kind}",
        title="Feedback for your partner",
        fields=(
            FormField(
                "scores",
                f"Scores 1-4 for: {', '.join(dims)}"[:45],
                multiline=False,
                max_length=40,
                placeholder=" ".join("3" for _ in dims),
            ),
            FormField("strength", "One thing they did well", max_length=500),
            FormField("improve", "One thing to improve", max_length=500),
        ),
    )


async def on_feedback(ctx: Context, submit: FormSubmit) -> Reply:
    parts = submit.form_id.split(":")
    group_id, kind = int(parts[1]), parts[3]
    dims = [d.name for d in rubrics()[kind].dimensions]
    raw = submit.values.get("scores", "").replace(",", " ").split()
    if len(raw) != len(dims) or any(s not in ("1", "2", "3", "4") for s in raw):
        return Reply.error(
            f"Scores: give {len(dims)} numbers from 1 to 4, one per dimension in order "
            f"({', '.join(dims)}); got `{submit.values.get('scores', '')}`. Nothing was sent; "
            "press Give feedback again."
        )
    strength = submit.values.get("strength", "").strip()
    improve = submit.values.get("improve", "").strip()
    if not strength or not improve:
        return Reply.error("Give one strength and one thing to improve. Nothing was sent.")
    ref = submit.member.ref
    async with ctx.engine.begin() as conn:
        group = await load_group(conn, group_id)
        if group is None or ref.user_id not in (
            group["interviewer"],
            group["candidate"],
            group["observer"],
        ):
            return Reply.error("That mock interview is not yours.")
        to = (
            await conn.scalar(
                select(mock_packets.c.candidate).where(
                    mock_packets.c.group_id == group_id,
                    mock_packets.c.interviewer == ref.user_id,
                )
            )
        ) or partners(group, ref.user_id)[0]
        added = await ops.insert_ignore(
            conn,
            mock_feedback,
            {
                "group_id": group_id,
                "platform": ref.platform,
                "workspace_id": ref.workspace_id,
                "user_id": ref.user_id,
                "to_user_id": to,
                "kind": kind,
                "scores": json.dumps(dict(zip(dims, (int(s) for s in raw), strict=True))),
                "strength": strength,
                "improve": improve,
                "created_at": ctx.clock.now(),
            },
            keys=("group_id", "user_id"),
        )
        if not added:
            return Reply.text("You already sent feedback for this session; thanks.")
        tz = await workspace_tz(conn, ref.platform, ref.workspace_id)
        await ops.add_score(
            conn, member=ref, topic="mock", at=ctx.clock.now(), tz=tz, points=scoring.FEEDBACK_GIVEN
        )
        await conn.execute(
            update(mock_checkins)
            .where(
                mock_checkins.c.group_id == group_id,
                mock_checkins.c.user_id == ref.user_id,
            )
            .values(feedback_given=True)
        )
        giver = (await display_names(conn, ref.platform, ref.workspace_id, [ref.user_id]))[
            ref.user_id
        ]
    await dm(
        ctx,
        MemberRef(ref.platform, ref.workspace_id, to),
        Card(
            title=f"Feedback from {giver}",
            fields=(
                *(Field(d, f"{s}/4") for d, s in zip(dims, raw, strict=True)),
                Field("What went well", strength),
                Field("To improve", improve),
            ),
            tone=Tone.GOOD,
        ),
    )
    return Reply.text(
        "Sent privately to your partner. +10 points for giving feedback.", tone=Tone.GOOD
    )


async def report_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    async with ctx.engine.connect() as conn:
        rounds = int(
            await conn.scalar(select(func.count()).where(*ops.of_workspace(mock_rounds, ref))) or 0
        )
        groups = (
            await conn.execute(
                select(mock_groups.c.id, mock_groups.c.observer, mock_groups.c.repeat).where(
                    *ops.of_workspace(mock_groups, ref)
                )
            )
        ).all()
        answers = (
            (
                await conn.execute(
                    select(mock_checkins.c.answer).where(*ops.of_workspace(mock_checkins, ref))
                )
            )
            .scalars()
            .all()
        )
        feedback = (
            await conn.scalars(
                select(mock_feedback.c.scores).where(*ops.of_workspace(mock_feedback, ref))
            )
        ).all()
        waiting = await conn.scalar(
            select(mock_rounds.c.waiting)
            .where(*ops.of_workspace(mock_rounds, ref))
            .order_by(mock_rounds.c.id.desc())
            .limit(1)
        )
        opted = int(
            await conn.scalar(
                select(func.count()).where(
                    *ops.of_workspace(mock_profiles, ref), mock_profiles.c.active.is_(True)
                )
            )
            or 0
        )
    asked = [a for a in answers if a is not None]
    completion = (
        (
            f"{round(100 * asked.count('yes') / len(answers))}% "
            f"({asked.count('yes')} of {len(answers)} confirmed)"
        )
        if answers
        else "-"
    )
    totals: dict[str, list[int]] = {}
    for text in feedback:
        for dim, score in json.loads(text).items():
            totals.setdefault(dim, []).append(score)
    averages = " · ".join(f"{d} {sum(v) / len(v):.1f}" for d, v in totals.items()) or "-"
    repeats = sum(1 for g in groups if g.repeat)
    return Reply(
        card=Card(
            title="Mock interviews report",
            fields=(
                Field("Rounds", str(rounds)),
                Field("Groups", f"{len(groups)} ({sum(1 for g in groups if g.observer)} trios)"),
                Field("Completion", completion),
                Field("Average rubric scores", averages),
                Field("Repeat rate", f"{round(100 * repeats / len(groups))}%" if groups else "-"),
                Field("People", f"{opted} opted in; {waiting or 0} waiting after the last round"),
            ),
            tone=Tone.INFO,
        )
    )
