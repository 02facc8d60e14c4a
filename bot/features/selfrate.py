"""Self-rating open answers: which of the key points did your answer cover?

After an open drop's reveal, each member who answered gets a private message: their answer
beside the item's key points, a button per key point and a Done button. The same card
follows an open question that `/practice` or `/review` asks again (its Answer button opens
the usual open-answer form, under this feature's prefix, and the answer is saved by
``answering.on_form`` as any other).

Why buttons and not a form: a form on Discord (a modal) holds at most five fields and only
text inputs, with no checkbox, and an item has up to six key points; Slack's modals and the
console could do more, but one design has to work on all three. Buttons work everywhere, in
a DM too, and survive restarts because their ids are stable strings.

The buttons carry their whole state, so nothing is stored until Done: each id is
``rate:<drop id>:<mask>:<key point index or done>:<user id>``, where the mask has bit i set
when key point i is ticked. Pressing a key point answers with the card redrawn with that
point toggled (new ids, new mask); Done reads the mask. The user id at the end lets anyone
else's press be refused without a lookup. `/practice`'s answer button and form are
``rate:<drop id>:answer`` (built by ``practice.open_answer_id``: practice cannot import this
module, which imports practice).

The share covered is the FSRS rating (``rating``): none → Again, under half → Hard, half or
more → Good, all → Easy. Done reviews the member's card for the item at the moment of the
press (``practice.review``), so open items join `/practice` and `/review` when due and
count in mastery like any card. The first Done stands; it is recorded in ``deliveries``
under ``selfrate:rated:<drop id>:<user id>``, and the private message after a reveal under
``selfrate:dm:<drop id>:<user id>``, so a reveal resumed by another instance never sends
it twice (both keys end in the user id, so `/me export` and `/me forget` find them).

When the workspace turned the AI reviewer on (`/settings reviewer on`) and the server has
one (``ctx.reviewer``), each author also gets its advice in a second private message, once
(``selfrate:review:<drop id>:<user id>``): a separate message because pressing a key point
redraws the rating card, and the advice is not stored to be drawn again. Each review counts
against the workspace's daily budget (``store_meta`` key ``llm-requests:<UTC date>``). The
advice never reaches points or ratings: only Done does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache, partial

import fsrs
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import (
    Action,
    Button,
    Card,
    Field,
    FormSubmit,
    MemberRef,
    Reply,
    Style,
    Tone,
    clip,
    plural,
)
from bot.claims import step_once
from bot.context import Context
from bot.features import answering, hints, practice, settings
from bot.features import drops as drops_feature
from bot.features.drops import MAX_ID, OPEN, Drop
from bot.handlers import UNKNOWN_BUTTON, UNKNOWN_FORM, Feature
from bot.ports import PlatformError
from bot.review import DISCLAIMER, Review
from bot.store import sql
from bot.store.schema import answers, deliveries
from questions.coverage import coverage
from questions.schema import OpenItem

log = logging.getLogger(__name__)

PREFIX = practice.RATE_PREFIX
DONE = "done"
TICKED, UNTICKED = "☑", "☐"
LABEL_ROOM = 60  # characters of a key point on its button (Slack allows 75, Discord 80)


def rating(covered: int, total: int) -> fsrs.Rating:
    """The FSRS rating of an open answer that covered ``covered`` of ``total`` key points."""
    if covered <= 0:
        return fsrs.Rating.Again
    if covered >= total:
        return fsrs.Rating.Easy
    return fsrs.Rating.Hard if 2 * covered < total else fsrs.Rating.Good


def button_id(drop_id: int, mask: int, what: str, user_id: str) -> str:
    return f"{PREFIX}:{drop_id}:{mask}:{what}:{user_id}"


@dataclass(frozen=True)
class Press:
    """A press on the self-rating card: the ticks shown, and which point to toggle (None
    for Done)."""

    drop_id: int
    mask: int
    point: int | None
    user_id: str


def parse_id(action_id: str) -> Press | None:
    """The press a button id stands for, or None if it is not a self-rating button."""
    parts = action_id.split(":", 4)
    if len(parts) != 5 or parts[0] != PREFIX:
        return None
    _prefix, drop, mask, what, user_id = parts
    if not drop.isdigit() or len(drop) > 10 or int(drop) > MAX_ID or not user_id:
        return None
    if not mask.isdigit() or len(mask) > 3:
        return None
    if what == DONE:
        point = None
    elif what.isdigit() and len(what) == 1:
        point = int(what)
    else:
        return None
    return Press(int(drop), int(mask), point, user_id)


_ANSWER_ID = re.compile(rf"{PREFIX}:([0-9]{{1,10}}):answer")


def parse_answer_id(entry_id: str) -> int | None:
    """The drop of a `/practice` open question's Answer button or form, or None."""
    match = _ANSWER_ID.fullmatch(entry_id)
    if match is None or int(match.group(1)) > MAX_ID:
        return None
    return int(match.group(1))


