"""`studybot export-workspace` / `import-workspace`: one community moved between databases
(issue 16, item 6). A workspace is filled through the real core on SQLite (schedules that
fired, one since removed, drops, answers, votes, practice cards, reminders, a /ping timer,
a mock round with packets), exported, and imported into PostgreSQL, fresh or holding another
workspace whose ids overlap. Every row arrives, ids that had to change change everywhere
they are held, the bot answers the same on both databases and goes on working, and a
failing import changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, select

from adapters.cli import main
from bot.chat import Card, Place, Reply
from bot.ports import ManualClock, MemoryPlatform, Sent
from bot.store import transfer
from bot.store.db import create_engine, head_revision, migrate
from bot.store.schema import metadata
from questions.loader import load_bank
from questions.schema import Item
from tests.conftest import Chat, make_chat, member

# Where ids live, written out from bot/store/schema.py and the features' keys: the rules the
# import must follow, stated here independently of bot/store/transfer.py.
ID_COLUMNS: Mapping[tuple[str, str], str] = {
    **{
        (t, "id"): t
        for t in (
            "drops",
            "answers",
            "schedules",
            "fires",
            "timers",
            "review_logs",
            "mock_rounds",
            "mock_groups",
            "away_periods",
        )
    },
    ("answers", "drop_id"): "drops",
    ("hints_shown", "drop_id"): "drops",
    ("drops", "schedule_id"): "schedules",
    ("fires", "drop_id"): "drops",
    ("mock_rounds", "fire_id"): "fires",
    ("mock_groups", "round_id"): "mock_rounds",
    ("mock_checkins", "group_id"): "mock_groups",
    ("mock_packets", "group_id"): "mock_groups",
    ("mock_feedback", "group_id"): "mock_groups",
    ("mock_profiles", "last_round"): "mock_rounds",
}
PLAIN_NUMBERS = {
    ("answers", "option_index"),
    ("answers", "points"),
    ("answers", "votes"),
    ("scores", "points"),
    ("scores", "answered"),
    ("scores", "correct"),
    ("schedules", "reveal_minutes"),
    ("fires", "attempts"),
    ("cards", "state"),
    ("cards", "reps"),
    ("cards", "lapses"),
    ("review_logs", "rating"),
    ("streaks", "current"),
    ("streaks", "best"),
    ("mock_profiles", "missed_in_row"),
    ("mock_rounds", "waiting"),
    # A season's number counts up per workspace (not handed out by the database), so it
    # moves with the workspace unchanged, as does "season:<number>" in scores.period.
    ("seasons", "number"),
    ("season_results", "season"),
    ("season_results", "place"),
    ("season_results", "points"),
    ("season_results", "answered"),
    ("season_results", "correct"),
}
KEY_TABLES = {
    "schedule": "schedules",
    "reveal": "drops",
    "mock-group": "mock_groups",
    "mock-round": "mock_rounds",
    "mock-follow-up": "mock_groups",
    "selfrate:dm": "drops",
    "selfrate:rated": "drops",
    "selfrate:review": "drops",
    "mock-draft": "mock_groups",
}
KEY = re.compile(
    r"^(schedule|reveal|mock-group|mock-round|mock-follow-up|selfrate:dm|selfrate:rated"
    r"|selfrate:review|mock-draft):(\d+)(?=:|$)"
)
TEXT_KEYS = {("fires", "job"), ("deliveries", "key"), ("timers", "key"), ("drops", "posted_by")}
W1 = ("memory", "w1")
W2 = ("memory", "w2")
EVENINGS = "weekday evenings, weekend mornings"
Rows = dict[str, list[dict[str, Any]]]


@cache
def _bank() -> tuple[Item, ...]:
    """Some of every kind, so mock packets can be planned."""
    by_kind: dict[str, list[Item]] = {}
    for item in load_bank():
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(item for kind in by_kind.values() for item in kind[:30])


def test_every_integer_column_is_an_id_or_a_plain_number() -> None:
    """A new integer column must be classified here, and the import's own lists agree."""
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Integer):
                key = (table.name, column.name)
                assert key in ID_COLUMNS or key in PLAIN_NUMBERS, f"{key}: an id or a number?"
    assert {t.name for t in transfer.id_tables()} == {
        t for (t, c), _ in ID_COLUMNS.items() if c == "id"
    }
    refs = {k: v for k, v in ID_COLUMNS.items() if k[1] != "id"}
    assert transfer.int_refs() == refs
    assert dict(transfer.KEY_PREFIXES) == KEY_TABLES
    assert set(transfer.KEY_COLUMNS) == TEXT_KEYS


