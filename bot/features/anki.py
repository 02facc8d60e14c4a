"""/me anki: the member's questions as an Anki deck (.apkg, built with genanki).

``/me anki`` (or ``misses``) holds the multiple-choice questions they have got wrong at least
once; ``all`` every question they have answered (open ones too); a topic, those they have
answered in it. The front is the prompt and the options, lettered in the bank's order (so
every export shows the same letters); the back is the key, every option's reason and the
misconception where the bank names one (for an open question: the model answer and its key
points).

Ids are stable, so importing a later export updates the cards instead of adding copies: the
note type has a fixed id, the deck's id is derived from the workspace, and each note's guid
from the workspace and the question id. Questions the workspace retired are left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import html
import io
import itertools
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import bank
from bot.chat import Attachment, Card, MemberRef, Reply, Tone, plural
from bot.context import Context
from bot.features.drops import topic_name
from bot.handlers import CommandSpec, Feature, Invocation, Kind, Option
from bot.store import sql
from bot.store.schema import SHIPPED, answers, drops, questions, retirements, workspaces
from questions.schema import DIFFICULTIES, TOPICS, ChoiceItem, Item, OpenItem

# Never change these: Anki knows the note type by its id, and matches notes by guid.
MODEL_ID = 1_736_291_650
GUID_SALT = "studybot"
LETTERS = "ABCD"

CSS = """\
.card { font-family: sans-serif; font-size: 18px; text-align: left; color: black;
        background-color: white; max-width: 40em; margin: auto; }
