"""/me anki (issue 18, item 6): the member's missed, all answered or one topic's questions as
an Anki .apkg, opened here as Anki opens it: a zip holding a SQLite collection."""

from __future__ import annotations

import io
import json
import random
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from adapters.console import ConsolePlatform, ConsoleSession
from bot.app import build_app
from bot.chat import Reply
from bot.config import Settings
from bot.features import anki
from bot.store.schema import retirements
from tests.conftest import Chat, member, mini_bank

FIELD_SEPARATOR = "\x1f"
STATISTICS_PROMPT = "You quadruple the sample size"
EVALUATION_PROMPT = "One transaction in a thousand is fraud"


@dataclass(frozen=True)
class Note:
    guid: str
    model_id: int
    fields: list[str]
    tags: set[str]

    @property
    def prompt(self) -> str:
        return self.fields[0]


@dataclass(frozen=True)
class Deck:
    notes: list[Note]
    deck_ids: set[int]  # the decks the collection defines (Anki's Default aside)
    card_decks: set[int]  # the decks its cards are in
    model_ids: set[int]
    names: set[str]


def open_apkg(content: bytes, tmp_path: Path) -> Deck:
    """Read an .apkg the way Anki does: unzip collection.anki2 and query it."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert set(archive.namelist()) == {"collection.anki2", "media"}
        assert json.loads(archive.read("media")) == {}
        path = tmp_path / f"collection-{random.randrange(10**9)}.anki2"
        path.write_bytes(archive.read("collection.anki2"))
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT guid, mid, flds, tags FROM notes ORDER BY sfld").fetchall()
        notes = [
            Note(guid, mid, flds.split(FIELD_SEPARATOR), set(tags.split()))
            for guid, mid, flds, tags in rows
        ]
        decks_json, models_json = db.execute("SELECT decks, models FROM col").fetchone()
        card_decks = {did for (did,) in db.execute("SELECT DISTINCT did FROM cards")}
        cards = db.execute("SELECT count(*) FROM cards").fetchone()[0]
    finally:
        db.close()
    decks = {int(k): v for k, v in json.loads(decks_json).items() if int(k) != 1}
    assert cards == len(notes)  # one card per note (Recall)
    return Deck(
        notes=notes,
        deck_ids=set(decks),
        card_decks=card_decks,
        model_ids={int(k) for k in json.loads(models_json)},
        names={d["name"] for d in decks.values()},
    )


def _file(reply: Reply) -> tuple[str, bytes]:
    (attachment,) = reply.files
    return attachment.name, attachment.content


async def _answer(chat: Chat, topic: str, written: int) -> None:
    """As Alice: a /quiz on the topic, answered with option ``written`` (as the bank writes)."""
    quiz = await chat.run(f"/quiz topic:{topic}", as_=chat.alice)
    assert quiz.card is not None
    await chat.choose(quiz.card, written, as_=chat.alice)


async def _answer_open(chat: Chat) -> None:
    quiz = await chat.run("/quiz kind:open", as_=chat.alice)
    assert quiz.card is not None
    form = await chat.press(quiz.card, 1, as_=chat.alice)
    await chat.submit(form, {"answer": "Fitting noise; validation error rises."}, as_=chat.alice)


async def test_a_deck_of_misses_holds_the_wrong_answers_with_every_reason(
    chat: Chat, tmp_path: Path
) -> None:
    """Alice gets evaluation wrong and statistics right: the default deck holds evaluation
    only, front = prompt and lettered options in the bank's order, back = key, each option's
    reason and the misconceptions."""
    await _answer(chat, "evaluation", 1)  # log-loss on the training set: wrong
    await _answer(chat, "statistics", 2)  # halved: right
    reply = await chat.run("/me anki", as_=chat.alice)
    assert reply.private and reply.card is not None
    assert reply.card.title == "Your Anki deck"
    assert "1 question you have got wrong at least once" in reply.card.body
    name, content = _file(reply)
    assert name == "studybot-misses.apkg"
    deck = open_apkg(content, tmp_path)
    (note,) = deck.notes
    prompt, options, answer, why, source = note.fields
    assert EVALUATION_PROMPT in prompt
    assert options == (
        "<div>A. Log-loss on the training set</div>"
        "<div>B. Accuracy on a larger test set</div>"
        "<div>C. Recall on the fraud class</div>"
        "<div>D. The share of legitimate transactions passed</div>"
    )
    assert answer == "C. Recall on the fraud class"
    assert "<b>C. Recall on the fraud class</b> (✓ right)" in why
    for reason in (
        "Training-set loss says nothing",
        "More data of the same mix",
        "recall on the positive class is zero",
        "so it flatters the useless model",
    ):
        assert reason in why
    for misconception in (
        "judges a model by its training loss",
        "thinks more data fixes a metric blind to the class",
        "trusts a metric the do-nothing model maxes out",
    ):
        assert f"Misconception: {misconception}" in why
    assert source == "evaluation · medium · evaluation-accuracy-rare-fraud"
    assert note.tags == {"studybot", "evaluation", "medium", "missed"}
    assert note.model_id == anki.MODEL_ID and deck.model_ids == {anki.MODEL_ID}
    assert deck.card_decks == deck.deck_ids


async def test_all_and_a_topic_and_stable_ids_across_exports(chat: Chat, tmp_path: Path) -> None:
    """`all` holds every answered question (the open one with its model answer and key
    points); a topic only its own; a later export keeps every guid, the deck and note type
    ids, so Anki updates the cards instead of adding copies."""
    await _answer(chat, "evaluation", 3)
    await _answer(chat, "statistics", 1)
    await _answer_open(chat)
    first = open_apkg(_file(await chat.run("/me anki all", as_=chat.alice))[1], tmp_path)
    assert [n.fields[4].split(" · ")[2] for n in first.notes] == [
        "evaluation-accuracy-rare-fraud",
        "fundamentals-explain-overfitting",
        "statistics-quadruple-sample",
    ]
    open_note = next(n for n in first.notes if "overfitting" in n.fields[4])
    assert open_note.fields[1] == ""  # no options on the front
    assert "fits quirks and noise" in open_note.fields[2]
    assert "<li>Fits noise rather than the signal that generalises</li>" in open_note.fields[3]
    assert "missed" not in open_note.tags

    chat.clock.advance(timedelta(days=3))
    second_reply = await chat.run("/me anki all", as_=chat.alice)
    assert second_reply.card and "3 questions you have answered" in second_reply.card.body
    second = open_apkg(_file(second_reply)[1], tmp_path)
    assert [n.guid for n in second.notes] == [n.guid for n in first.notes]
    assert len({n.guid for n in first.notes}) == 3
    assert second.deck_ids == first.deck_ids and len(first.deck_ids) == 1
    assert second.model_ids == first.model_ids == {anki.MODEL_ID}

    topic = open_apkg(_file(await chat.run("/me anki statistics", as_=chat.alice))[1], tmp_path)
    (stats_note,) = topic.notes
    assert STATISTICS_PROMPT in stats_note.prompt and "missed" in stats_note.tags
    assert stats_note.guid == next(n.guid for n in first.notes if n.prompt == stats_note.prompt)
    assert topic.deck_ids == first.deck_ids

    # The same question for Bob in the same workspace has the same guid; in another
    # workspace a different one, and another deck.
    here, elsewhere = member("Bob").ref, member("Bob", workspace="w2").ref
    question = "statistics-quadruple-sample"
    assert anki.note_guid(here, question) == stats_note.guid
    assert anki.note_guid(elsewhere, question) != stats_note.guid
    assert anki.deck_id(elsewhere) not in first.deck_ids


async def test_nothing_to_export_is_said_plainly(chat: Chat) -> None:
    """No answers, no misses, an unanswered topic, a retired question, a bad choice: each is
    a clear message and no file."""
    reply = await chat.run("/me anki", as_=chat.alice)
    assert reply.card and "You have not answered any question yet" in reply.card.body
    assert not reply.files
    await _answer(chat, "statistics", 2)
    reply = await chat.run("/me anki", as_=chat.alice)
    assert reply.card and "not got a multiple-choice question wrong yet" in reply.card.body
    assert "`/me anki all`" in reply.card.body and not reply.files
    reply = await chat.run("/me anki nlp", as_=chat.alice)
    assert reply.card and "You have not answered any NLP question yet" in reply.card.body
    assert "`/practice topic:nlp`" in reply.card.body and not reply.files
    reply = await chat.run("/me anki everything", as_=chat.alice)
    assert reply.card and "everything" in reply.card.body and "misses" in reply.card.body
    assert not reply.files

    await chat.run("/questions retire statistics-quadruple-sample", as_=chat.admin)
    reply = await chat.run("/me anki all", as_=chat.alice)
    assert reply.card and not reply.files
    assert "The one question for this deck is retired in this workspace" in reply.card.body


async def test_a_retired_question_is_left_out_and_counted(chat: Chat, tmp_path: Path) -> None:
    await _answer(chat, "statistics", 1)
    await _answer(chat, "evaluation", 1)
    await chat.run("/questions retire statistics-quadruple-sample", as_=chat.admin)
    async with chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(retirements.select())).first() is not None
    reply = await chat.run("/me anki", as_=chat.alice)
    assert reply.card and "1 question you have got wrong at least once (1 retired question" in (
        reply.card.body
    )
    (note,) = open_apkg(_file(reply)[1], tmp_path).notes
    assert EVALUATION_PROMPT in note.prompt


async def test_the_console_saves_the_deck(tmp_path: Path) -> None:
    """In the console (piped input), /me anki writes the .apkg into the files folder."""
    out = io.StringIO()
    files = tmp_path / "files"
    platform = ConsolePlatform(
        Console(file=out, width=200, highlight=False, color_system=None), files_dir=files
    )
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/console.db"),
        platform=platform,
        items=mini_bank(),
        rng=random.Random(1),
    )
    script = "as alice\n/quiz topic:statistics\npress 1\n/me anki all\n"
    try:
        code = await ConsoleSession(app, platform, io.StringIO(script), echo=True).run()
    finally:
        await app.close()
    assert code == 0
    text = out.getvalue()
    saved = files / "studybot-all.apkg"
    assert "studybot-all.apkg saved to" in text, text
    (note,) = open_apkg(saved.read_bytes(), tmp_path).notes
    assert STATISTICS_PROMPT in note.prompt
