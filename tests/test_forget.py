"""/me forget really forgets (issue 14): in every state a member can be in (mid-mock, after
their partner was forgotten, with reminders and timers, with packs, schedules and drops they
authored, holding the reward role), no column of any table, and on SQLite no byte of the
database, -wal or -shm file, holds their id or name afterwards. /me export counts the same
records the forget then deletes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import make_url

from bot.chat import Attachment, Command, Member, MemberRef, Reply, plural
from bot.features.privacy import FORGOTTEN
from bot.ports import Sent
from bot.store.schema import metadata, mock_groups, timers, workspaces
from questions.loader import load_bank
from questions.schema import Item
from tests.conftest import DATA, Chat, make_chat

# Ids and names found nowhere else, so any copy left behind shows up in a plain byte search.
# The ids hold "_", a LIKE wildcard: TWIN's id matches ZED's as a LIKE pattern.
ZED = Member(MemberRef("memory", "w1", "u_zq7_x"), "Zelda Quorn", is_admin=True)
TWIN = Member(MemberRef("memory", "w1", "uXzq7Yx"), "Tomas Wynd")
PAVEL = Member(MemberRef("memory", "w1", "p_rt9_v"), "Pavel Rindquist")
EVENINGS = "weekday evenings, weekend mornings"


@cache
def _bank() -> tuple[Item, ...]:
    """Some of every kind, so mock packets can be planned."""
    by_kind: dict[str, list[Item]] = {}
    for item in load_bank():
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(item for kind in by_kind.values() for item in kind[:30])


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=_bank())
    try:
        yield chat
    finally:
        await chat.app.close()


# ---- what a member does ---------------------------------------------------------------------


def _ok(reply: Reply) -> Reply:
    text = reply.card.body if reply.card else ""
    assert "went wrong on our side" not in text, text
    return reply


async def _join_mocks(chat: Chat, who: Member) -> None:
    form = await chat.run("/mock join", as_=who)
    assert form.form is not None
    values = {
        "level": "mid",
        "focus": "technical",
        "timezone": "Europe/Berlin",
        "availability": EVENINGS,
        "cadence": "weekly",
    }
    _ok(await chat.submit(form, values, as_=who))


async def _author(chat: Chat, who: Member) -> None:
    """As an admin: a pack imported, a question retired, a schedule made, a drop posted."""
    pack = Attachment("good.yaml", (DATA / "packs" / "good.yaml").read_bytes())
    imported = await chat.app.handle(
        Command(who, chat.place, text="/questions import good.yaml", files=(pack,))
    )
    assert imported and imported.card and "Imported 2 new" in imported.card.body
    _ok(await chat.run("/questions retire acme-feature-store-latency", as_=who))
    _ok(await chat.run("/schedule add daily 10:00 tz:UTC", as_=who))
    _ok(await chat.run("/drop now kind:open", as_=who))


async def _answer_and_vote(chat: Chat, who: Member, other: Member) -> None:
    """Both answer the open drop; after the reveal each votes for the other's answer."""
    drop = chat.last_post()
    for person, text in ((who, "An answer about bias and variance."), (other, "Another one.")):
        form = await chat.press(drop, 1, as_=person)
        _ok(await chat.submit(form, {"answer": text}, as_=person))
    _ok(await chat.run("/reveal", as_=chat.admin))
    answers = [m for m in chat.platform.messages.values() if m.card.title.endswith("'s answer")]
    for message in answers:
        voter = other if who.display_name in message.card.title else who
        await chat.react(message, "👍", as_=voter)


async def _timers_of(chat: Chat, who: Member) -> None:
    """A daily review reminder and a /ping timer, both waiting."""
    _ok(await chat.run("/remind 19:00", as_=who))
    pong = await chat.run("/ping", as_=who)
    assert pong.card is not None
    form = await chat.press(pong.card, 1, as_=who)
    _ok(await chat.submit(form, {"minutes": "600"}, as_=who))


async def _private_quiz(chat: Chat, who: Member) -> None:
    quiz = await chat.run("/quiz kind:choice", as_=who)
    assert quiz.card is not None and quiz.card.buttons
    _ok(await chat.press(quiz.card, 1, as_=who))


# ---- forgetting and looking for what is left -----------------------------------------------


def _dms(chat: Chat, who: Member) -> list[Sent]:
    return [m for m in chat.platform.messages.values() if m.to == who.ref]


