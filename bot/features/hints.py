"""Hints: a nudge a member may ask for before answering, at a price.

Bank items may carry a ``hint``. Their question card (a drop, `/quiz`, `/practice`) has a
Hint button, ``hint:<drop id>``; pressing it shows the hint privately and records that this
member saw it (``hints_shown``). The price, applied when the answer is saved:

- a channel drop: a right multiple-choice answer earns half the points and no early bonus;
- every question (a drop, `/quiz`, `/practice`, `/review`): a right answer is rated at best
  Hard for FSRS, so the question comes back sooner (confidence cannot lift it above Hard
  either), and an open answer's key-point rating is capped at Hard the same way.

The reveal counts the members who used the hint and marks them in the list of right answers.
A hint asked for after answering, or after the reveal, is shown and changes nothing.
"""

from __future__ import annotations

import re

import fsrs
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.chat import Action, Card, MemberRef, Reply, Tone
from bot.context import Context
from bot.features import drops as drops_feature
from bot.handlers import UNKNOWN_BUTTON, Feature
from bot.store import sql
from bot.store.prepared import Prepared
from bot.store.schema import answers, hints_shown
from questions.schema import ChoiceItem, Item, OpenItem

PREFIX = drops_feature.HINT_PREFIX
_ID = re.compile(rf"{PREFIX}:([0-9]{{1,10}})")


def text_of(item: Item) -> str | None:
    return item.hint if isinstance(item, ChoiceItem | OpenItem) else None


def capped(rating: fsrs.Rating, *, hinted: bool) -> fsrs.Rating:
    """A right answer after a hint is at best Hard; a wrong one stays Again."""
    if hinted and rating > fsrs.Rating.Hard:
        return fsrs.Rating.Hard
    return rating


_USED = Prepared(
    select(hints_shown.c.user_id).where(
        hints_shown.c.drop_id == bindparam("drop_id"), hints_shown.c.user_id == bindparam("user")
    )
)


async def used(conn: AsyncConnection, drop_id: int, user_id: str) -> bool:
    return await _USED.first(conn, {"drop_id": drop_id, "user": user_id}) is not None


async def count(conn: AsyncConnection, drop_id: int) -> int:
    query = select(func.count()).where(hints_shown.c.drop_id == drop_id)
    return int(await conn.scalar(query) or 0)


def _price(*, public: bool, choice: bool) -> str:
    if public and choice:
        return "A right answer now earns half the points and no early bonus."
    if public:
        return "The reveal counts who used the hint."
    return "A right answer now counts as Hard, so this question comes back a little sooner."


def _card(drop_id: int, hint: str, note: str) -> Reply:
    return Reply(
        card=Card(title=f"Hint for question #{drop_id}", body=hint, footer=note, tone=Tone.INFO),
        private=True,
    )


async def on_action(ctx: Context, action: Action) -> Reply:
    found = _ID.fullmatch(action.action_id)
    if found is None:
        return Reply.error(UNKNOWN_BUTTON)
    drop_id, member = int(found.group(1)), action.member.ref
    async with ctx.engine.begin() as conn:
        drop = await drops_feature.load(conn, drop_id, lock=True)  # serialised with answers
        if refused := drops_feature.not_for(drop, member):
            return refused
        assert drop is not None
        hint = text_of(drop.item)
        if hint is None:
            return Reply.error("This question has no hint. Answer it as best you can.")
        if not drop.is_open:
            return _card(drop_id, hint, "The answer has been revealed, so this costs nothing.")
        if await _answered(conn, drop_id, member):
            return _card(drop_id, hint, "You already answered, so this changes nothing.")
        await sql.insert_ignore(
            conn,
            hints_shown,
            {
                "platform": member.platform,
                "workspace_id": member.workspace_id,
                "drop_id": drop_id,
                "user_id": member.user_id,
                "shown_at": ctx.clock.now(),
            },
            keys=("drop_id", "user_id"),
        )
    choice = isinstance(drop.item, ChoiceItem)
    return _card(drop_id, hint, _price(public=drop.private_to is None, choice=choice))


async def _answered(conn: AsyncConnection, drop_id: int, member: MemberRef) -> bool:
    query = select(answers.c.id).where(
        answers.c.drop_id == drop_id, answers.c.user_id == member.user_id
    )
    return (await conn.execute(query)).first() is not None


FEATURE = Feature("hints", actions={PREFIX: on_action})
