"""Posting questions: channel drops for everyone, and /quiz for one member."""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank, metrics
from bot.chat import Button, Card, Field, MemberRef, Place, Reply, Style, Tone
from bot.context import Context
from bot.handlers import CommandSpec, Feature, Invocation, Permission
from bot.options import DIFFICULTY, DROP_KIND, TOPIC
from bot.ports import PlatformError
from bot.store.prepared import Prepared
from bot.store.schema import drops, fires
from questions.extras import tips
from questions.schema import ChoiceItem, Item, OpenItem

log = logging.getLogger(__name__)

LETTERS = "ABCD"
HINT_PREFIX = "hint"  # the Hint button: hint:<id>
ANSWER_PREFIX = "drop"  # buttons and forms that answer a drop: drop:<id>:<option|open>
OPEN = "open"


def answer_id(drop_id: int, choice: int | str) -> str:
    """The id of the button (or form) that answers ``drop_id`` with option ``choice`` or
    with an open answer (``OPEN``)."""
    return f"{ANSWER_PREFIX}:{drop_id}:{choice}"


Order = tuple[int, ...]  # shown position -> the item's option index; () for open items


def shuffled(rng: random.Random, item: Item, *, avoid: Order = ()) -> Order:
    """A fresh order for the options of a choice item, never the one it was last shown in."""
    if not isinstance(item, ChoiceItem):
        return ()
    n = len(item.options)
    order = tuple(rng.sample(range(n), n))
    if order == avoid:
        order = order[1:] + order[:1]  # a rotation of 3+ options always differs
    return order


def encode_order(order: Order) -> str | None:
    return ",".join(str(i) for i in order) or None


def decode_order(text: str | None, item: Item) -> Order:
    """The stored order, or as written for drops posted before options were shuffled."""
    if not isinstance(item, ChoiceItem):
        return ()
    as_written = tuple(range(len(item.options)))
    try:
        order = tuple(int(part) for part in (text or "").split(","))
    except ValueError:
        return as_written
    return order if sorted(order) == list(as_written) else as_written


def letter(order: Order, index: int) -> str:
    """The letter an option of the item was shown under."""
    return LETTERS[order.index(index)] if index in order else LETTERS[index]


_ANSWER_ID = re.compile(rf"{ANSWER_PREFIX}:([0-9]{{1,10}}):([0-9]|{OPEN})")
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds on PostgreSQL


def parse_answer_id(entry_id: str) -> tuple[int, int | str] | None:
    """(drop id, option index or ``OPEN``) from an id ``answer_id`` built; None if malformed
    or out of any stored id's range, so a forged id is an unknown button, never an error."""
    match = _ANSWER_ID.fullmatch(entry_id)
    if match is None or int(match.group(1)) > MAX_ID:
        return None
    choice = match.group(2)
    return int(match.group(1)), OPEN if choice == OPEN else int(choice)


TOPIC_NAMES = {"data-features": "data & features", "nlp": "NLP", "system-design": "system design"}


def tip_line(rng: random.Random) -> str:
    """An interview tip for the line under a drop."""
    return f"💡 {rng.choice(tips()).text}"


def topic_name(topic: str) -> str:
    return TOPIC_NAMES.get(topic, topic.replace("-", " "))


@dataclass(frozen=True)
class Drop:
    """A question put to a channel (or, with ``private_to``, to one member)."""

    id: int
    place: Place
    item: Item
    private_to: str | None
    message_id: str | None
    posted_at: datetime
    revealed_at: datetime | None
    source: str = "channel"
    order: Order = ()  # how the options were shown; answers keep the item's own indices
    reveal_message_id: str | None = None  # parts of a reveal already out, so a retry resumes
    thread_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.revealed_at is None


_DROP = select(drops).where(drops.c.id == bindparam("drop_id"))
_BY_ID = Prepared(_DROP)
_BY_ID_LOCKED = Prepared(_DROP.with_for_update())


async def load(conn: AsyncConnection, drop_id: int, *, lock: bool = False) -> Drop | None:
    row = await (_BY_ID_LOCKED if lock else _BY_ID).first(conn, {"drop_id": drop_id})
    if row is None:
        return None
    return Drop(
        id=row["id"],
        place=Place(row["platform"], row["workspace_id"], row["channel_id"]),
        item=(item := bank.from_json(row["question"])),
        private_to=row["private_to"],
        message_id=row["message_id"],
        posted_at=row["posted_at"],
        revealed_at=row["revealed_at"],
        source=row["source"],
        order=decode_order(row["option_order"], item),
        reveal_message_id=row["reveal_message_id"],
        thread_id=row["thread_id"],
    )


