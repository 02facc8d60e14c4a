"""/plan: setting a plan (the command or its form), progress, /plan off, and the daily DM.

What a plan changes elsewhere is decided in ``state``; this module is what members see.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

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
    plural,
)
from bot.context import Context, workspace_tz
from bot.features import away, practice
from bot.features.plan import state
from bot.features.plan.state import Plan, Standing
from bot.handlers import (
    UNKNOWN_BUTTON,
    UNKNOWN_FORM,
    CommandError,
    CommandSpec,
    Feature,
    Invocation,
    Option,
)
from bot.store import sql
from bot.store.schema import member_settings, plans
from bot.timespec import SpecError, parse_spec
from questions.schema import TOPICS

PREFIX = "plan"
FORM = f"{PREFIX}:form"  # the "Make a plan" / "Change plan" button, and the form it opens
DAILY = "plan-daily"  # the timer kind of the daily DM
MAX_DAYS = 366  # how far ahead an interview date may be
DEFAULT_AT = "09:00"  # the daily DM's time when neither at: nor /remind says otherwise
HEAVY = 40  # new questions a day above which the reply suggests fewer topics or more time
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day_text(day: date) -> str:
    return away.day_text(day)


def _shown(text: str, limit: int = 40) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("`", "'")


def _example(today: date) -> str:
    return f"`/plan {today + timedelta(days=28)} topics:llm,ml-systems,evaluation`"


# ---- reading what the member wrote ------------------------------------------------------


def parse_day(text: str, today: date) -> date:
    """The interview date: YYYY-MM-DD, today or later, at most MAX_DAYS ahead."""
    written = text.strip()
    day = None
    if _ISO_DAY.fullmatch(written):
        try:
            day = date.fromisoformat(written)
        except ValueError:
            raise CommandError(
                f"`{written}` is not a day on the calendar: check the month and the day, "
                f"e.g. {_example(today)}."
            ) from None
    if day is None:
        raise CommandError(
            (f"`{_shown(written)}` is not a date. " if written else "Which date? ")
            + f"Write your interview date as YYYY-MM-DD, e.g. {_example(today)}, "
            "or `/plan off` to end your plan."
        )
    if day < today:
        raise CommandError(
            f"{day_text(day)} has passed. Give the date of your interview, today or later, "
            f"e.g. {_example(today)}."
        )
    if (day - today).days > MAX_DAYS:
        raise CommandError(
            f"A plan reaches at most {MAX_DAYS} days ahead, so the latest date today is "
            f"{today + timedelta(days=MAX_DAYS)}. Make the plan nearer the time."
        )
    return day


def parse_topics(text: str, valid: Sequence[str]) -> tuple[str, ...]:
    """The topics to cover, in the order given (``all``: every topic that can be planned)."""
    words = [w for w in re.split(r"[,\s]+", text.strip().lower()) if w]
    listed = ", ".join(valid)
    if not valid:
        raise CommandError(
            "There are no multiple-choice questions here yet, so there is nothing to plan."
        )
    if not words:
        raise CommandError(f"Which topics? Give one or more, with commas, from: {listed}.")
    if words == ["all"]:
        return tuple(valid)
    unknown = [w for w in dict.fromkeys(words) if w not in valid]
    if unknown:
        first = unknown[0]
        if first in TOPICS:
            why = f"`{first}` has no multiple-choice questions, and /practice asks only those."
        else:
            names = ", ".join(f"`{_shown(w, 30)}`" for w in unknown[:3])
            why = f"There is no topic {names}." if len(unknown) == 1 else f"No topics {names}."
        hint = difflib.get_close_matches(first, valid, n=1, cutoff=0.6)
        maybe = f" Did you mean `{hint[0]}`?" if hint else ""
        raise CommandError(
            f"{why}{maybe} Topics you can plan: {listed}. Separate them with commas, e.g. "
            f"`topics:{','.join(valid[:2])}`."
        )
    return tuple(dict.fromkeys(words))


async def _parse_at(
    conn: AsyncConnection, member: MemberRef, text: str | None, old: Plan | None
) -> str | None:
    """The daily DM's HH:MM, or None for ``off``. Not given: the plan's time so far, else
    the member's /remind time, else DEFAULT_AT."""
    if text is None:
        if old is not None:
            return old.remind_at
        remind = await conn.scalar(
            select(member_settings.c.remind_at).where(*sql.of_member(member_settings, member))
        )
        return str(remind) if remind else DEFAULT_AT
    if text.strip().lower() == "off":
        return None
    try:
        spec = parse_spec(f"daily {text.strip()}")
    except SpecError as exc:
        raise CommandError(f"{exc} Or `at:off` for no daily message.") from None
    return spec.text.split()[1]