async def _forget(chat: Chat, who: Member) -> int:
    """/me export, then /me forget: the export's file, its card, the confirmation and the
    result all give the same number of records, and it is returned."""
    export = await chat.run("/me export", as_=who)
    (file,) = export.files
    exported = json.loads(file.content)["tables"]
    rows = sum(len(v) for v in exported.values())
    records, tables = plural(rows, "record"), plural(len(exported), "table")
    assert export.card and f"{records} in {tables}" in export.card.body
    confirm = await chat.run("/me forget", as_=who)
    assert confirm.card and f"the {records}" in confirm.card.body
    done = await chat.press(confirm.card, 1, as_=who)
    assert done.card and f"Done: {records} about you deleted" in done.card.body, done
    return rows


def _needles(*who: Member) -> list[str]:
    return [text for m in who for text in (m.ref.user_id, m.display_name)]


async def _left_in_columns(chat: Chat, *who: Member) -> list[str]:
    """Every (table.column, value) that still holds one of the members' ids or names."""
    needles = _needles(*who)
    hits = []
    async with chat.app.ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings().all():
                for name, value in row.items():
                    if value is not None and any(n in str(value) for n in needles):
                        hits.append(f"{table.name}.{name} = {value!r}")
    return hits


def _left_in_files(database_url: str, *who: Member) -> list[str]:
    """On SQLite: the database, -wal and -shm files, byte by byte."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return []
    path = Path(str(url.database))
    hits = []
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        data = file.read_bytes() if file.exists() else b""
        for needle in _needles(*who):
            if needle.encode() in data:
                hits.append(f"{file.name} holds {needle!r}")
    return hits


async def _nothing_left(chat: Chat, database_url: str, *who: Member) -> None:
    assert await _left_in_columns(chat, *who) == []
    assert _left_in_files(database_url, *who) == []


async def _round_with(chat: Chat, *people: Member) -> None:
    for who in people:
        await _join_mocks(chat, who)
    reply = _ok(await chat.run("/mock round now", as_=chat.admin))
    assert reply.card and "0 waiting" in reply.card.body


# ---- the states -------------------------------------------------------------------------------


async def test_forgotten_mid_mock_with_timers_packs_and_votes(
    chat: Chat, database_url: str
) -> None:
    """An admin who authored a pack, a schedule and a drop, answered and voted, keeps a
    reminder and a /ping timer, blocked someone, and is mid-mock with two partners, is
    forgotten: nothing of them is left, while their partners' session goes on."""
    await _author(chat, ZED)
    await _answer_and_vote(chat, ZED, TWIN)
    await _timers_of(chat, ZED)
    await _timers_of(chat, TWIN)
    await _private_quiz(chat, ZED)
    await _round_with(chat, ZED, TWIN, PAVEL)  # three: a trio
    _ok(await chat.run(f"/mock block <@{PAVEL.ref.user_id}>", as_=ZED))
    _ok(await chat.run(f"/mock block <@{ZED.ref.user_id}>", as_=TWIN))
    assert await _left_in_columns(chat, ZED)  # the search finds them while they are there
    if make_url(database_url).get_backend_name() == "sqlite":
        assert _left_in_files(database_url, ZED)

    records = await _forget(chat, ZED)
    assert records > 20
    await _nothing_left(chat, database_url, ZED)
    async with chat.app.ctx.engine.connect() as conn:
        keys = set((await conn.scalars(select(timers.c.key))).all())
        (group,) = (await conn.execute(select(mock_groups))).mappings().all()
    # TWIN's timers stay: their id matches ZED's only as a LIKE pattern.
    assert {"remind:memory:w1:uXzq7Yx", "ping:memory:w1:uXzq7Yx"} <= keys
    assert FORGOTTEN in (group["interviewer"], group["candidate"], group["observer"])
    assert group["observer"] is not None  # still a trio in the report

    # The session goes on for the other two: asked, answered, feedback sent.
    await chat.advance(timedelta(days=7, minutes=1))
    for who in (TWIN, PAVEL):
        (ask,) = [m for m in _dms(chat, who) if "happen" in m.card.title]
        assert FORGOTTEN in ask.card.body
        yes = _ok(await chat.press(ask, 1, as_=who))
    assert yes.card is not None and yes.card.buttons
    form = await chat.press(yes.card, 1, as_=PAVEL)
    assert form.form is not None
    dims = len(form.form.fields[0].label.split(":", 1)[1].split(","))
    filled = {"scores": " ".join("3" * dims), "strength": "Calm.", "improve": "Pace."}
    _ok(await chat.submit(form, filled, as_=PAVEL))
    assert not [m for m in chat.platform.messages.values() if m.to and m.to.user_id == FORGOTTEN]
    why = _ok(await chat.run("/mock why", as_=TWIN))
    assert why.card is not None
    await _nothing_left(chat, database_url, ZED)