# ---- a community, through the core -------------------------------------------------------


def _ok(reply: Reply) -> Reply:
    text = reply.card.body if reply.card else ""
    assert "went wrong on our side" not in text, text
    return reply


def _in(chat: Chat, workspace: str) -> Chat:
    """The chat's members and channel in ``workspace``."""
    chat.place = Place("memory", workspace, "c1")
    chat.admin = member("Admin", admin=True, workspace=workspace)
    chat.alice = member("Alice", workspace=workspace)
    chat.bob = member("Bob", workspace=workspace)
    chat.carol = member("Carol", workspace=workspace)
    return chat


async def _mock_round(chat: Chat) -> None:
    for name in ("Ann", "Ben", "Cat"):
        who = member(name, workspace=chat.place.workspace_id)
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
    reply = _ok(await chat.run("/mock round now", as_=chat.admin))
    assert reply.card and "1 trio" in reply.card.body


async def _open_drop_with_votes(chat: Chat) -> None:
    _ok(await chat.run("/drop now kind:open", as_=chat.admin))
    drop = chat.last_post()
    for who, text in ((chat.alice, "Bias against variance."), (chat.bob, "Regularise more.")):
        form = await chat.press(drop, 1, as_=who)
        _ok(await chat.submit(form, {"answer": text * 2}, as_=who))
    _ok(await chat.run("/reveal", as_=chat.admin))
    thread = [m for m in chat.platform.messages.values() if m.card.title.endswith("'s answer")]
    for message in thread:
        await chat.react(message, "👍", as_=chat.carol)
    (rating,) = [m for m in chat.platform.messages.values() if m.to == chat.alice.ref]
    done = await chat.press(rating, len(rating.card.buttons), as_=chat.alice, place=rating.place)
    assert done.card is not None and done.card.title.startswith("Rated")  # selfrate:rated:…


async def populate(chat: Chat) -> Sent:
    """Everything a community leaves in the database; returns a choice drop left open."""
    _ok(await chat.run("/schedule add daily 09:30 tz:UTC kind:choice reveal:30m", as_=chat.admin))
    _ok(await chat.run("/schedule add daily 10:00 tz:UTC kind:choice", as_=chat.admin))
    await chat.advance(timedelta(hours=1, minutes=1))  # #1 posts and reveals, #2 posts
    scheduled = [m for m in chat.posts() if m.card.buttons][-1]
    _ok(await chat.choose(scheduled, 1, as_=chat.alice))
    _ok(await chat.run("/schedule remove 1", as_=chat.admin))  # its drop and fires stay
    _ok(await chat.run("/drop now kind:choice", as_=chat.admin))
    await chat.choose(chat.last_post(), 1, as_=chat.alice)
    await chat.choose(chat.last_post(), 2, as_=chat.bob)
    _ok(await chat.run("/reveal", as_=chat.admin))
    await _open_drop_with_votes(chat)
    practice = _ok(await chat.run("/practice", as_=chat.alice))
    assert practice.card is not None
    _ok(await chat.choose(practice.card, 1, as_=chat.alice))
    _ok(await chat.run("/remind 19:00", as_=chat.alice))
    pong = _ok(await chat.run("/ping", as_=chat.bob))
    assert pong.card is not None
    form = await chat.press(pong.card, 1, as_=chat.bob)
    _ok(await chat.submit(form, {"minutes": "600"}, as_=chat.bob))
    await _mock_round(chat)
    _ok(await chat.run("/drop now kind:choice", as_=chat.admin))
    return chat.last_post()


class Platform(MemoryPlatform):
    """The in-memory platform with idempotency keys per channel, as Slack and Discord find a
    post by its key (in one channel), so two workspaces' "drop:1" are two posts."""

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        scoped = None if key is None else f"{place.workspace_id}/{place.channel_id}/{key}"
        return await super().post(place, card, key=scoped)

    async def find_post(self, place: Place, key: str) -> str | None:
        return await super().find_post(place, f"{place.workspace_id}/{place.channel_id}/{key}")


