"""/schedule list in pages (issue 14): Discord shows at most 25 fields and Slack 50 blocks, so
a long list comes 10 schedules to a card with a footer naming the next page; every schedule
is on exactly one page and survives rendering on both platforms."""

from __future__ import annotations

from adapters.discord.render import embed
from adapters.slack.blocks import blocks
from bot.chat import Card
from bot.features.schedules import PAGE_SIZE
from tests.conftest import Chat

COUNT = 23  # three pages: 10, 10 and 3


async def _page(chat: Chat, page: int) -> Card:
    reply = await chat.run(f"/schedule list page:{page}", as_=chat.admin)
    assert reply.card is not None and reply.card.title == "Schedules", reply
    return reply.card


def _ids(card: Card) -> list[int]:
    return [int(f.name.split(" ", 1)[0].removeprefix("#")) for f in card.fields]


async def test_a_long_list_comes_in_pages_that_render_whole(chat: Chat) -> None:
    for hour in range(COUNT):
        added = await chat.run(f"/schedule add daily {hour % 24:02d}:15", as_=chat.admin)
        assert added.card and "added" in added.card.body
    first = await chat.run("/schedule list", as_=chat.admin)  # page 1 when none is given
    assert first.card is not None
    assert first.card.footer == (
        f"Schedules 1–{PAGE_SIZE} of {COUNT} · page 1 of 3. Next: `/schedule list page:2`."
    )
    seen: list[int] = []
    for page in (1, 2, 3):
        card = await _page(chat, page)
        seen += _ids(card)
        shown = embed(card)  # Discord: every field of the page, and the footer
        assert len(shown.fields) == len(card.fields) <= 25
        assert shown.footer.text and f"page {page} of 3" in shown.footer.text
        slack = blocks(card)  # Slack: every schedule named, under 50 blocks
        assert len(slack) <= 50
        rendered = str(slack)
        assert all(f"#{i}" in rendered for i in _ids(card)) and f"page {page} of 3" in rendered
    assert len(seen) == COUNT and sorted(seen) == seen and len(set(seen)) == COUNT
    last = await _page(chat, 3)
    assert len(last.fields) == COUNT - 2 * PAGE_SIZE and "Next" not in last.footer


async def test_a_page_past_the_end_or_below_one_is_refused(chat: Chat) -> None:
    await chat.run("/schedule add daily 09:00", as_=chat.admin)
    past = await chat.run("/schedule list page:2", as_=chat.admin)
    assert past.card and past.card.body == (
        "There is no page 2: 1 schedule fit on 1 page. Try `/schedule list page:1`."
    )
    zero = await chat.run("/schedule list page:0", as_=chat.admin)
    assert zero.card and "`page` got 0, expected at least 1." in zero.card.body
    alone = await chat.run("/schedule list", as_=chat.admin)
    assert alone.card and alone.card.footer == "1 schedule."
