"""Hints that cost points (issue 18, item 3) and the key-point check that pre-ticks the
self-rating card (issue 19, item 1), end to end through the core."""

from __future__ import annotations

import fsrs
import pytest
from sqlalchemy import select

from bot import scoring
from bot.chat import Action, Card, Member, Reply
from bot.ports import Sent
from bot.store.schema import answers, hints_shown, review_logs
from questions.schema import ChoiceItem, Item, KeyPoint, OpenItem
from tests.conftest import Chat, mini_bank

HINT = "Think about how the spread of an average shrinks as n grows."
OPEN_HINT = "Compare training and validation error over time."
# The mini bank's open item, with terms on three of its four key points.
TERMS = (
    ((("noise", "quirks", "memoriz*"),), None),
    ((("validation error", "val loss", "validation loss", "held-out"), ("gap", "diverg*")), None),
    ((("flexible", "complex", "many parameters", "few examples", "many features"),), 1),
)


def _hinted(item: Item) -> Item:
    if isinstance(item, ChoiceItem) and "standard error" in item.prompt:
        return item.model_copy(update={"hint": HINT})
    if isinstance(item, OpenItem):
        points = list(item.key_points)
        for n, (groups, need) in enumerate(TERMS):
            points[n] = KeyPoint(point=item.points[n], terms=groups, need=need)
        return item.model_copy(update={"hint": OPEN_HINT, "key_points": tuple(points)})
    return item


@pytest.fixture
def items() -> tuple[Item, ...]:
    return tuple(_hinted(i) for i in mini_bank())


def _hint_button(card: Card) -> int:
    return next(n for n, b in enumerate(card.buttons, 1) if b.label == "Hint")


async def _points(chat: Chat, who: Member) -> int:
    async with chat.app.ctx.engine.connect() as conn:
        value = await conn.scalar(
            select(answers.c.points).where(answers.c.user_id == who.ref.user_id)
        )
    return int(value or 0)


async def _hint_rows(chat: Chat) -> list[str]:
    async with chat.app.ctx.engine.connect() as conn:
        return list((await conn.scalars(select(hints_shown.c.user_id))).all())


async def _choice_drop(chat: Chat) -> Sent:
    """A channel drop of the item with a hint (the mini bank has two choice items)."""
    for _ in range(6):
        await chat.run("/drop now kind:choice", as_=chat.admin)
        drop = chat.last_post()
        if "standard error" in drop.card.body:
            return drop
    raise AssertionError("the hinted item was never dropped")


async def test_a_hint_halves_a_right_answer_and_the_reveal_counts_it(chat: Chat) -> None:
    drop = await _choice_drop(chat)
    assert drop.card.buttons[-1].label == "Hint"
    shown = await chat.press(drop, _hint_button(drop.card), as_=chat.alice)
    assert shown.private and shown.card is not None
    assert shown.card.body == HINT and "half the points" in shown.card.footer
    again = await chat.press(drop, _hint_button(drop.card), as_=chat.alice)  # a second press
    assert again.card is not None and again.card.body == HINT
    await chat.choose(drop, 2, as_=chat.alice)  # right, within the first hour
    await chat.choose(drop, 2, as_=chat.bob)  # right, no hint
    await chat.choose(drop, 1, as_=chat.carol)  # wrong
    late = await chat.press(drop, _hint_button(drop.card), as_=chat.carol)
    assert late.card is not None and "changes nothing" in late.card.footer
    assert await _hint_rows(chat) == ["alice"]  # Carol's after answering is not recorded
    right = scoring.CORRECT["easy"]
    assert await _points(chat, chat.alice) == right // 2
    assert await _points(chat, chat.bob) == right + scoring.EARLY_BONUS
    drop_id = drop.card.buttons[0].action_id.split(":")[1]
    await chat.run(f"/reveal {drop_id}", as_=chat.admin)
    footer = chat.last_post().card.footer
    assert "@Alice (hint), @Bob" in footer and "1 used the hint" in footer
    after = await chat.press(drop, _hint_button(drop.card), as_=chat.bob)
    assert after.card is not None and "revealed" in after.card.footer


