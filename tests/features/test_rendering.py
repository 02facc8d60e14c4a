"""How the core's cards read on every platform: text cut at a word with an ellipsis, long
text split rather than lost, plurals that read naturally, and drop numbers in titles."""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from adapters.console import ConsolePlatform, ConsoleSession
from adapters.discord import render
from adapters.slack import blocks
from bot.app import build_app
from bot.chat import ELLIPSIS, Button, Card, Field, clip, pieces, plural
from bot.config import Settings
from tests.conftest import Chat, mini_bank

# ---- cutting and splitting text ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("Answer to drop #3: B. Recall on the fraud class", 30, "Answer to drop #3: B. Recall…"),
        ("Short enough", 12, "Short enough"),
        ("Hello, world", 8, "Hello…"),  # no comma left hanging before the ellipsis
        ("Supercalifragilistic", 10, "Supercali…"),  # one word longer than the limit
        ("two\nlines of text", 8, "two…"),
    ],
)
def test_clip_cuts_after_a_whole_word(text: str, limit: int, cut: str) -> None:
    assert clip(text, limit) == cut


WORDS = st.lists(
    st.text(alphabet="abcdefghij,.", min_size=1, max_size=12), min_size=1, max_size=30
).map(" ".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(WORDS, st.integers(min_value=2, max_value=80))
def test_clip_never_cuts_inside_a_word_that_has_a_boundary_before_it(text: str, limit: int) -> None:
    """Within the limit; whole, or a prefix ending at a word's end plus an ellipsis. Only a
    first word longer than the limit is cut inside itself."""
    cut = clip(text, limit)
    assert len(cut) <= limit
    if cut == text:
        return
    kept = cut.removesuffix(ELLIPSIS)
    assert cut.endswith(ELLIPSIS) and text.startswith(kept)
    first_word_fits = len(text.split(" ", 1)[0]) < limit
    if first_word_fits and kept:
        assert text[len(kept)] in " ,."  # the next character ends the word kept


@settings(max_examples=200, deadline=None, derandomize=True)
@given(WORDS, st.integers(min_value=5, max_value=60))
def test_pieces_keep_every_word(text: str, limit: int) -> None:
    """Split text keeps every word, in order, each piece within the limit."""
    parts = pieces(text, limit)
    assert all(len(p) <= limit for p in parts)
    if all(len(w) <= limit for w in text.split(" ")):
        assert " ".join(parts).split() == text.split()


def test_plurals_read_naturally() -> None:
    assert [plural(n, "day") for n in (0, 1, 2)] == ["0 days", "1 day", "2 days"]
    assert plural(3, "reply", "replies") == "3 replies"
    assert plural(1200, "answer") == "1,200 answers"


# ---- Discord ---------------------------------------------------------------------------------


async def test_a_long_open_answer_is_shown_whole_on_discord(chat: Chat) -> None:
    """A member's own 1,500-character answer is more than an embed field holds: it goes on
    in the next field, so every word of it is shown."""
    answer = " ".join(f"point{i}" for i in range(200))[:1500].rsplit(" ", 1)[0]
    quiz = await chat.run("/quiz kind:open", as_=chat.alice)
    assert quiz.card is not None
    form = await chat.press(quiz.card, 1, as_=chat.alice)
    reply = await chat.submit(form, {"answer": answer}, as_=chat.alice)
    assert reply.card is not None and len(answer) > render.FIELD_VALUE
    embed = render.embed(reply.card)
    assert len(embed) <= render.EMBED_TOTAL
    names = [f.name for f in embed.fields]
    start = names.index("Your answer")
    shown = [f.value or "" for f in embed.fields[start : start + 2]]
    assert names[start + 1] == render.EMPTY  # it reads on under a blank name
    assert all(len(v) <= render.FIELD_VALUE for v in shown)
    assert " ".join(shown).split() == answer.split()


def test_discord_titles_and_names_are_cut_at_a_word() -> None:
    title = "Answer to drop #12: " + "a fairly long option text " * 12
    embed = render.embed(Card(title=title, fields=(Field(title, "x"),)))
    assert embed.title is not None and len(embed.title) <= render.TITLE
    kept = embed.title.removesuffix("…")
    assert embed.title.endswith("…") and title.startswith(kept) and title[len(kept)] == " "
    assert embed.fields[0].name == embed.title
    button = render.view((Button("one long button label " * 5, "x:1"),)).children[0]
    label = str(getattr(button, "label", ""))
    assert len(label) <= 80 and label.endswith("…") and label[-2] != " "
    assert ("one long button label " * 5).startswith(label[:-1] + " ")


def test_what_does_not_fit_one_discord_message_is_said() -> None:
    """Past 6,000 characters the body gives way first; fields left out are named."""
    fields = tuple(Field(f"Part {i}", "word " * 200) for i in range(8))
    embed = render.embed(Card(title="Packet", body="Read this. " * 200, fields=fields))
    assert len(embed) <= render.EMBED_TOTAL
    left = len(fields) - len(embed.fields)
    assert left > 0 and embed.footer.text
    assert f"{plural(left, 'more part')} did not fit in one Discord message" in embed.footer.text


# ---- Slack -----------------------------------------------------------------------------------


def test_slack_splits_long_text_at_words_and_keeps_long_fields() -> None:
    """No section is cut: a long body is split at spaces, a long inline field becomes its
    own sections, and the plain fallback is cut at a word."""
    body = " ".join(f"word{i}" for i in range(900))  # one line, ~7,000 characters
    inline = Field("Notes", "note " * 500, inline=True)  # over the 2,000 a field holds
    out = blocks.blocks(Card(title="Long " * 800, body=body, fields=(inline,)))
    texts = [b["text"]["text"] for b in out if b["type"] == "section" and "text" in b]
    assert all(len(t) <= blocks.MAX_TEXT for t in texts)
    joined = " ".join(texts)
    assert all(f"word{i}" in joined.split() for i in (0, 450, 899))
    assert joined.count("note") == 500
    fallback = blocks.text(Card(title="Long " * 800))
    assert len(fallback) <= blocks.MAX_TEXT and fallback.endswith("Long…")


def test_slack_keeps_buttons_and_says_what_did_not_fit() -> None:
    """More than 50 blocks: the text gives way, the buttons and footer stay, and a note
    says how many parts were left out."""
    fields = tuple(Field(f"Field {i}", "value") for i in range(60))
    card = Card(title="Many", fields=fields, buttons=(Button("Go", "x:1"),), footer="f")
    out = blocks.blocks(card)
    assert len(out) == blocks.MAX_BLOCKS
    assert out[-2]["type"] == "actions" and out[-1]["elements"][0]["text"] == "f"
    note = out[-3]["elements"][0]["text"]
    assert re.fullmatch(r"\((\d+) more parts did not fit in one Slack message\.\)", note)


# ---- titles and plurals in the core's messages -----------------------------------------------


async def test_a_drop_card_is_titled_with_its_number(chat: Chat) -> None:
    """ "Question drop #1 · topic · level", before and after its reveal."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    assert drop.card.title == "Question drop #1 · evaluation · medium"
    await chat.run("/reveal", as_=chat.admin)
    closed = chat.platform.messages[drop.message_id].card
    assert closed.title == "Question drop #1 · evaluation · medium" and not closed.buttons


async def test_counts_read_naturally(chat: Chat) -> None:
    """One of a thing is said in the singular: a day, an answer, a review."""
    quiz = await chat.run("/quiz kind:choice topic:statistics", as_=chat.alice)
    assert quiz.card is not None
    await chat.choose(quiz.card, 1, as_=chat.alice)  # wrong: due again tomorrow
    stats = await chat.run("/stats", as_=chat.alice)
    assert stats.card and {f.name: f.value for f in stats.card.fields}["Streak"].startswith(
        "1 day now"
    )
    chat.clock.advance(timedelta(days=1))
    review = await chat.run("/review", as_=chat.alice)
    assert review.card and review.card.body.startswith("**1 review due.**")
    await chat.run("/drop now kind:open", as_=chat.admin)
    form = await chat.press(chat.last_post(), 1, as_=chat.bob)
    await chat.submit(form, {"answer": "The model learns the noise, not the signal."}, as_=chat.bob)
    await chat.run("/reveal", as_=chat.admin)
    header = next(m for m in chat.posts() if m.card.title.startswith("Answers to drop"))
    assert "1 answer in the thread" in header.card.body
    assert "The model answer follows it." in header.card.body


async def test_a_console_session_reads_naturally(tmp_path: Path) -> None:
    """Piped into the console: the drop's number in its title and in what `press` says,
    the asker's place told privately under the board, and no "(s)" in any of it."""
    script = (
        "/drop now kind:choice topic:evaluation\nas alice\npress 3\nas bob\npress 1\n"
        "as admin\n/reveal\n/leaderboard\n/stats @alice\n/next\n"
    )
    out = io.StringIO()
    console = Console(file=out, width=110, highlight=False, color_system=None)
    platform = ConsolePlatform(console, files_dir=tmp_path / "files")
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db", sync_seconds=0),
        platform=platform,
        items=mini_bank(),
        rng=random.Random(3),
    )
    try:
        await app.start()
        session = ConsoleSession(app, platform, io.StringIO(script), echo=True)
        assert await session.run() == 0
    finally:
        await app.close()
    said = " ".join(out.getvalue().split())
    assert "Question drop #1 · evaluation · medium" in said
    assert "on m1, “Question drop #1" in said
    assert "You are not on this board yet" in said
    assert "(s)" not in said
