"""Two workspaces on one database, with the same user ids (issue 14): nothing done in one, a
command, a button, a form, a board, a report, an export, a pack, a schedule, a digest or a
forget, reads or changes the other. On SQLite and PostgreSQL (the ``database_url`` fixture).

Workspace w2 is busy first and its rows are kept aside; then w1 does everything it can,
including pressing buttons and sending forms that carry w2's drop, group and schedule ids.
Afterwards w2's rows are exactly as they were, and nothing w1 was shown (replies, posts,
DMs, the export) holds any of w2's names, answers, questions or settings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from functools import cache

import pytest
from sqlalchemy import RowMapping, select

from bot.chat import (
    Action,
    Attachment,
    Card,
    Command,
    Event,
    FormSubmit,
    Member,
    MemberRef,
    Place,
    Reaction,
    Reply,
)
from bot.commands import commands
from bot.handlers import Permission
from bot.store.schema import drops, mock_groups, questions, schedules
from questions.loader import load_bank, load_file
from questions.schema import Item
from tests.conftest import DATA, Chat, make_chat
from tests.matrix import changed, files_for, pack, snapshot, text_of

W1, W2 = Place("memory", "w1", "c1"), Place("memory", "w2", "c1")  # the same channel id too


def _people(place: Place, admin: str, alice: str, bob: str) -> tuple[Member, Member, Member]:
    """An admin and two members, by display name; their ids are the same in both workspaces."""

    def one(user_id: str, name: str) -> Member:
        ref = MemberRef(place.platform, place.workspace_id, user_id)
        return Member(ref, name, is_admin=user_id == "admin")

    return one("admin", admin), one("alice", alice), one("bob", bob)


ONE = _people(W1, "Admin", "Alice", "Bob")
TWO = _people(W2, "Wren Admin", "Wanda Wolfe", "Walter Wick")
W2_ANSWER = "Wombat wisdom: overfitting is memorising the noise."
# What only w2 has: its members' names, an answer, its own pack, its time zone and role.
SECRETS = ("Wren", "Wanda", "Walter", "Wombat", "feature store", "Tokyo", "&77")


@cache
def _bank() -> tuple[Item, ...]:
    """The mini bank, plus enough open and scenario items for mock packets."""
    extra: dict[str, list[Item]] = {}
    for item in load_bank():
        if item.kind != "choice":
            extra.setdefault(item.kind, []).append(item)
    return load_file(DATA / "mini.yaml") + tuple(i for kind in extra.values() for i in kind[:20])


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=_bank())
    try:
        yield chat
    finally:
        await chat.app.close()


class Seen:
    """Everything a workspace was shown in reply to what it did."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.texts: list[str] = []

    async def send(self, event: Event) -> Reply:
        reply = await self.chat.app.handle(event)
        assert reply is not None
        for card in (reply.card, *reply.notes):
            self.texts.append(_card_text(card))
        for file in reply.files:
            if file.name.endswith(".json"):
                self.texts.append(file.content.decode())
        if reply.form is not None:
            self.texts.append(json.dumps([f.label for f in reply.form.fields]))
        assert reply.card is None or "went wrong on our side" not in reply.card.body, reply
        return reply

    async def run(
        self, text: str, who: Member, place: Place, *, files: tuple[Attachment, ...] = ()
    ) -> Reply:
        return await self.send(Command(who, place, text=text, files=files))


def _card_text(card: Card | None) -> str:
    if card is None:
        return ""
    fields = " ".join(f"{f.name} {f.value}" for f in card.fields)
    return " ".join((card.title, card.body, fields, card.footer, *(b.label for b in card.buttons)))


def _shown_in(chat: Chat, workspace: str) -> Iterable[str]:
    """Every post, edit and DM the platform holds for a workspace."""
    for message in chat.platform.messages.values():
        if message.place.workspace_id == workspace:
            yield _card_text(message.card)


def _in_w2(table: str, row: RowMapping) -> bool:
    return row.get("workspace_id") == "w2"


# ---- a busy workspace -------------------------------------------------------------------------