.options div { margin: .3em 0; }
.key { font-weight: bold; margin: .6em 0; }
.why p { margin: .5em 0; }
.misconception { font-style: italic; color: #8a4b00; }
.source { margin-top: 1em; font-size: 13px; color: #777; }
"""
FRONT = (
    '<div class="prompt">{{Prompt}}</div>\n'
    '{{#Options}}<div class="options">{{Options}}</div>{{/Options}}'
)
BACK = (
    '{{FrontSide}}\n<hr id="answer">\n<div class="key">{{Answer}}</div>\n'
    '<div class="why">{{Explanation}}</div>\n<div class="source">{{Source}}</div>'
)


@functools.cache
def _genanki() -> Any:
    """genanki, imported when a deck is first built rather than at every start-up."""
    import genanki  # type: ignore[import-untyped]

    return genanki


@functools.cache
def _model() -> Any:
    """The note type every studybot deck uses (its id never changes)."""
    return _genanki().Model(
        MODEL_ID,
        "studybot question",
        fields=[
            {"name": "Prompt"},
            {"name": "Options"},
            {"name": "Answer"},
            {"name": "Explanation"},
            {"name": "Source"},
        ],
        templates=[{"name": "Recall", "qfmt": FRONT, "afmt": BACK}],
        css=CSS,
    )


WHICH = Option(
    "which",
    "misses (default): questions you got wrong; all: every question you answered; or a topic",
    Kind.CHOICE,
    ("misses", "all", *TOPICS),
)


@dataclass(frozen=True)
class Answered:
    """A question the member answered, as the bank has it now, and whether they ever got it
    wrong."""

    item: ChoiceItem | OpenItem
    missed: bool
    retired: bool  # by the workspace: never exported, only counted


# ---- what the member answered -------------------------------------------------------------


async def _answered(conn: AsyncConnection, member: MemberRef) -> list[Answered]:
    """The questions the member answered: the bank's current text (else what they were
    shown), whether they ever got it wrong, and whether the workspace retired it."""
    rows = await conn.execute(
        select(answers.c.question_id, answers.c.correct, answers.c.option_index, drops.c.question)
        .select_from(answers.join(drops, drops.c.id == answers.c.drop_id))
        .where(*sql.of_member(answers, member))
        .order_by(answers.c.id)
    )
    shown: dict[str, str] = {}
    missed: set[str] = set()
    for question_id, correct, option_index, snapshot in rows.all():
        shown[question_id] = snapshot  # the latest time they saw it
        if option_index is not None and correct is False:
            missed.add(question_id)
    retired = set(
        (
            await conn.scalars(
                select(retirements.c.question_id).where(
                    *sql.of_workspace(retirements, member),
                    retirements.c.question_id.in_(list(shown)),
                )
            )
        ).all()
    )
    current = await _current_text(conn, member, list(shown))
    found = []
    for question_id, snapshot in shown.items():
        item = bank.from_json(current.get(question_id, snapshot))
        if isinstance(item, ChoiceItem | OpenItem):
            found.append(Answered(item, question_id in missed, question_id in retired))
    return sorted(found, key=lambda a: _order(a.item))


async def _current_text(conn: AsyncConnection, member: MemberRef, ids: list[str]) -> dict[str, str]:
    """The bank's current JSON for these questions; the workspace's own wins over shipped."""
    if not ids:
        return {}
    rows = await conn.execute(
        select(questions.c.id, questions.c.platform, questions.c.body).where(
            or_(
                and_(questions.c.platform == SHIPPED, questions.c.workspace_id == SHIPPED),
                and_(*sql.of_workspace(questions, member)),
            ),
            questions.c.id.in_(ids),
        )
    )
    found: dict[str, str] = {}
    for question_id, _platform, body in sorted(rows.all(), key=lambda r: r[1] != SHIPPED):
        found[question_id] = body  # shipped first, so the workspace's own overwrites it
    return found


def _order(item: Item) -> tuple[int, str, int, str]:
    topic = TOPICS.index(item.topic) if item.topic in TOPICS else len(TOPICS)
    return topic, item.topic, DIFFICULTIES.index(item.difficulty), item.id


# ---- the notes ----------------------------------------------------------------------------


def _html(text: str) -> str:
    """Bank text as an Anki field: escaped, `code` kept as code, line breaks kept."""
    escaped = html.escape(text.strip(), quote=False)
    escaped = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", escaped)
    return escaped.replace("\n", "<br>")


def note_fields(item: ChoiceItem | OpenItem) -> list[str]:
    """Prompt, Options, Answer, Explanation and Source, as the note type names them."""
    source = _html(f"{topic_name(item.topic)} · {item.difficulty} · {item.id}")
    if isinstance(item, OpenItem):
        points = "".join(f"<li>{_html(p)}</li>" for p in item.points)
        return [
            _html(item.prompt),
            "",
            _html(item.answer),
            f"<p>Key points:</p><ul>{points}</ul>",
            source,
        ]
    options = "".join(
        f"<div>{LETTERS[n]}. {_html(o.text)}</div>" for n, o in enumerate(item.options)
    )
    key = item.key_index
    why = []
    for n, option in enumerate(item.options):
        mark = "✓ right" if option.correct else "✗ wrong"
        line = f"<p><b>{LETTERS[n]}. {_html(option.text)}</b> ({mark}): {_html(option.reason)}"
        if option.misconception:
            misconception = _html(option.misconception)
            line += f'<br><span class="misconception">Misconception: {misconception}</span>'
        why.append(line + "</p>")
    answer = f"{LETTERS[key]}. {_html(item.options[key].text)}"
    return [_html(item.prompt), options, answer, "".join(why), source]


def _number(*parts: str) -> int:
    """A stable id in the range genanki suggests, from the parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:8], "big") % (1 << 30)


def deck_id(member: MemberRef) -> int:
    return _number(GUID_SALT, "deck", member.platform, member.workspace_id)


def note_guid(member: MemberRef, question_id: str) -> str:
    guid: str = _genanki().guid_for(GUID_SALT, member.platform, member.workspace_id, question_id)
    return guid


def _note(member: MemberRef, found: Answered) -> Any:
    item = found.item
    tags = ["studybot", item.topic, item.difficulty, *(["missed"] if found.missed else [])]
    return _genanki().Note(
        model=_model(), fields=note_fields(item), guid=note_guid(member, item.id), tags=tags
    )