def question_card(
    drop_id: int, item: Item, *, order: Order = (), personal: bool = False, tip: str = ""
) -> Card:
    """The card members answer: a button per option in the drop's ``order`` (each button
    carries the option's index in the item), or one that opens the answer form."""
    title = drop_title(drop_id, item, personal=personal)
    if isinstance(item, ChoiceItem):
        order = order or tuple(range(len(item.options)))
        lines = [f"**{LETTERS[pos]}.** {item.options[i].text}" for pos, i in enumerate(order)]
        buttons = tuple(
            Button(LETTERS[pos], answer_id(drop_id, i), Style.PRIMARY)
            for pos, i in enumerate(order)
        )
        body = item.prompt + "\n\n" + "\n".join(lines)
        footer = (
            "Pick an answer; you'll get feedback at once."
            if personal
            else "Answer with the buttons: only you see your choice until the reveal."
        )
    else:
        buttons = (Button("Answer", answer_id(drop_id, OPEN), Style.PRIMARY),)
        body = item.prompt
        footer = (
            "Write your answer, then compare it with the model answer."
            if personal
            else "Answers stay hidden until the reveal; then everyone votes with reactions."
        )
    if isinstance(item, ChoiceItem | OpenItem) and item.hint:
        buttons = (*buttons, hint_button(drop_id))
    if tip:
        footer = f"{footer}\n{tip}"
    return Card(title=title, body=body, buttons=buttons, footer=footer, tone=Tone.QUESTION)


def not_for(drop: Drop | None, member: MemberRef) -> Reply | None:
    """Why this drop is not one this member can act on (answer it, ask its hint): gone or
    another workspace's, or someone else's `/quiz`; None if it is theirs to act on."""
    if drop is None or (drop.place.platform, drop.place.workspace_id) != (
        member.platform,
        member.workspace_id,
    ):
        return Reply.error("That question no longer exists.")
    if drop.private_to is not None and drop.private_to != member.user_id:
        return Reply.text("That question was someone else's `/quiz`. Run `/quiz` for your own.")
    return None


def hint_button(drop_id: int) -> Button:
    """The Hint button (features/hints.py handles its presses)."""
    return Button("Hint", f"{HINT_PREFIX}:{drop_id}", Style.SECONDARY)


def drop_title(drop_id: int, item: Item, *, personal: bool = False) -> str:
    """A question card's title, e.g. "Question drop #3 · statistics · easy": the number is
    how members and admins name a channel drop (`/reveal 3`, the console's press); a
    personal question has none to give."""
    head = "Your question" if personal else f"Question drop #{drop_id}"
    return f"{head} · {topic_name(item.topic)} · {item.difficulty}"


def option_fields(
    item: ChoiceItem, counts: Counter[int] | None, total: int, *, order: Order = ()
) -> tuple[Field, ...]:
    """Each option in the order it was shown, with its reason, the misconception a wrong
    one tests, and (at a reveal) the share that chose it; ``counts`` use the item's indices."""
    fields = []
    for pos, i in enumerate(order or range(len(item.options))):
        option = item.options[i]
        mark = "✅" if option.correct else "❌"
        share = ""
        if counts is not None:
            n = counts.get(i, 0)
            pct = round(100 * n / total) if total else 0
            share = f" · {pct}% ({n})"
        why = option.reason
        if option.misconception:
            why += f"\nMisconception: {option.misconception}."
        fields.append(Field(f"{mark} {LETTERS[pos]}. {option.text}{share}", why))
    return tuple(fields)


def model_answer_card(item: OpenItem, *, yours: str | None = None) -> Card:
    fields = [Field("Key points", "\n".join(f"• {p}" for p in item.points))]
    if yours is not None:
        fields.insert(0, Field("Your answer", yours))
    return Card(
        title="Model answer",
        body=f"{item.prompt}\n\n{item.answer}",
        fields=tuple(fields),
        footer="Check your answer against the key points." if yours else "",
        tone=Tone.GOOD,
    )


def closed_card(item: Item, order: Order = (), *, drop_id: int) -> Card:
    """What the drop message becomes after the reveal: no buttons, pointing at the answer."""
    shown = ""
    if isinstance(item, ChoiceItem):
        order = order or tuple(range(len(item.options)))
        lines = (f"**{LETTERS[pos]}.** {item.options[i].text}" for pos, i in enumerate(order))
        shown = "\n\n" + "\n".join(lines)
    return Card(
        title=drop_title(drop_id, item),
        body=item.prompt + shown,
        footer="Revealed: see the answer below.",
        tone=Tone.NEUTRAL,
    )