# ---- the command ----------------------------------------------------------------------


async def plan_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    when, topics, at = inv.get("date"), inv.get("topics"), inv.get("at")
    if when is None and topics is None and at is None:
        return await _status(ctx, member)
    if when is not None and when.strip().lower() == "off":
        return await _off(ctx, member)
    return await set_plan(ctx, member, when, topics, at)


async def set_plan(
    ctx: Context, member: MemberRef, when: str | None, topics: str | None, at: str | None
) -> Reply:
    """Make or change the member's plan; what is not given stays as it was."""
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        tz = await workspace_tz(conn, member.platform, member.workspace_id)
        today = now.astimezone(tz).date()
        old = await state.load(conn, member)
        if old is not None and old.over(today):
            old = None  # a finished plan lends nothing to the next
        valid = await practice.practisable_topics(conn, member)
        if when is None and old is None:
            raise CommandError(f"Which date? Give your interview date, e.g. {_example(today)}.")
        day = old.day if when is None and old is not None else parse_day(when or "", today)
        if topics is None and old is None:
            raise CommandError(
                f"Which topics? Add `topics:` with one or more of: {', '.join(valid)}; "
                f"e.g. {_example(today)}."
            )
        chosen = parse_topics(topics, valid) if topics is not None else _kept(old, valid)
        plan = Plan(member, day, chosen, await _parse_at(conn, member, at, old), tz)
        await _save(conn, plan, now)
        found = await _standing(conn, plan, now)
    await plan_daily(ctx, plan, now)
    return _set_reply(plan, found, today, changed=old is not None)


def _kept(old: Plan | None, valid: Sequence[str]) -> tuple[str, ...]:
    kept = tuple(t for t in old.topics if t in valid) if old is not None else ()
    if not kept:
        raise CommandError(f"Which topics? Add `topics:` with one or more of: {', '.join(valid)}.")
    return kept


async def _save(conn: AsyncConnection, plan: Plan, now: datetime) -> None:
    await sql.upsert(
        conn,
        plans,
        {
            "platform": plan.member.platform,
            "workspace_id": plan.member.workspace_id,
            "user_id": plan.member.user_id,
            "interview_day": plan.day.isoformat(),
            "topics": json.dumps(list(plan.topics)),
            "remind_at": plan.remind_at,
            "created_at": now,
        },
        keys=("platform", "workspace_id", "user_id"),
        update=("interview_day", "topics", "remind_at", "created_at"),
    )


async def _standing(conn: AsyncConnection, plan: Plan, now: datetime) -> Standing:
    reach = practice._in_reach(plan.member)
    return await state.standing(conn, plan, now, reach, practice.SCHEDULER)


async def _off(ctx: Context, member: MemberRef) -> Reply:
    async with ctx.engine.begin() as conn:
        gone = await conn.execute(delete(plans).where(*sql.of_member(plans, member)))
    await ctx.jobs.cancel(daily_key(member))
    if not gone.rowcount:
        return Reply.text("You have no interview plan, so there is nothing to end.")
    return Reply.text(
        "Your plan has ended. `/practice` asks in its usual order again, reviews aim for the "
        "usual recall, and the daily plan message stops. Your cards and progress stay.",
        title="Interview plan: off",
        tone=Tone.GOOD,
    )


# ---- what the member sees ---------------------------------------------------------------