def build_package(name: str, number: int, notes: Sequence[Any], at: float) -> bytes:
    """The .apkg: a zip holding the SQLite collection genanki writes (in a temporary
    directory that is removed afterwards) and an empty media list."""
    genanki = _genanki()
    deck = genanki.Deck(
        number,
        name,
        "Questions from studybot. Importing a later export "
        "updates these cards and keeps your reviews.",
    )
    for note in notes:
        deck.add_note(note)
    package = genanki.Package(deck)
    with tempfile.TemporaryDirectory(prefix="studybot-anki-") as tmp:
        path = Path(tmp) / "collection.anki2"
        with contextlib.closing(sqlite3.connect(path)) as db:
            package.write_to_db(db.cursor(), at, itertools.count(int(at * 1000)))
            db.commit()
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, "collection.anki2")
            archive.writestr("media", "{}")
    return out.getvalue()


# ---- the command --------------------------------------------------------------------------


def _chosen(which: str, everything: list[Answered]) -> tuple[list[Answered], str]:
    """The questions for this export (retired ones still in), and how the card says it."""
    if which == "misses":
        return [a for a in everything if a.missed], "you have got wrong at least once"
    if which == "all":
        return everything, "you have answered"
    return [a for a in everything if a.item.topic == which], (
        f"on {topic_name(which)} you have answered"
    )


def _nothing(which: str, everything: list[Answered], retired: int) -> str:
    """Why there is no deck to send, and what to do about it."""
    if not everything:
        return (
            "You have not answered any question yet, so there is nothing to put in a deck. "
            "Answer a drop, `/quiz` or `/practice`, then run `/me anki` again."
        )
    if retired:
        which_ones = "The one question" if retired == 1 else f"All {retired} questions"
        return (
            f"{which_ones} for this deck {'is' if retired == 1 else 'are'} retired in this "
            "workspace, so there is nothing to export. `/me anki all` exports every question "
            "you have answered that is still in use."
        )
    if which == "misses":
        return (
            "You have not got a multiple-choice question wrong yet, so a deck of misses "
            "would be empty. `/me anki all` exports every question you have answered."
        )
    return (
        f"You have not answered any {topic_name(which)} question yet. `/practice "
        f"topic:{which}` asks you one; `/me anki all` exports every question you have answered."
    )


async def anki_command(ctx: Context, inv: Invocation) -> Reply:
    member = inv.member.ref
    which = inv.get("which") or "misses"
    async with ctx.engine.connect() as conn:
        everything = await _answered(conn, member)
        workspace = await conn.scalar(
            select(workspaces.c.name).where(
                workspaces.c.platform == member.platform,
                workspaces.c.workspace_id == member.workspace_id,
            )
        )
    selected, described = _chosen(which, everything)
    chosen = [a for a in selected if not a.retired]
    retired = len(selected) - len(chosen)
    if not chosen:
        return Reply.text(_nothing(which, everything, retired), title="Anki deck")
    name = f"studybot::{workspace.replace('::', ':')}" if workspace else "studybot"
    notes = [_note(member, found) for found in chosen]
    at = ctx.clock.now().timestamp()
    content = await asyncio.to_thread(build_package, name, deck_id(member), notes, at)
    filename = f"studybot-{which}.apkg"
    left_out = f" ({plural(retired, 'retired question')} left out)" if retired else ""
    return Reply(
        card=Card(
            title="Your Anki deck",
            body=f"{plural(len(chosen), 'question')} {described}{left_out}, attached as "
            f"{filename} for the deck {name}. In Anki choose File → Import.",
            footer="Importing a later export updates these cards instead of adding copies.",
            tone=Tone.INFO,
        ),
        files=(Attachment(filename, content),),
    )


FEATURE = Feature(
    "anki",
    commands=(
        CommandSpec(
            "me anki",
            "Your missed (or all, or one topic's) questions as an Anki deck",
            anki_command,
            (WHICH,),
            example="/me anki all",
        ),
    ),
)