def _filters(inv: Invocation) -> bank.Filters:
    return bank.Filters(
        topic=inv.get("topic"), difficulty=inv.get("difficulty"), kind=inv.get("kind")
    )


def _nothing_matches(filters: bank.Filters) -> Reply:
    said = ", ".join(f"{k}:{v}" for k, v in vars(filters).items() if v)
    return Reply.error(
        f"No question matches {said}. Try fewer filters, e.g. only `topic:`."
        if said
        else "The question bank is empty. Add questions with `studybot questions import`."
    )


@dataclass(frozen=True)
class Posted:
    drop_id: int
    item: Item
    message_id: str


async def _insert(
    ctx: Context,
    conn: AsyncConnection,
    *,
    place: Place,
    item: Item,
    posted_by: str,
    private_to: str | None,
    schedule_id: int | None = None,
    reveal_at: datetime | None = None,
    source: str = "channel",
) -> tuple[int, Order]:
    """Record a question put to a place, its options shuffled; (drop id, shown order)."""
    order = shuffled(ctx.rng, item, avoid=await _last_order(conn, place, item))
    result = await conn.execute(
        drops.insert().values(
            platform=place.platform,
            workspace_id=place.workspace_id,
            channel_id=place.channel_id,
            question_id=item.id,
            question=bank.to_json(item),
            kind=item.kind,
            topic=item.topic,
            difficulty=item.difficulty,
            private_to=private_to,
            posted_by=posted_by,
            posted_at=ctx.clock.now(),
            schedule_id=schedule_id,
            reveal_at=reveal_at,
            source=source,
            option_order=encode_order(order),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0]), order


async def _last_order(conn: AsyncConnection, place: Place, item: Item) -> Order:
    """How this question's options were shown last time in the workspace, if ever."""
    if not isinstance(item, ChoiceItem):
        return ()
    last = await conn.scalar(
        select(drops.c.option_order)
        .where(
            drops.c.platform == place.platform,
            drops.c.workspace_id == place.workspace_id,
            drops.c.question_id == item.id,
        )
        .order_by(drops.c.id.desc())
        .limit(1)
    )
    return decode_order(last, item) if last else ()


async def post_drop(
    ctx: Context,
    *,
    place: Place,
    filters: bank.Filters,
    posted_by: str,
    schedule_id: int | None = None,
    reveal_at: datetime | None = None,
    fire_id: int | None = None,
) -> Posted | None:
    """Choose a question, record the drop, post it, and store the message id.

    The row is committed before posting so a button pressed at once finds it; if the
    platform refuses the post, the row is removed again and the error propagates.
    """
    async with ctx.engine.begin() as conn:
        item = await bank.choose_for_channel(
            conn,
            platform=place.platform,
            workspace_id=place.workspace_id,
            channel_id=place.channel_id,
            filters=filters,
            rng=ctx.rng,
        )
        if item is None:
            return None
        drop_id, order = await _insert(
            ctx,
            conn,
            place=place,
            item=item,
            posted_by=posted_by,
            private_to=None,
            schedule_id=schedule_id,
            reveal_at=reveal_at,
        )
        if fire_id is not None:  # an instance taking this fire over finds the drop
            await conn.execute(update(fires).where(fires.c.id == fire_id).values(drop_id=drop_id))
    try:
        card = question_card(drop_id, item, order=order, tip=tip_line(ctx.rng))
        message_id = await ctx.platform.post(place, card, key=post_key(drop_id))
    except PlatformError as exc:
        metrics.drop_failed(place, drop_id, exc)
        if exc.ambiguous:  # it may be on screen: keep the drop; repost() can confirm it
            raise PostUnconfirmed(drop_id, exc) from exc
        async with ctx.engine.begin() as conn:  # it did not land: nothing anyone can see
            await conn.execute(delete(drops).where(drops.c.id == drop_id))
        raise
    await _confirm(ctx, drop_id, message_id)
    metrics.dropped(place, drop_id, scheduled=schedule_id is not None)
    return Posted(drop_id, item, message_id)


class PostUnconfirmed(PlatformError):
    """The drop's post failed in a way that may have landed; the drop is kept, unconfirmed."""

    def __init__(self, drop_id: int, cause: PlatformError) -> None:
        super().__init__(str(cause), retry_after=cause.retry_after, ambiguous=True)
        self.drop_id = drop_id


def post_key(drop_id: int) -> str:
    """The idempotency key of a drop's post: posting it again returns the same message."""
    return f"drop:{drop_id}"