def _ticked(mask: int, point: int) -> bool:
    return bool(mask >> point & 1)


@lru_cache(maxsize=256)  # each toggle redraws the card from the same answer
def checked(item: OpenItem, text: str) -> tuple[bool | None, ...]:
    """The automatic key-point check of an answer (None for a point without terms)."""
    return coverage(item, text)


def auto_mask(found: tuple[bool | None, ...]) -> int:
    return sum(1 << i for i, hit in enumerate(found) if hit)


def _check_line(found: tuple[bool | None, ...]) -> str | None:
    """ "You covered 3 of 5: ✓ 1 ✓ 2 ✗ 3 …", or None when no point lists terms."""
    known = [(i, hit) for i, hit in enumerate(found, 1) if hit is not None]
    if not known:
        return None
    marks = " ".join(f"{'✓' if hit else '✗'} {i}" for i, hit in known)
    hits = sum(1 for _i, hit in known if hit)
    return (
        f"You covered {hits} of {len(known)}: {marks}. A word check, not a judgement: "
        "it ticked those points for you below, so correct any it missed or misread."
    )


def rating_card(drop: Drop, text: str, member: MemberRef, mask: int | None = None) -> Card:
    """The member's answer beside the key points, a toggle per point and Done. Without a
    ``mask`` the points the automatic check found are ticked already."""
    item = drop.item
    assert isinstance(item, OpenItem)
    points = item.points
    found = checked(item, text)
    if mask is None:
        mask = auto_mask(found)
    marks = [TICKED if _ticked(mask, i) else UNTICKED for i in range(len(points))]
    toggles = tuple(
        Button(
            f"{marks[i]} {i + 1}. {clip(point, LABEL_ROOM)}",
            button_id(drop.id, mask, str(i), member.user_id),
            Style.SUCCESS if _ticked(mask, i) else Style.SECONDARY,
        )
        for i, point in enumerate(points)
    )
    covered = sum(_ticked(mask, i) for i in range(len(points)))
    done = Button(
        f"Done: {covered} of {len(points)} covered",
        button_id(drop.id, mask, DONE, member.user_id),
        Style.PRIMARY,
    )
    which = "Your question" if drop.private_to else f"Drop #{drop.id}"
    line = _check_line(found)
    return Card(
        title=f"{which}: which key points did your answer make?",
        body=item.prompt if line is None else f"{item.prompt}\n\n{line}",
        fields=(
            Field("Your answer", clip(text, 1500)),
            Field(
                "Key points",
                "\n".join(
                    f"{m} {i}. {p}" for i, (m, p) in enumerate(zip(marks, points, strict=True), 1)
                ),
            ),
        ),
        buttons=(*toggles, done),
        footer="Press each key point your answer made, then Done. The share you covered "
        "decides when this question comes back for review: none means tomorrow.",
        tone=Tone.QUESTION,
    )


# ---- after a reveal -----------------------------------------------------------------------


def dm_key(drop_id: int, user_id: str) -> str:
    return f"selfrate:dm:{drop_id}:{user_id}"