def _when(left: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(left, f"in {plural(left, 'day')}")


def _phases(plan: Plan, today: date) -> str:
    """Where the plan is in its schedule, and what comes next."""
    final = f"{round(state.FINAL_RETENTION * 100)} %"
    if plan.cramming(today):
        return (
            "Cram (the last 72 hours): `/practice` also brings back the questions you are "
            "likeliest to forget by the day, before they are due."
        )
    if plan.final_week(today):
        return (
            f"Final week: reviews in these topics aim for {final} recall. The cram (the last "
            f"72 hours) starts {day_text(plan.cram_starts)}."
        )
    return (
        f"From {day_text(plan.final_week_starts)} reviews in these topics aim for {final} "
        f"recall, and from {day_text(plan.cram_starts)} (the last 72 hours) `/practice` also "
        "brings back the questions you are likeliest to forget."
    )


def _daily_line(plan: Plan) -> str:
    if plan.remind_at is None:
        return "No daily message (`at:off`)."
    return f"A DM at {plan.remind_at} ({plan.tz.key}) each day says what is due."


def _set_reply(plan: Plan, found: Standing, today: date, *, changed: bool) -> Reply:
    total = sum(t.total for t in found.topics)
    unseen = found.unseen_count
    names = ", ".join(plan.topics)
    lines = [
        f"Interview on {day_text(plan.day)} ({_when(plan.days_left(today))}). Topics: {names}: "
        f"{plural(total, 'multiple-choice question')}, {unseen:,} not seen yet."
    ]
    if unseen and plan.cramming(today):
        lines.append(
            f"The cram has begun, so `/practice` asks all {unseen:,} unseen questions now, "
            "after your due reviews in these topics."
        )
    elif unseen:
        lines.append(
            "`/practice` asks your due reviews in these topics first, then about "
            f"{plural(found.new_target, 'new question')} a day, so you see every one by "
            f"{day_text(plan.cram_starts - timedelta(days=1))}."
        )
    lines.append(_phases(plan, today))
    lines.append(_daily_line(plan))
    if found.new_target > HEAVY and not plan.cramming(today):
        lines.append("That is a lot a day: fewer topics or a later date would lighten it.")
    return Reply(
        card=Card(
            title="Interview plan changed" if changed else "Interview plan set",
            body="\n\n".join(lines),
            footer="/plan shows your progress; /plan off ends the plan.",
            tone=Tone.GOOD,
        )
    )


def _today_line(found: Standing) -> str:
    due, left = len(found.due_ids), found.new_left
    if not due and not left:
        return "Today's plan is done. `/practice` goes on with other reviews and new questions."
    return (
        f"Today: {plural(due, 'review')} due in these topics and {left:,} of "
        f"{plural(found.new_target, 'new question')} to go."
    )


def _topic_fields(found: Standing) -> tuple[Field, ...]:
    return tuple(
        Field(
            t.name,
            f"seen {t.seen:,} of {t.total:,} · {t.due:,} due · mastery {round(t.mastery * 100)} %",
            inline=True,
        )
        for t in found.topics
    )


def _status_card(plan: Plan, found: Standing, today: date) -> Card:
    left = plan.days_left(today)
    if plan.over(today):
        head = (
            f"Your interview day has passed. {_example(today)} starts a new plan; "
            "`/plan off` clears this one."
        )
    elif left == 0:
        head = "Today is the day. " + _today_line(found)
    else:
        head = f"{plural(left, 'day')} left. {_today_line(found)}\n{_phases(plan, today)}"
    total = sum(t.total for t in found.topics)
    seen = sum(t.seen for t in found.topics)
    return Card(
        title=f"Interview plan: {day_text(plan.day)}",
        body=f"{head}\nSeen so far: {seen:,} of {plural(total, 'question')}. " + _daily_line(plan),
        fields=_topic_fields(found),
        buttons=(Button("Change plan", FORM, Style.SECONDARY),),
        footer="Mastery: the share of a topic's questions you would be expected to recall on "
        "the day if you stopped now. /plan off ends the plan.",
        tone=Tone.INFO,
    )


async def _status(ctx: Context, member: MemberRef) -> Reply:
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        plan = await state.load(conn, member)
        if plan is None:
            tz = await workspace_tz(conn, member.platform, member.workspace_id)
            valid = await practice.practisable_topics(conn, member)
            return _no_plan(now.astimezone(tz).date(), valid)
        found = await _standing(conn, plan, now)
    return Reply(card=_status_card(plan, found, plan.today(now)))


def _no_plan(today: date, valid: Sequence[str]) -> Reply:
    return Reply(
        card=Card(
            title="Interview plan",
            body="You have no interview plan. Give the date and the topics, e.g. "
            f"{_example(today)}, or press the button. Until that date `/practice` puts those "
            "topics first, sized so you see every question before the last 72 hours, and a "
            f"DM each day says what is due.\nTopics you can plan: {', '.join(valid)}.",
            buttons=(Button("Make a plan", FORM, Style.PRIMARY),),
            tone=Tone.INFO,
        )
    )


# ---- the form -------------------------------------------------------------------------


async def on_action(ctx: Context, action: Action) -> Reply:
    if action.action_id != FORM:
        return Reply.error(UNKNOWN_BUTTON)
    return Reply(
        form=Form(
            form_id=FORM,
            title="Interview plan",
            fields=(
                FormField(
                    "date",
                    "Interview date (YYYY-MM-DD)",
                    multiline=False,
                    max_length=10,
                    placeholder="2027-01-20",
                ),
                FormField(
                    "topics",
                    "Topics, separated by commas",
                    multiline=False,
                    max_length=300,
                    placeholder="llm, ml-systems, evaluation",
                ),
                FormField(
                    "at",
                    "Daily message at (HH:MM, or off)",
                    multiline=False,
                    required=False,
                    max_length=5,
                    placeholder=DEFAULT_AT,
                ),
            ),
        )
    )


async def on_form(ctx: Context, submit: FormSubmit) -> Reply:
    if submit.form_id != FORM:
        return Reply.error(UNKNOWN_FORM)

    def value(name: str) -> str | None:
        return submit.values.get(name, "").strip() or None

    when = value("date")
    if when is not None and when.lower() == "off":
        return await _off(ctx, submit.member.ref)
    return await set_plan(ctx, submit.member.ref, when, value("topics"), value("at"))


# ---- the daily DM ---------------------------------------------------------------------


def daily_key(member: MemberRef) -> str:
    return f"{PREFIX}:{member.platform}:{member.workspace_id}:{member.user_id}"


async def plan_daily(ctx: Context, plan: Plan, after: datetime) -> None:
    """Plan the daily DM's next firing after ``after``, up to the interview day; none when
    the DM is off or the day is past."""
    key = daily_key(plan.member)
    if plan.remind_at is None:
        await ctx.jobs.cancel(key)
        return
    when = practice._next_at(plan.remind_at, after, plan.tz)
    if plan.over(plan.today(when)):
        await ctx.jobs.cancel(key)
        return
    await ctx.jobs.schedule_at(
        key=key,
        when=when,
        action=DAILY,
        payload={
            "platform": plan.member.platform,
            "workspace_id": plan.member.workspace_id,
            "user_id": plan.member.user_id,
        },
        platform=plan.member.platform,
        workspace_id=plan.member.workspace_id,
    )


async def send_daily(ctx: Context, payload: Mapping[str, object]) -> None:
    """Today's plan, by DM: nothing on a day away or a day with nothing to do; tomorrow's
    message is planned first, so a DM that fails for good never ends the series."""
    member = MemberRef(
        str(payload["platform"]), str(payload["workspace_id"]), str(payload["user_id"])
    )
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        plan = await state.current(conn, member, now)
        if plan is None or plan.remind_at is None:
            return  # ended or turned off meanwhile
        today = plan.today(now)
        away_until = await away.away_through(conn, member, today)
        found = await _standing(conn, plan, now)
        due_all = await practice.due_count(conn, member, now)
    await plan_daily(ctx, plan, now + timedelta(minutes=1))
    card = None if away_until is not None else daily_card(plan, found, today, due_all)
    if card is not None:
        await ctx.platform.dm(member, card)


def daily_card(plan: Plan, found: Standing, today: date, due_all: int) -> Card | None:
    """The day's message; None when there is nothing to do (and it is not the day)."""
    left = plan.days_left(today)
    due = len(found.due_ids)
    others = max(0, due_all - due)
    footer = "/plan shows your progress; /plan at:off stops these messages."
    if left == 0:
        total = sum(t.total for t in found.topics)
        ready = sum(t.mastery * t.total for t in found.topics) / total if total else 0.0
        warm = f" {plural(due, 'review')} due if you want a warm-up." if due else ""
        return Card(
            title="Interview day",
            body=f"Today is the day. On your plan's topics you should recall about "
            f"{round(ready * 100)} % of the questions.{warm} Good luck!",
            footer=footer,
            tone=Tone.GOOD,
        )
    cram = len(found.weakest) if plan.cramming(today) else 0
    if not (due or found.new_left or cram or others):
        return None
    lines = [
        f"Today: {plural(due, 'review')} due in your plan's topics"
        + (f" (and {others:,} in others)" if others else "")
        + f", and {plural(found.new_left, 'new question')}."
    ]
    if cram:
        lines.append(
            f"Cram: after those, `/practice` brings back the {plural(cram, 'question')} you are "
            f"likeliest to forget by {day_text(plan.day)}."
        )
    lines.append("Run `/practice`: it asks them in that order.")
    return Card(
        title=f"Interview plan: {plural(left, 'day')} to go",
        body="\n".join(lines),
        footer=footer,
        tone=Tone.INFO,
    )


FEATURE = Feature(
    "plan",
    commands=(
        CommandSpec(
            "plan",
            "Study towards an interview date: /plan DATE topics:…, /plan, /plan off",
            plan_command,
            (
                Option("date", "Your interview date (YYYY-MM-DD), or off to end your plan"),
                Option("topics", "Topics to cover, with commas (llm,ml-systems), or all"),
                Option(
                    "at",
                    "Time of the daily DM (HH:MM, workspace time zone), or off",
                    positional=False,
                ),
            ),
            example="/plan 2027-01-20 topics:llm,ml-systems,evaluation",
        ),
    ),
    actions={PREFIX: on_action},
    forms={PREFIX: on_form},
    timers={DAILY: send_daily},
)