# ---- reading databases and comparing ------------------------------------------------------


async def rows_of(url: str, scope: tuple[str, str]) -> Rows:
    """Every row of the workspace, by table."""
    engine = create_engine(url)
    found: Rows = {}
    try:
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                query = select(table).where(
                    table.c.platform == scope[0], table.c.workspace_id == scope[1]
                )
                result = await conn.execute(query)
                found[table.name] = [dict(r) for r in result.mappings().all()]
    finally:
        await engine.dispose()
    return found


def _ids(rows: Rows) -> dict[str, set[int]]:
    """Every id each id table's rows have or are referred to by, per the rules above."""
    ids: dict[str, set[int]] = {t: set() for (t, c) in ID_COLUMNS if c == "id"}
    for (table, column), target in ID_COLUMNS.items():
        ids[target] |= {r[column] for r in rows[table] if r[column] is not None}
    for table, column in TEXT_KEYS:
        for row in rows[table]:
            if row[column] and (found := KEY.match(row[column])):
                ids[KEY_TABLES[found[1]]].add(int(found[2]))
    for row in rows["timers"]:
        if "group_id" in (payload := json.loads(row["payload"])):
            ids["mock_groups"].add(payload["group_id"])
    return ids


def derived_maps(source: Rows, target: Rows) -> dict[str, dict[int, int]]:
    """Old id → new id, read off the two databases: the n-th smallest id is the n-th smallest."""
    before, after = _ids(source), _ids(target)
    maps = {}
    for table, old in before.items():
        assert len(old) == len(after[table]), table
        maps[table] = dict(zip(sorted(old), sorted(after[table]), strict=True))
    return maps


def mapped(
    table: str, row: Mapping[str, Any], maps: Mapping[str, Mapping[int, int]]
) -> dict[str, Any]:
    """The source row as the import should have written it."""
    out = dict(row)
    for (name, column), target in ID_COLUMNS.items():
        if name == table and out[column] is not None:
            out[column] = maps[target][out[column]]
    for name, column in TEXT_KEYS:
        if name == table and out[column] and (found := KEY.match(out[column])):
            new = maps[KEY_TABLES[found[1]]][int(found[2])]
            out[column] = f"{found[1]}:{new}{out[column][found.end() :]}"
    if table == "timers" and "group_id" in (payload := json.loads(out["payload"])):
        payload["group_id"] = maps["mock_groups"][payload["group_id"]]
        out["payload"] = json.dumps(payload)
    if table == "mock_rounds" and out["summary"]:
        out["summary"] = re.sub(
            r"^Round (\d+)", lambda m: f"Round {maps['mock_rounds'][int(m[1])]}", out["summary"]
        )
    return out


def same_rows(source: Rows, target: Rows, maps: Mapping[str, Mapping[int, int]]) -> None:
    def canon(rows: list[dict[str, Any]]) -> list[str]:
        return sorted(json.dumps(r, default=str, sort_keys=True) for r in rows)

    for table, rows in source.items():
        expected = canon([mapped(table, r, maps) for r in rows])
        assert canon(target[table]) == expected, f"{table} differs after the move"


def _text(card: Card | None) -> str:
    assert card is not None
    fields = "\n".join(f"{f.name}: {f.value}" for f in card.fields)
    return f"{card.title}\n{card.body}\n{fields}\n{card.footer}"


async def answers_of(chat: Chat) -> dict[str, str]:
    """What the bot says to a few commands in w1."""
    ann = member("Ann", workspace="w1")
    replies = {
        "board": await chat.run("/leaderboard all", as_=chat.alice),
        "week": await chat.run("/leaderboard", as_=chat.alice),
        "stats": await chat.run("/stats", as_=chat.alice),
        "schedules": await chat.run("/schedule list", as_=chat.admin),
        "review": await chat.run("/review", as_=chat.alice),
        "mock": await chat.run("/mock status", as_=ann),
        "report": await chat.run("/mock report", as_=chat.admin),
    }
    return {name: _text(reply.card) for name, reply in replies.items()}


