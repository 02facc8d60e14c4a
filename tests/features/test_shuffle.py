"""Options are shuffled when a question is posted; answers, reveals and analysis follow the
option, not its position. Wrong options name the misconception they test."""

from __future__ import annotations

import random

from sqlalchemy import select

from bot.features import packs, progress
from bot.features.drops import Order, decode_order, letter, shuffled
from bot.store.schema import answers
from questions.schema import ChoiceItem
from tests.conftest import Chat, make_chat, mini_bank

FRAUD = "evaluation-accuracy-rare-fraud"
KEY = "Recall on the fraud class"


def _order(card_body: str) -> list[str]:
    """The option texts of a question card, top to bottom."""
    return [line.split("** ", 1)[1] for line in card_body.splitlines() if line.startswith("**")]


async def test_two_drops_of_one_question_show_two_orders_each_revealed_right(
    database_url: str,
) -> None:
    """The same question dropped twice: different orders; each reveal names its own letter."""
    fraud = next(i for i in mini_bank() if i.id == FRAUD)
    chat = await make_chat(database_url, items=(fraud,))
    try:
        orders, reveals = [], []
        for who in (chat.alice, chat.bob):
            await chat.run("/drop now", as_=chat.admin)
            drop = chat.last_post()
            orders.append(_order(drop.card.body))
            await chat.choose(drop, 3, as_=who)  # the key, wherever it is shown
            await chat.run("/reveal", as_=chat.admin)
            reveals.append((chat.letter(drop, 3), chat.last_post().card.title))
        assert orders[0] != orders[1]
        assert sorted(orders[0]) == sorted(orders[1])
        for number, (shown, title) in enumerate(reveals, 1):
            assert title == f"Answer to drop #{number}: {shown}. {KEY}"
        async with chat.app.ctx.engine.connect() as conn:
            stored = (await conn.execute(select(answers.c.option_index, answers.c.correct))).all()
        assert [(r.option_index, r.correct) for r in stored] == [(2, True), (2, True)]
        (analysis,) = await packs.analyse(chat.app.ctx.engine, chat.admin.ref)
        assert analysis.picks == {2: 2} and analysis.share_correct == 1.0
    finally:
        await chat.app.close()


def test_a_new_order_never_repeats_the_last_one() -> None:
    """Whatever the random source says, the next order differs from the one shown last."""
    fraud = next(i for i in mini_bank() if i.id == FRAUD)
    assert isinstance(fraud, ChoiceItem)
    last: Order = (0, 1, 2, 3)
    for seed in range(200):
        order = shuffled(random.Random(seed), fraud, avoid=last)
        assert order != last and sorted(order) == [0, 1, 2, 3]
        last = order


def test_drops_from_before_shuffling_read_as_written() -> None:
    """A drop stored without an order (or with a broken one) shows the options as written."""
    fraud = next(i for i in mini_bank() if i.id == FRAUD)
    assert decode_order(None, fraud) == (0, 1, 2, 3)
    assert decode_order("3,1,1,0", fraud) == (0, 1, 2, 3)
    assert decode_order("3,1,2,0", fraud) == (3, 1, 2, 0)
    assert letter((3, 1, 2, 0), 0) == "D"


async def test_the_reveal_names_the_misconception_beside_each_wrong_reason(chat: Chat) -> None:
    """Every wrong option's reason is followed by the misconception it tests."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    await chat.run("/reveal", as_=chat.admin)
    fields = {f.name.split(". ", 1)[1]: f.value for f in chat.last_post().card.fields}
    assert (
        "Misconception: judges a model by its training loss"
        in fields["Log-loss on the training set · 0% (0)"]
    )
    assert "Misconception" not in fields[f"{KEY} · 0% (0)"]


async def test_stats_lists_a_members_most_frequent_misconceptions(chat: Chat) -> None:
    """/stats names the misconceptions behind the member's wrong answers, most frequent first."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    await chat.choose(chat.last_post(), 2, as_=chat.alice)  # "accuracy on a larger test set"
    reply = await chat.run("/stats", as_=chat.alice)
    assert reply.card is not None
    fields = {f.name: f.value for f in reply.card.fields}
    assert (
        fields["Misconceptions to unlearn"]
        == "thinks more data fixes a metric blind to the class (1×)"
    )
    async with chat.app.ctx.engine.connect() as conn:
        assert await progress.misconceptions(conn, chat.bob.ref) == []