def rated_key(drop_id: int, user_id: str) -> str:
    return f"selfrate:rated:{drop_id}:{user_id}"


async def after_reveal(ctx: Context, drop: Drop) -> None:
    """Each author of an answer to a revealed open channel drop, privately: their answer
    beside the key points to tick. Once per drop and author (a resumed reveal skips those
    sent); a message the platform refuses is logged and left for a resumed reveal, never
    allowed to stop the reveal itself."""
    if not isinstance(drop.item, OpenItem) or drop.private_to is not None:
        return
    async with ctx.engine.connect() as conn:
        written = (
            await conn.execute(
                select(answers.c.user_id, answers.c.text)
                .where(answers.c.drop_id == drop.id, answers.c.text.is_not(None))
                .order_by(answers.c.answered_at, answers.c.id)
            )
        ).all()
    place = drop.place
    advise = await settings.active_reviewer(ctx, place.platform, place.workspace_id) is not None
    for user_id, text in written:
        member = MemberRef(place.platform, place.workspace_id, str(user_id))
        card = rating_card(drop, str(text), member)
        try:
            await step_once(
                ctx,
                dm_key(drop.id, member.user_id),
                platform=place.platform,
                workspace_id=place.workspace_id,
                send=partial(ctx.platform.dm, member, card),
            )
        except PlatformError as exc:
            log.warning("could not send %s the self-rating of drop %s: %s", user_id, drop.id, exc)
        if advise:  # queued: nobody's reveal or button waits on a model
            await ctx.jobs.schedule_at(
                key=review_key(drop.id, member.user_id),
                when=ctx.clock.now(),
                action=REVIEW_TIMER,
                payload={"drop_id": drop.id, "user_id": member.user_id},
                platform=place.platform,
                workspace_id=place.workspace_id,
            )


# ---- the AI reviewer's advice (optional, never a score) --------------------------------------


REVIEW_TIMER = "selfrate-review"


def review_key(drop_id: int, user_id: str) -> str:
    return f"selfrate:review:{drop_id}:{user_id}"


async def review_later(ctx: Context, payload: Mapping[str, object]) -> None:
    """A queued review (a durable timer, due at the reveal): ask the reviewer and send its
    advice, once per answer (``review_key`` in ``deliveries``)."""
    drop_id, user_id = payload.get("drop_id"), str(payload.get("user_id"))
    if not isinstance(drop_id, int):
        return
    async with ctx.engine.connect() as conn:
        drop = await drops_feature.load(conn, drop_id)
        text = await conn.scalar(
            select(answers.c.text).where(answers.c.drop_id == drop_id, answers.c.user_id == user_id)
        )
    if drop is None or text is None:  # forgotten or deleted since the reveal
        return
    place = drop.place
    member = MemberRef(place.platform, place.workspace_id, user_id)
    try:
        await step_once(
            ctx,
            review_key(drop_id, user_id),
            platform=place.platform,
            workspace_id=place.workspace_id,
            send=partial(_advise, ctx, drop, member, str(text)),
        )
    except PlatformError as exc:
        log.warning("could not send %s the review of drop %s: %s", user_id, drop_id, exc)


def advice_card(drop: Drop, review: Review) -> Card:
    """The reviewer's advice: strength, to improve, follow-up, covered points with quotes."""
    covered = "\n".join(f"✓ {point}: “{clip(quote, 200)}”" for point, quote in review.covered)
    fields = [
        Field("A strength", review.strength),
        Field("One thing to improve", review.improve),
        Field("An interviewer might ask next", review.follow_up),
        Field("Key points it found, in your words", covered or "None it could quote."),
    ]
    if review.suspicious:
        fields.append(
            Field(
                "Note",
                "Your answer contained words addressed to the grader; they were read as part "
                "of the answer and changed nothing.",
            )
        )
    which = "your question" if drop.private_to else f"drop #{drop.id}"
    return Card(
        title=f"An AI reviewer's advice on your answer to {which}",
        fields=tuple(fields),
        footer=f"{DISCLAIMER} Your own ticks on the key points decide the review.",
        tone=Tone.INFO,
    )