async def test_in_practice_a_hint_makes_a_right_answer_hard_even_when_certain(chat: Chat) -> None:
    for _ in range(6):
        asked = await chat.run("/quiz kind:choice", as_=chat.alice)
        assert asked.card is not None
        if "standard error" in asked.card.body:
            break
        await chat.choose(asked.card, 1, as_=chat.alice)
    assert asked.card is not None
    shown = await chat.press(asked.card, _hint_button(asked.card), as_=chat.alice)
    assert shown.card is not None and "Hard" in shown.card.footer
    stranger = await chat.press(asked.card, _hint_button(asked.card), as_=chat.bob)
    assert stranger.card is not None and "someone else's" in stranger.card.body
    feedback = await chat.choose(asked.card, 2, as_=chat.alice)
    assert feedback.card is not None
    await chat.press(feedback.card, 4, as_=chat.alice)  # "Certain" would be Easy without a hint
    async with chat.app.ctx.engine.connect() as conn:
        last = await conn.scalar(select(review_logs.c.rating).order_by(review_logs.c.id.desc()))
    assert last == fsrs.Rating.Hard


async def test_no_hint_button_without_a_hint(chat: Chat) -> None:
    for _ in range(6):
        await chat.run("/drop now kind:choice", as_=chat.admin)
        drop = chat.last_post()
        if "standard error" not in drop.card.body:
            assert all(b.label != "Hint" for b in drop.card.buttons)
            forged = drop.card.buttons[0].action_id.split(":")[1]
            reply = await chat.app.handle(
                Action(chat.alice, chat.place, f"hint:{forged}", drop.message_id)
            )
            assert isinstance(reply, Reply) and reply.card is not None
            assert "no hint" in reply.card.body
            return
    raise AssertionError("no item without a hint was dropped")


def _dms(chat: Chat, who: Member) -> list[Sent]:
    return [m for m in chat.platform.messages.values() if m.to == who.ref]


async def test_the_key_point_check_pre_ticks_the_self_rating_and_a_hint_caps_it(
    chat: Chat,
) -> None:
    """Alice's answer names the noise and the widening validation gap (points 1 and 2) but
    not point 3; point 4 lists no terms, so the check leaves it to her."""
    await chat.run("/drop now kind:open", as_=chat.admin)
    drop = chat.last_post()
    assert [b.label for b in drop.card.buttons] == ["Answer", "Hint"]
    await chat.press(drop, 2, as_=chat.alice)
    form = await chat.press(drop, 1, as_=chat.alice)
    text = "It memorises noise in the training set, so the validation loss gap keeps growing."
    await chat.submit(form, {"answer": text}, as_=chat.alice)
    form = await chat.press(drop, 1, as_=chat.bob)
    await chat.submit(
        form, {"answer": "Something about models being too good at the task."}, as_=chat.bob
    )
    drop_id = drop.card.buttons[0].action_id.split(":")[1]
    await chat.run(f"/reveal {drop_id}", as_=chat.admin)
    header = next(p for p in chat.posts() if p.card.title.startswith("Answers to drop"))
    assert "1 used the hint" in header.card.body
    card = _dms(chat, chat.alice)[-1].card
    assert "You covered 2 of 3: ✓ 1 ✓ 2 ✗ 3" in card.body
    assert [b.label[0] for b in card.buttons[:4]] == ["☑", "☑", "☐", "☐"]
    assert card.buttons[-1].label == "Done: 2 of 4 covered"
    bob_card = _dms(chat, chat.bob)[-1].card
    assert "You covered 0 of 3" in bob_card.body and bob_card.buttons[-1].label.startswith(
        "Done: 0"
    )
    # Alice corrects the check: she did make points 3 and 4. All four would be Easy, but she
    # used the hint, so the review is Hard.
    ticked = (
        await chat.press(card, 3, as_=chat.alice, place=_dms(chat, chat.alice)[-1].place)
    ).card
    assert ticked is not None
    ticked = (
        await chat.press(ticked, 4, as_=chat.alice, place=_dms(chat, chat.alice)[-1].place)
    ).card
    assert ticked is not None and ticked.buttons[-1].label == "Done: 4 of 4 covered"
    assert "You covered 2 of 3" in ticked.body  # the check's own finding stays in view
    done = await chat.press(ticked, 5, as_=chat.alice, place=_dms(chat, chat.alice)[-1].place)
    assert done.card is not None and done.card.title == "Rated Hard"