async def _confirm(ctx: Context, drop_id: int, message_id: str) -> None:
    async with ctx.engine.begin() as conn:
        await conn.execute(update(drops).where(drops.c.id == drop_id).values(message_id=message_id))


async def repost(ctx: Context, drop: Drop) -> Posted:
    """Post a drop whose earlier post was never confirmed, under the same key: the platform
    returns the message if the first attempt landed, so it is never shown twice."""
    card = question_card(drop.id, drop.item, order=drop.order, tip=tip_line(ctx.rng))
    key = post_key(drop.id)
    message_id = await ctx.platform.find_post(drop.place, key)  # landed, then its instance died
    if message_id is None:
        message_id = await ctx.platform.post(drop.place, card, key=key)
    await _confirm(ctx, drop.id, message_id)
    return Posted(drop.id, drop.item, message_id)


async def drop_now(ctx: Context, inv: Invocation) -> Reply:
    filters = _filters(inv)
    try:
        posted = await post_drop(
            ctx, place=inv.place, filters=filters, posted_by=inv.member.ref.user_id
        )
    except PostUnconfirmed as exc:
        return Reply.error(
            f"Drop #{exc.drop_id} may not have been posted ({exc}). If it shows in the channel "
            f"it works as usual: reveal it with `/reveal drop:{exc.drop_id}`; if not, run "
            "`/drop now` again."
        )
    except PlatformError as exc:
        return Reply.error(f"Could not post in this channel: {exc}. Nothing was saved.")
    if posted is None:
        return _nothing_matches(filters)
    drop_id, item = posted.drop_id, posted.item
    return Reply.text(
        f"Posted drop #{drop_id} ({topic_name(item.topic)}, {item.difficulty}, {item.kind}). "
        "Reveal it with `/reveal` when you are ready."
    )


async def quiz(ctx: Context, inv: Invocation) -> Reply:
    """A personal question, shown only to the member who asked."""
    filters = _filters(inv)
    ref = inv.member.ref
    async with ctx.engine.begin() as conn:
        item = await bank.choose_for_member(
            conn,
            platform=ref.platform,
            workspace_id=ref.workspace_id,
            user_id=ref.user_id,
            filters=filters,
            rng=ctx.rng,
        )
        if item is None:
            return _nothing_matches(filters)
        drop_id, order = await insert_private(
            ctx, conn, place=inv.place, item=item, member=ref, source="quiz"
        )
    return Reply(card=question_card(drop_id, item, order=order, personal=True), private=True)


async def insert_private(
    ctx: Context,
    conn: AsyncConnection,
    *,
    place: Place,
    item: Item,
    member: MemberRef,
    source: str,
) -> tuple[int, Order]:
    """Record a question shown to one member (/quiz, /practice); its buttons work for them.
    Returns the drop id and the order its options are shown in."""
    return await _insert(
        ctx,
        conn,
        place=place,
        item=item,
        posted_by=member.user_id,
        private_to=member.user_id,
        source=source,
    )


RECHECK = timedelta(minutes=10)  # how long an unconfirmed post is looked for


async def confirm_unconfirmed(ctx: Context) -> None:
    """Drops whose post failed in a way that may have landed (and were kept, unconfirmed):
    ask the platform on each sync, for a while, whether the post is there; one that is gets
    its message id, so its buttons close and its reveal timer runs as for any drop. Nothing
    is posted here: a scheduled fire retries its own drop, an admin may /drop now again."""
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        waiting = (
            await conn.execute(
                select(drops.c.id).where(
                    drops.c.message_id.is_(None),
                    drops.c.revealed_at.is_(None),
                    drops.c.posted_at >= now - RECHECK,
                )
            )
        ).all()
        found = [await load(conn, int(drop_id)) for (drop_id,) in waiting]
    for drop in found:
        if drop is None:
            continue
        try:
            message_id = await ctx.platform.find_post(drop.place, post_key(drop.id))
        except PlatformError as exc:
            log.info("could not look for drop %s's post: %s", drop.id, exc)
            continue
        if message_id is not None:
            await _confirm(ctx, drop.id, message_id)


FEATURE = Feature(
    "drops",
    commands=(
        CommandSpec(
            "quiz",
            "A personal question now, answered privately with feedback",
            quiz,
            (TOPIC, DIFFICULTY, DROP_KIND),
            example="/quiz statistics easy",
        ),
        CommandSpec(
            "drop now",
            "Post a question to this channel now",
            drop_now,
            (TOPIC, DIFFICULTY, DROP_KIND),
            Permission.ADMIN,
            example="/drop now topic:evaluation kind:choice",
        ),
    ),
    on_sync=(confirm_unconfirmed,),
)