async def _advise(ctx: Context, drop: Drop, member: MemberRef, text: str) -> None:
    """Ask the reviewer within the budget and send its advice; no advice if it fails."""
    reviewer = ctx.reviewer
    if reviewer is None or not isinstance(drop.item, OpenItem):
        return
    if spent := await settings.spend_review(ctx, member, reviewer):
        log.warning(
            "reviewer %s budget spent in %s/%s", spent, member.platform, member.workspace_id
        )
        await ctx.platform.dm(member, settings.budget_spent_card(reviewer, spent))
        return
    try:
        reviewed = await reviewer.review(drop.item, text)
    except Exception:  # a reviewer's failure must never stop the queue
        log.exception("the reviewer failed on drop %s", drop.id)
        return
    await settings.used_tokens(ctx, member, reviewed.tokens)
    review = reviewed.review
    if review is None:
        return
    if review.suspicious:  # logged without the answer's text
        log.warning("answer by %s to drop %s speaks to the grader", member.user_id, drop.id)
    await ctx.platform.dm(member, advice_card(drop, review))


# ---- the buttons and the /practice answer form -----------------------------------------------


async def _answered(
    conn: AsyncConnection, drop_id: int, member: MemberRef, *, lock: bool = False
) -> tuple[Drop, str] | None:
    """The drop and the member's written answer to it, if both exist in their workspace."""
    drop = await drops_feature.load(conn, drop_id, lock=lock)
    if drop is None or (drop.place.platform, drop.place.workspace_id) != (
        member.platform,
        member.workspace_id,
    ):
        return None
    text = await conn.scalar(
        select(answers.c.text).where(
            answers.c.drop_id == drop_id,
            answers.c.user_id == member.user_id,
            answers.c.text.is_not(None),
        )
    )
    return None if text is None else (drop, str(text))


async def _is_rated(conn: AsyncConnection, drop_id: int, user_id: str) -> bool:
    key = rated_key(drop_id, user_id)
    return await conn.scalar(select(deliveries.c.key).where(deliveries.c.key == key)) is not None


def _problem(drop: Drop, press: Press) -> Reply | None:
    """Why this press cannot be taken on this drop, or None."""
    item = drop.item
    if not isinstance(item, OpenItem):
        return Reply.error("That question has no key points to tick.")
    if press.mask >= 1 << len(item.points) or (
        press.point is not None and press.point >= len(item.points)
    ):
        return Reply.error(UNKNOWN_BUTTON)
    if drop.private_to is None and drop.is_open:
        return Reply.error(
            f"Drop #{drop.id} is not revealed yet, so its key points are still hidden. After "
            "the reveal you get them privately, with buttons to tick."
        )
    return None


def _someone_elses() -> Reply:
    return Reply.error(
        "Those buttons rate someone else's answer, so only its author can press them. "
        "Answer an open question yourself to rate your own."
    )


def _none_to_rate() -> Reply:
    return Reply.error(
        "There is no written answer of yours to that question to rate. Answer an open "
        "question first; its key points come to you after the reveal."
    )


def _already() -> Reply:
    return Reply.text(
        "You already rated this answer, and the first rating stands, so nothing changed. "
        "`/review` brings the question back when it is due."
    )


async def _toggle(ctx: Context, member: MemberRef, press: Press) -> Reply:
    assert press.point is not None
    async with ctx.engine.connect() as conn:
        found = await _answered(conn, press.drop_id, member)
        rated = await _is_rated(conn, press.drop_id, member.user_id)
    if found is None:
        return _none_to_rate()
    drop, text = found
    if problem := _problem(drop, press):
        return problem
    if rated:
        return _already()
    return Reply(card=rating_card(drop, text, member, press.mask ^ 1 << press.point))