async def _answers_and_votes(seen: Seen, place: Place, people: tuple[Member, ...]) -> None:
    admin, alice, bob = people
    await seen.run("/drop now kind:open", admin, place)
    drop = seen.chat.posts(place)[-1]
    for who, text in ((alice, W2_ANSWER if place == W2 else "Plain."), (bob, "Another.")):
        form = await seen.send(Action(who, place, drop.card.buttons[0].action_id, drop.message_id))
        assert form.form is not None
        await seen.send(FormSubmit(who, place, form.form.form_id, {"answer": text}))
    await seen.run("/reveal", admin, place)
    for message in list(seen.chat.platform.messages.values()):
        if message.place.workspace_id == place.workspace_id and "answer" in message.card.title:
            await seen.chat.app.handle(Reaction(alice, message.place, message.message_id, "👍"))
    await seen.run("/drop now kind:choice", admin, place)
    choice = seen.chat.posts(place)[-1]
    await seen.send(Action(alice, place, choice.card.buttons[0].action_id, choice.message_id))


async def _mock_round(seen: Seen, place: Place, people: tuple[Member, ...]) -> None:
    admin, alice, bob = people
    for who in (alice, bob):
        form = await seen.run("/mock join", who, place)
        assert form.form is not None
        values = {
            "level": "mid",
            "focus": "technical",
            "timezone": "UTC",
            "availability": "weekday evenings",
            "cadence": "weekly",
        }
        await seen.send(FormSubmit(who, place, form.form.form_id, values))
    await seen.run("/mock settings", admin, place)
    await seen.run("/mock round now", admin, place)


async def _busy(seen: Seen, place: Place, people: tuple[Member, ...], *, timed: bool) -> None:
    """What a workspace does in a week; ``timed``: with the timed work (rounds, reminders,
    running schedules) a test that advances the clock leaves out for the other workspace."""
    admin, alice, bob = people
    if place == W2:
        await seen.run("/settings timezone Asia/Tokyo", admin, place)
        await seen.run("/settings reward-role <@&77>", admin, place)
        await seen.run("/questions import good.yaml", admin, place, files=(pack("good.yaml"),))
    else:
        await seen.run("/questions import good.csv", admin, place, files=(pack("good.csv"),))
    await seen.run("/questions retire evaluation-accuracy-rare-fraud", admin, place)
    await _answers_and_votes(seen, place, people)
    quiz = await seen.run("/quiz kind:choice", alice, place)
    assert quiz.card is not None
    await seen.send(Action(alice, place, quiz.card.buttons[0].action_id, ""))
    await seen.run("/schedule add daily 09:00", admin, place)
    if timed:
        await seen.run("/remind 19:00", alice, place)
        await _mock_round(seen, place, people)
    else:
        ids = await _ids(seen.chat, place.workspace_id)
        await seen.run(f"/schedule pause {ids['schedule']}", admin, place)
    await seen.run(f"/mock block @{bob.ref.user_id}", alice, place)  # after the round


async def _ids(chat: Chat, workspace: str) -> dict[str, object]:
    """The workspace's newest open and choice drop, mock group, schedule and own question."""
    newest = {
        "open": select(drops.c.id).where(drops.c.kind == "open").order_by(drops.c.id.desc()),
        "choice": select(drops.c.id).where(drops.c.kind == "choice").order_by(drops.c.id.desc()),
        "group": select(mock_groups.c.id).order_by(mock_groups.c.id.desc()),
        "schedule": select(schedules.c.id).order_by(schedules.c.id.desc()),
        "question": select(questions.c.id).order_by(questions.c.id),
    }
    tables = {"open": drops, "choice": drops, "group": mock_groups, "schedule": schedules}
    out: dict[str, object] = {}
    async with chat.app.ctx.engine.connect() as conn:
        for name, query in newest.items():
            table = tables.get(name, questions)
            out[name] = await conn.scalar(query.where(table.c.workspace_id == workspace).limit(1))
    return out


# ---- reaching into the other one ----------------------------------------------------------------