def renamed(text: str, maps: Mapping[str, Mapping[int, int]]) -> str:
    """Schedule and round numbers as the bot shows them, moved to their new ids."""
    text = re.sub(r"#(\d+)", lambda m: f"#{maps['schedules'][int(m[1])]}", text)
    text = re.sub(
        r"schedule preview (\d+)",
        lambda m: f"schedule preview {maps['schedules'][int(m[1])]}",
        text,
    )
    return re.sub(r"Round (\d+)", lambda m: f"Round {maps['mock_rounds'][int(m[1])]}", text)


# ---- fixtures ----------------------------------------------------------------------------------


async def cli(*argv: str) -> int:
    """``studybot …`` as typed (it runs its own event loop, so off this one)."""
    return await asyncio.to_thread(main, list(argv))


async def source_db(tmp_path: Path, platform: MemoryPlatform) -> tuple[str, Sent, datetime]:
    """A SQLite database with w1 filled in; the open drop's message and the clock's time.
    Every community of a test posts to the one ``platform``, as they would to Slack: the
    messages stay there whichever database the bot runs on."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    chat = await make_chat(url, items=_bank(), platform=platform)
    try:
        open_drop = await populate(chat)
        return url, open_drop, chat.clock.now()
    finally:
        await chat.app.close()


async def restarted(url: str, now: datetime, platform: MemoryPlatform) -> Chat:
    return await make_chat(url, items=_bank(), clock=ManualClock(now), platform=platform)


# ---- the round trips ----------------------------------------------------------------------


@pytest.mark.postgres
async def test_into_postgres_holding_another_workspace_with_the_same_ids(
    tmp_path: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    platform = Platform()
    source_url, open_drop, now = await source_db(tmp_path, platform)
    other = _in(await make_chat(postgres_url, items=_bank(), platform=platform), "w2")
    try:
        await populate(other)  # ids 1, 2, 3… in w2 as well
    finally:
        await other.app.close()
    w2_before = await rows_of(postgres_url, W2)

    file = tmp_path / "w1.jsonl"
    assert (
        await cli("export-workspace", "memory:w1", str(file), "--db", str(tmp_path / "source.db"))
        == 0
    )
    assert capsys.readouterr().out.startswith(f"exported memory:w1 from {source_url} to {file} (")
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert await cli("import-workspace", str(file)) == 0
    report = capsys.readouterr().out

    source, target = await rows_of(source_url, W1), await rows_of(postgres_url, W1)
    maps = derived_maps(source, target)
    same_rows(source, target, maps)
    assert await rows_of(postgres_url, W2) == w2_before  # the other workspace is untouched
    w2_ids = _ids(w2_before)
    for table, mapping in maps.items():
        assert not set(mapping.values()) & w2_ids[table], f"{table}: ids collide with w2"
        assert not set(mapping.values()) & set(mapping), f"{table}: an old id was reused"
    assert "(new ids)" in report
    new_two = maps["schedules"][2]  # #1 was removed: only the schedule that exists is named
    assert f"Schedule numbers changed: #2 is now #{new_two}. /schedule" in report
    for table in ("drops", "answers", "mock_packets", "timers"):
        assert re.search(rf"^  {table} +{len(source[table])}\b", report, re.M), report

    before = await restarted(source_url, now, platform)
    after = await restarted(postgres_url, now, platform)
    try:
        said, says = await answers_of(before), await answers_of(after)
        assert {k: renamed(v, maps) for k, v in said.items()} == says
        late = await after.choose(open_drop, 1, as_=after.carol)  # a button from before the move
        assert late.card and late.card.body == "That question no longer exists."
        await _goes_on(after)
    finally:
        await before.app.close()
        await after.app.close()


async def _goes_on(chat: Chat) -> None:
    """A day later the imported schedule posts in w1 and w2's in w2, with fresh ids."""
    async with chat.app.ctx.engine.connect() as conn:
        drops = metadata.tables["drops"]
        highest = await conn.scalar(select(drops.c.id).order_by(drops.c.id.desc()).limit(1))
    await chat.advance(timedelta(days=1))
    posted = {
        m.place.workspace_id: int(m.card.title.split("#")[1].split(" ")[0])
        for m in chat.posts() + chat.posts(Place("memory", "w2", "c1"))
        if m.card.title.startswith("Question drop #")
    }
    assert highest is not None and posted["w1"] > highest and posted["w2"] > highest
    _ok(await chat.run("/drop now kind:choice", as_=chat.admin))
    w2_admin = member("Admin", admin=True, workspace="w2")
    _ok(await chat.run("/drop now kind:choice", as_=w2_admin, place=Place("memory", "w2", "c1")))