async def test_both_partners_forgotten_after_feedback(chat: Chat, database_url: str) -> None:
    """A pair who both said yes and sent each other feedback: forgetting one, then the other,
    works both times (their packets never share a key), and leaves neither."""
    await _round_with(chat, ZED, PAVEL)
    await chat.advance(timedelta(days=7, minutes=1))
    for who in (ZED, PAVEL):
        (ask,) = [m for m in _dms(chat, who) if "happen" in m.card.title]
        yes = _ok(await chat.press(ask, 1, as_=who))
        assert yes.card is not None
        form = await chat.press(yes.card, 1, as_=who)
        assert form.form is not None, form
        dims = len(form.form.fields[0].label.split(":", 1)[1].split(","))
        filled = {"scores": " ".join("4" * dims), "strength": "Clear.", "improve": "Slower."}
        _ok(await chat.submit(form, filled, as_=who))
    first = await _forget(chat, PAVEL)
    second = await _forget(chat, ZED)
    assert first > 5 and second > 5
    await _nothing_left(chat, database_url, ZED, PAVEL)
    report = _ok(await chat.run("/mock report", as_=chat.admin))
    assert report.card is not None
    fields = {f.name: f.value for f in report.card.fields}
    assert fields["Rounds"] == "1" and fields["Groups"].startswith("1 ")


async def test_forgetting_twice_and_with_nothing_stored(chat: Chat, database_url: str) -> None:
    """A member who only ever ran /me has one record, the member row their commands wrote;
    forgetting again finds at most that row again."""
    stranger = Member(MemberRef("memory", "w1", "s_tr4ng_q"), "Sigrun Tarvo")
    assert await _forget(chat, stranger) == 1
    await _private_quiz(chat, ZED)
    assert await _forget(chat, ZED) > 3  # the member row, the drop, the answer, the card…
    assert await _forget(chat, ZED) <= 1
    await _nothing_left(chat, database_url, ZED, stranger)


async def test_the_reward_role_is_taken_back(chat: Chat, database_url: str) -> None:
    """A member holding the weekly reward role loses it when forgotten, and the holders list
    no longer names them (the next digest could not take it back otherwise)."""
    _ok(await chat.run("/settings reward-role <@&42>", as_=chat.admin))
    _ok(await chat.run("/schedule add weekly sun 10:00 tz:UTC", as_=chat.admin))  # a digest here
    _ok(await chat.run("/drop now kind:choice", as_=chat.admin))
    await chat.choose(chat.last_post(), 1, as_=ZED)  # right or wrong, it scores
    await chat.advance(timedelta(days=7, minutes=5))  # the next Monday's digest
    assert ZED.ref.user_id in chat.platform.roles["42"]
    await _forget(chat, ZED)
    assert ZED.ref.user_id not in chat.platform.roles["42"]
    async with chat.app.ctx.engine.connect() as conn:
        holders = await conn.scalar(select(workspaces.c.reward_holders))
    assert holders is not None and json.loads(holders) == []
    await _nothing_left(chat, database_url, ZED)


async def test_no_bytes_left_where_sqlite_keeps_deleted_ones(tmp_path: Path) -> None:
    """Built without secure_delete (as many SQLite builds are), deleting leaves the bytes in
    free space: the forget's rewrite of the file removes them too."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}"
    chat = await make_chat(url, items=_bank())
    try:
        engine = chat.app.ctx.engine
        await engine.dispose()  # new connections from here on keep deleted bytes

        @event.listens_for(engine.sync_engine, "connect")
        def _keep_deleted_bytes(dbapi: Any, _record: Any) -> None:
            dbapi.execute("PRAGMA secure_delete=OFF")

        await _author(chat, ZED)
        await _answer_and_vote(chat, ZED, TWIN)
        await _timers_of(chat, ZED)
        await _round_with(chat, ZED, TWIN, PAVEL)
        for _ in range(3):  # the member's row rewritten as they come back
            await chat.run("/rank", as_=ZED)
            chat.clock.advance(timedelta(minutes=6))
        await _forget(chat, ZED)
        await _nothing_left(chat, url, ZED)
    finally:
        await chat.app.close()