async def _done(ctx: Context, member: MemberRef, press: Press) -> Reply:
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        found = await _answered(conn, press.drop_id, member, lock=True)
        if found is None:
            return _none_to_rate()
        drop, _text = found
        if problem := _problem(drop, press):
            return problem
        first = await sql.insert_ignore(
            conn,
            deliveries,
            {
                "key": rated_key(drop.id, member.user_id),
                "platform": member.platform,
                "workspace_id": member.workspace_id,
                "done_at": now,
            },
            keys=("key",),
        )
        if not first:
            return _already()
        total = len(drop.item.points) if isinstance(drop.item, OpenItem) else 0
        covered = bin(press.mask).count("1")
        hinted = await hints.used(conn, drop.id, member.user_id)
        given = hints.capped(rating(covered, total), hinted=hinted)
        due = await practice.review(
            conn,
            member=member,
            item=drop.item,
            correct=given != fsrs.Rating.Again,
            fast=False,
            now=now,
            source=drop.source,
            rated=given,
        )
    return _rated(drop, covered=covered, total=total, given=given, due=due, now=now)


def _rated(
    drop: Drop, *, covered: int, total: int, given: fsrs.Rating, due: datetime, now: datetime
) -> Reply:
    days = max(1, round((due - now).total_seconds() / 86400))
    return Reply(
        card=Card(
            title=f"Rated {given.name}",
            body=f"You covered {covered} of {plural(total, 'key point')}. This question comes "
            f"back for review in {plural(days, 'day')}; `/review` asks it then.",
            buttons=(practice.next_button(),) if drop.private_to else (),
            tone=Tone.GOOD if given != fsrs.Rating.Again else Tone.INFO,
        )
    )


async def _channel_drop(ctx: Context, drop_id: int) -> Reply | None:
    """A refusal if the drop is a channel drop: this answer button is `/practice`'s."""
    async with ctx.engine.connect() as conn:
        drop = await drops_feature.load(conn, drop_id)
    if drop is not None and drop.private_to is None:
        return Reply.error(
            f"Drop #{drop_id} is answered with the Answer button under it in the channel."
        )
    return None


async def _open_form(ctx: Context, action: Action, drop_id: int) -> Reply:
    """`/practice`'s Answer button: the usual open-answer form, under this prefix."""
    if refused := await _channel_drop(ctx, drop_id):
        return refused
    asked = replace(action, action_id=drops_feature.answer_id(drop_id, OPEN))
    reply = await answering.on_action(ctx, asked)
    if reply.form is None:
        return reply  # answering says why not (someone else's, answered already…)
    return Reply(form=replace(reply.form, form_id=practice.open_answer_id(drop_id)))


async def on_action(ctx: Context, action: Action) -> Reply:
    drop_id = parse_answer_id(action.action_id)
    if drop_id is not None:
        return await _open_form(ctx, action, drop_id)
    press = parse_id(action.action_id)
    if press is None:
        return Reply.error(UNKNOWN_BUTTON)
    member = action.member.ref
    if member.user_id != press.user_id:
        return _someone_elses()
    if press.point is None:
        return await _done(ctx, member, press)
    return await _toggle(ctx, member, press)


async def on_form(ctx: Context, submit: FormSubmit) -> Reply:
    """A `/practice` open answer: saved by answering, then the key points to tick."""
    drop_id = parse_answer_id(submit.form_id)
    if drop_id is None:
        return Reply.error(UNKNOWN_FORM)
    if refused := await _channel_drop(ctx, drop_id):
        return refused
    saved = replace(submit, form_id=drops_feature.answer_id(drop_id, OPEN))
    reply = await answering.on_form(ctx, saved)
    member = submit.member.ref
    async with ctx.engine.connect() as conn:
        found = await _answered(conn, drop_id, member)
        rated = found is not None and await _is_rated(conn, drop_id, member.user_id)
    if found is None or rated:
        return reply  # not saved (answering's reply says why), or rated already
    drop, text = found
    return Reply(card=rating_card(drop, text, member))


FEATURE = Feature(
    "selfrate",
    actions={PREFIX: on_action},
    forms={PREFIX: on_form},
    timers={REVIEW_TIMER: review_later},
)