@pytest.mark.postgres
async def test_into_a_fresh_postgres_every_id_is_kept(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The usual move (the whole community to a new database): rows arrive exactly, so the
    schedule numbers members know and buttons already posted keep working."""
    platform = Platform()
    source_url, open_drop, now = await source_db(tmp_path, platform)
    file = tmp_path / "w1.jsonl"
    assert (
        await cli("export-workspace", "memory:w1", str(file), "--db", str(tmp_path / "source.db"))
        == 0
    )
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    assert await cli("import-workspace", str(file)) == 0
    source, target = await rows_of(source_url, W1), await rows_of(postgres_url, W1)
    for table in source:
        key = [c.name for c in metadata.tables[table].primary_key.columns]
        order = lambda r, key=key: tuple(str(r[k]) for k in key)  # noqa: E731
        assert sorted(target[table], key=order) == sorted(source[table], key=order), table

    before = await restarted(source_url, now, platform)
    after = await restarted(postgres_url, now, platform)
    try:
        assert await answers_of(before) == await answers_of(after)
        late = _ok(await after.choose(open_drop, 1, as_=after.carol))
        assert late.card and "no longer exists" not in late.card.body
        await after.advance(timedelta(days=1))  # the sequences moved past the imported ids
        _ok(await after.run("/drop now kind:choice", as_=after.admin))
    finally:
        await before.app.close()
        await after.app.close()


# ---- refusals and failures ------------------------------------------------------------------


async def everything(url: str) -> dict[str, list[str]]:
    """Every row of every table, in a comparable form."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table.name: sorted(
                    json.dumps(dict(r), default=str, sort_keys=True)
                    for r in (await conn.execute(select(table))).mappings().all()
                )
                for table in metadata.sorted_tables
            }
    finally:
        await engine.dispose()


def edited(file: Path, edit: Any, name: str) -> Path:
    """A copy of the export with ``edit(lines)`` applied (lines parsed as JSON)."""
    lines = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
    edit(lines)
    copy = file.with_name(name)
    copy.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return copy


async def exported(tmp_path: Path) -> Path:
    await source_db(tmp_path, Platform())
    file = tmp_path / "w1.jsonl"
    source = str(tmp_path / "source.db")
    assert await cli("export-workspace", "memory:w1", str(file), "--db", source) == 0
    return file


def _break_a_packet(lines: list[Any]) -> None:
    """The last mock packet without its kind (NOT NULL): refused by the database, after the
    rows of most other tables went in."""
    packet = [x for x in lines[1:] if x["table"] == "mock_packets"][-1]
    packet["row"]["kind"] = None


