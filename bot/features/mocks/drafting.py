"""Drafting mock-interview feedback from the interviewer's notes with the AI reviewer.

When the workspace turned the reviewer on (`/settings reviewer on`) and the server has one,
"Give feedback" offers two ways: write it, or paste your notes and get a draft. The notes
form (``mock:<group>:notes:<kind>``) queues a durable timer, ``mock-draft:<group>:<user>``,
so no button waits on a model; the timer asks the reviewer for one strength and one thing
to improve, within the workspace's daily budget, keeps the draft in the timer's payload and
sends it privately with "Edit and send", which opens the usual feedback form with the draft
already in it. The interviewer edits, scores and sends; nothing reaches the partner before.
The draft never scores anything: the interviewer's own scores do. `/me forget` deletes the
timer, and with it the notes and the draft (its key ends in the member's id).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import select, update

from bot.chat import Button, Card, Field, Form, FormField, FormSubmit, MemberRef, Reply, Style, Tone
from bot.context import Context
from bot.features import settings
from bot.features.mocks.groups import dm, load_group
from bot.handlers import UNKNOWN_FORM
from bot.store.schema import mock_checkins, mock_feedback, timers
from questions.extras import rubrics

log = logging.getLogger(__name__)

DRAFT_TIMER = "mock-draft"
NOTES_MIN, NOTES_MAX = 20, 1500
_NOTES_FORM = re.compile(r"mock:([0-9]{1,10}):notes:([a-z0-9_-]{1,40})")


def draft_key(group_id: int, user_id: str) -> str:
    return f"{DRAFT_TIMER}:{group_id}:{user_id}"


def is_notes_form(form_id: str) -> bool:
    return _NOTES_FORM.fullmatch(form_id) is not None


def choice_card(group_id: int) -> Card:
    """ "Give feedback" when drafting is on: write it, or draft it from notes."""
    return Card(
        title="Feedback for your partner",
        body="Write it yourself, or paste your notes from the session and the AI reviewer "
        "drafts one strength and one thing to improve for you to edit before anything is "
        "sent. You give the scores either way.",
        buttons=(
            Button("Write feedback", f"mock:{group_id}:write", Style.PRIMARY),
            Button("Draft from my notes", f"mock:{group_id}:draft"),
        ),
        tone=Tone.QUESTION,
    )


def notes_form(group_id: int, kind: str) -> Form:
    return Form(
        form_id=f"mock:{group_id}:notes:{kind}",
        title="Your notes from the session",
        fields=(
            FormField(
                "notes",
                "Your notes (only the AI reviewer sees them)",
                min_length=NOTES_MIN,
                max_length=NOTES_MAX,
                placeholder="What they did, said, missed; as you jotted it down.",
            ),
        ),
    )


async def on_notes(ctx: Context, submit: FormSubmit) -> Reply:
    """Queue the draft; the reply says it is coming."""
    match = _NOTES_FORM.fullmatch(submit.form_id)
    if match is None or match.group(2) not in rubrics():
        return Reply.error(UNKNOWN_FORM)
    group_id, kind = int(match.group(1)), match.group(2)
    ref = submit.member.ref
    notes = (submit.values.get("notes") or "").strip()
    if not NOTES_MIN <= len(notes) <= NOTES_MAX:
        return Reply.error(
            f"Your notes have {len(notes):,} characters; give {NOTES_MIN} to {NOTES_MAX:,} so "
            "there is something to draft from. Nothing was sent; press Draft again."
        )
    if problem := await _not_yours_to_give(ctx, group_id, ref):
        return problem
    if await settings.active_reviewer(ctx, ref.platform, ref.workspace_id) is None:
        return Reply.error(
            "The AI reviewer is off here, so there is nobody to draft from your notes. "
            "Press Write feedback instead."
        )
    await ctx.jobs.schedule_at(
        key=draft_key(group_id, ref.user_id),
        when=ctx.clock.now(),
        action=DRAFT_TIMER,
        payload={"group_id": group_id, "user_id": ref.user_id, "kind": kind, "notes": notes},
        platform=ref.platform,
        workspace_id=ref.workspace_id,
    )
    return Reply.text(
        "Drafting from your notes: the draft comes to you privately in a moment, with a "
        "button to edit and send it. Nothing goes to your partner until you send it.",
        tone=Tone.GOOD,
    )


async def _not_yours_to_give(ctx: Context, group_id: int, ref: MemberRef) -> Reply | None:
    async with ctx.engine.connect() as conn:
        group = await load_group(conn, group_id)
        said = await conn.scalar(
            select(mock_checkins.c.answer).where(
                mock_checkins.c.group_id == group_id, mock_checkins.c.user_id == ref.user_id
            )
        )
        sent = await conn.scalar(
            select(mock_feedback.c.user_id).where(
                mock_feedback.c.group_id == group_id, mock_feedback.c.user_id == ref.user_id
            )
        )
    if group is None or (group.platform, group.workspace_id) != (ref.platform, ref.workspace_id):
        return Reply.error("That mock interview is not yours.")
    if said != "yes":
        return Reply.text("Say it happened first.")
    if sent is not None:
        return Reply.text("You already sent feedback for this session; thanks.")
    return None


async def draft_later(ctx: Context, payload: Mapping[str, object]) -> None:
    """The queued draft: ask the reviewer within the budget, keep it, send it privately."""
    group_id, user_id = payload.get("group_id"), str(payload.get("user_id"))
    kind, notes = str(payload.get("kind")), str(payload.get("notes") or "")
    async with ctx.engine.connect() as conn:
        group = await load_group(conn, group_id) if isinstance(group_id, int) else None
    if group is None or kind not in rubrics():
        return
    member = group.ref(user_id)
    reviewer = await settings.active_reviewer(ctx, member.platform, member.workspace_id)
    if reviewer is None:
        return
    if spent := await settings.spend_review(ctx, member, reviewer):
        await dm(ctx, member, settings.budget_spent_card(reviewer, spent))
        return
    dims = [d.name for d in rubrics()[kind].dimensions]
    try:
        drafted = await reviewer.draft(notes, dims)
    except Exception:  # a reviewer's failure must never stop the queue
        log.exception("the reviewer failed drafting feedback for group %s", group.id)
        drafted = None
    if drafted is not None:
        await settings.used_tokens(ctx, member, drafted.tokens)
    if drafted is None or drafted.draft is None:
        await dm(ctx, member, _no_draft(group.id))
        return
    kept = {**payload, "strength": drafted.draft.strength, "improve": drafted.draft.improve}
    async with ctx.engine.begin() as conn:
        await conn.execute(
            update(timers)
            .where(timers.c.key == draft_key(group.id, user_id))
            .values(payload=json.dumps(kept))
        )
    await dm(ctx, member, _draft_card(group.id, drafted.draft.strength, drafted.draft.improve))


def _no_draft(group_id: int) -> Card:
    return Card(
        title="No draft this time",
        body="The AI reviewer could not draft from your notes just now. Your partner is "
        "still waiting for your feedback: write it yourself.",
        buttons=(Button("Write feedback", f"mock:{group_id}:write", Style.PRIMARY),),
        tone=Tone.INFO,
    )


def _draft_card(group_id: int, strength: str, improve: str) -> Card:
    return Card(
        title="A draft of your feedback",
        fields=(Field("One thing they did well", strength), Field("One thing to improve", improve)),
        footer="Drafted by an AI reviewer from your notes. Edit it, add your scores and send: "
        "nothing reaches your partner until you do.",
        buttons=(Button("Edit and send", f"mock:{group_id}:edit", Style.PRIMARY),),
        tone=Tone.INFO,
    )


async def drafted_form(ctx: Context, group_id: int, user_id: str, form: Form) -> Form:
    """The feedback form with the member's latest draft in it, if there is one."""
    async with ctx.engine.connect() as conn:
        raw = await conn.scalar(
            select(timers.c.payload).where(timers.c.key == draft_key(group_id, user_id))
        )
    try:
        kept = json.loads(raw) if raw else {}
    except ValueError:
        kept = {}
    drafts = {k: str(v) for k, v in kept.items() if k in ("strength", "improve") and v}
    return replace(
        form, fields=tuple(replace(f, value=drafts.get(f.id, f.value)) for f in form.fields)
    )