async def _forged(seen: Seen, theirs: dict[str, object]) -> None:
    """w1's admin and member press w2's buttons, send w2's forms and name w2's ids: each is
    refused as not found or not theirs."""
    admin, alice, _bob = ONE
    group, drop, choice = theirs["group"], theirs["open"], theirs["choice"]
    feedback = {"scores": "3 3 3 3 3", "strength": "x", "improve": "y"}
    events: list[Event] = [
        Action(alice, W1, f"drop:{choice}:0", ""),
        Action(alice, W1, f"drop:{drop}:open", ""),
        FormSubmit(alice, W1, f"drop:{drop}:open", {"answer": "sneaky"}),
        *(Action(alice, W1, f"mock:{group}:{a}", "") for a in ("yes", "notyet", "no", "feedback")),
        FormSubmit(alice, W1, f"mock:{group}:feedback:technical", feedback),
    ]
    for event in events:
        reply = await seen.send(event)
        assert reply.form is None and reply.card is not None, (event, reply)
    for line in (
        f"/reveal {drop}",
        f"/schedule pause {theirs['schedule']}",
        f"/schedule resume {theirs['schedule']}",
        f"/schedule edit {theirs['schedule']} daily 10:00",
        f"/schedule preview {theirs['schedule']}",
        f"/schedule remove {theirs['schedule']}",
        f"/questions retire {theirs['question']}",
        f"/questions restore {theirs['question']}",
    ):
        reply = await seen.run(line, admin, W1)
        assert reply.card is not None and reply.card.tone.value == "bad", (line, reply)


async def _everything(seen: Seen) -> None:
    """Every command of the table, as w1's admin and as a w1 member; then export and forget."""
    admin, alice, _bob = ONE
    for spec in commands():
        for who in (admin,) if spec.permission is Permission.ADMIN else (admin, alice):
            await seen.run("/" + text_of(spec), who, W1, files=files_for(spec, "good.csv"))
    for who in ONE:
        await seen.run("/leaderboard all", who, W1)
        await seen.run("/stats", who, W1)
    export = await seen.run("/me export", alice, W1)
    (file,) = export.files
    for rows in json.loads(file.content)["tables"].values():
        assert all(row.get("workspace_id", "w1") == "w1" for row in rows), rows
    confirm = await seen.run("/me forget", alice, W1)
    assert confirm.card is not None
    await seen.send(Action(alice, W1, confirm.card.buttons[0].action_id, ""))


def _leaks(texts: Iterable[str]) -> list[str]:
    return sorted({s for text in texts for s in SECRETS if s in text})


async def test_nothing_in_one_workspace_reads_or_changes_the_other(chat: Chat) -> None:
    two = Seen(chat)
    await _busy(two, W2, TWO, timed=True)
    theirs = await _ids(chat, "w2")
    assert all(theirs.values()), theirs
    before = await snapshot(chat.app.ctx.engine, where=_in_w2)
    w2_posts = len(list(_shown_in(chat, "w2")))

    one = Seen(chat)
    await _busy(one, W1, ONE, timed=True)
    await _forged(one, theirs)
    await _everything(one)

    assert changed(before, await snapshot(chat.app.ctx.engine, where=_in_w2)) == {}
    assert len(list(_shown_in(chat, "w2"))) == w2_posts  # nothing posted or sent there
    assert _leaks(one.texts) == []
    assert _leaks(_shown_in(chat, "w1")) == []
    assert _leaks(two.texts + list(_shown_in(chat, "w2")))  # the secrets are real


async def test_digests_and_timed_work_stay_in_their_workspace(chat: Chat) -> None:
    """A week of w1's scheduled drops, reveals, reminders, mock follow-ups and its digest
    leaves w2 (busy, with nothing timed of its own) as it was, and never names it."""
    two = Seen(chat)
    await _busy(two, W2, TWO, timed=False)
    before = await snapshot(chat.app.ctx.engine, where=_in_w2)
    one = Seen(chat)
    await _busy(one, W1, ONE, timed=True)
    await chat.advance(timedelta(days=7, minutes=5))  # to next Monday 09:05: the digest
    digests = [t for t in _shown_in(chat, "w1") if t.startswith("Last week")]
    assert digests and all("Alice" in d or "Bob" in d for d in digests), digests
    assert changed(before, await snapshot(chat.app.ctx.engine, where=_in_w2)) == {}
    assert _leaks(_shown_in(chat, "w1")) == []
    assert not [t for t in _shown_in(chat, "w2") if t.startswith("Last week")]