async def test_a_failing_import_leaves_the_target_as_it_was(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = await exported(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await cli("import-workspace", str(file)) == 0
    source = await rows_of(database_url, W1)
    before = await everything(database_url)
    capsys.readouterr()

    assert await cli("import-workspace", str(file)) == 1  # it is there already
    err = capsys.readouterr().err
    assert "already holds memory:w1" in err and "Add --replace" in err
    broken = edited(file, _break_a_packet, "broken.jsonl")
    assert await cli("import-workspace", str(broken), "--replace") == 1
    err = capsys.readouterr().err
    assert err.startswith("studybot import-workspace: nothing was imported")
    assert "mock_packets" in err
    assert await everything(database_url) == before  # the deletes of --replace rolled back too

    assert await cli("import-workspace", str(file), "--replace") == 0
    assert "in place of the" in capsys.readouterr().out
    again = await rows_of(database_url, W1)
    same_rows(source, again, derived_maps(source, again))


def _newer_revision(lines: list[Any]) -> None:
    lines[0]["schema_revision"] = "9999"


def _older_revision(lines: list[Any]) -> None:
    lines[0]["schema_revision"] = "0010"


def _newer_format(lines: list[Any]) -> None:
    lines[0]["version"] = transfer.VERSION + 1


def _cut_short(lines: list[Any]) -> None:
    del lines[-1]


def _foreign_row(lines: list[Any]) -> None:
    lines[-1]["row"]["workspace_id"] = "w2"


def _unknown_column(lines: list[Any]) -> None:
    lines[-1]["row"]["colour"] = "blue"


def _not_a_header(lines: list[Any]) -> None:
    del lines[0]


def _text_in_a_number(lines: list[Any]) -> None:
    next(x for x in lines[1:] if x["table"] == "answers")["row"]["points"] = "lots"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_newer_revision, "holds rows of schema revision 9999 and this studybot writes"),
        (_older_revision, "migrate the source database with this version"),
        (_newer_format, "written in format version 2; this studybot reads version 1"),
        (_cut_short, "it was cut short or edited. Export again."),
        (_foreign_row, "row of memory:w2, not of memory:w1"),
        (_unknown_column, "has no column 'colour' in this studybot"),
        (_not_a_header, "is not a studybot workspace export"),
        (_text_in_a_number, "answers.points cannot be 'lots'"),
    ],
)
async def test_a_file_that_is_not_right_is_refused_before_anything_is_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edit: Any,
    says: str,
) -> None:
    file = edited(await exported(tmp_path), edit, "edited.jsonl")
    target = tmp_path / "target.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    capsys.readouterr()
    assert await cli("import-workspace", str(file)) == 1
    assert says in capsys.readouterr().err
    assert not target.exists()


async def test_import_names_a_file_that_is_no_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "target.db")
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(bytes(range(256)) * 4)
    assert await cli("import-workspace", str(binary), "--db", database) == 1
    assert "photo.jpg is not a studybot workspace export (not UTF-8 text" in capsys.readouterr().err
    assert await cli("import-workspace", str(tmp_path / "none.jsonl"), "--db", database) == 1
    assert "there is no file at" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["photo.jpg"]


async def test_export_names_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = await exported(tmp_path)
    source = str(tmp_path / "source.db")
    capsys.readouterr()
    assert await cli("export-workspace", "memory:w1", str(file), "--db", source) == 1
    assert "already exists; name a new file" in capsys.readouterr().err
    assert await cli("export-workspace", "memory:w9", str(tmp_path / "x"), "--db", source) == 1
    err = capsys.readouterr().err
    assert "holds nothing for memory:w9 (workspaces in it: memory:w1)" in err
    assert await cli("export-workspace", "w1", str(tmp_path / "x"), "--db", source) == 1
    assert "write PLATFORM:ID, e.g. slack:T0123ABCD" in capsys.readouterr().err
    assert await cli("export-workspace", "*:*", str(tmp_path / "x"), "--db", source) == 1
    assert "the shipped question bank is not a workspace" in capsys.readouterr().err
    missing = str(tmp_path / "nothing.db")
    assert await cli("export-workspace", "memory:w1", str(tmp_path / "x"), "--db", missing) == 1
    assert "there is no database at" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "nothing.db").exists()


async def test_export_refuses_a_key_it_cannot_move(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timer key holding an id in a form the import does not know is never copied as it is
    (its id could name another workspace's row in the target)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    chat = await make_chat(url)
    try:
        await chat.run("/drop now kind:choice", as_=chat.admin)
        await chat.app.ctx.jobs.schedule_at(
            key="someday:12",
            when=chat.clock.now() + timedelta(days=1),
            action="ping-later",
            payload={"platform": "memory", "workspace": "w1", "user": "alice"},
            platform="memory",
            workspace_id="w1",
        )
    finally:
        await chat.app.close()
    target = tmp_path / "w1.jsonl"
    capsys.readouterr()
    assert (
        await cli("export-workspace", "memory:w1", str(target), "--db", str(tmp_path / "source.db"))
        == 1
    )
    assert "holds the key 'someday:12', a form this studybot cannot move" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["source.db"]


async def test_export_asks_for_a_database_at_this_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "old.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate(engine, "0010")
    finally:
        await engine.dispose()
    assert (
        await cli("export-workspace", "memory:w1", str(tmp_path / "x"), "--db", str(database)) == 1
    )
    err = capsys.readouterr().err
    assert f"{database} is at schema revision 0010 and this studybot at {head_revision()}" in err
    assert "run studybot migrate (with the same --db or DATABASE_URL) first" in err
