"""Issue 14's reproductions in the parsers and ids, each now a clear refusal naming the
field and the limit; and the limits themselves (pack size, schedules per workspace, line
and value lengths), through Core.handle on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.chat import Action, Attachment, Command, FormSubmit, Place, Reply
from bot.features import packs as packs_feature
from bot.features.mocks.followup import FEEDBACK_CHARS, read_feedback
from bot.features.schedules import MAX_SCHEDULES
from bot.handlers import UNKNOWN_BUTTON, UNKNOWN_FORM
from bot.store.schema import mock_checkins, questions, schedules, scores
from bot.timespec import SpecError, parse_duration, parse_spec, parse_timezone
from questions import packs as question_packs
from questions.files import BankError
from questions.loader import MAX_DEPTH, MAX_FIELD_CHARS, MAX_ITEMS, load_bank, parse_text
from questions.packs import MAX_PACK_BYTES, parse_pack
from questions.quality import near_duplicates
from questions.schema import Item
from tests.conftest import Chat, make_chat, member


def _bank() -> tuple[Item, ...]:
    """A few items of every kind: mock rounds need packets."""
    by_kind: dict[str, list[Item]] = {}
    for item in load_bank():
        by_kind.setdefault(item.kind, []).append(item)
    return tuple(item for kind in by_kind.values() for item in kind[:12])


CATCH_ALL = "Something went wrong on our side"
CSV_HEADER = "id,topic,difficulty,tags,prompt,a,reason_a,b,reason_b,c,reason_c,answer\n"
ITEM = """\
  - id: {id}
    kind: choice
    topic: nlp
    difficulty: easy
    tags: [t]
    prompt: Which of these tokenisers splits words into subword units {n}?
    options:
      - text: Byte-pair encoding
        correct: true
        reason: It merges frequent pairs into subword units.
      - text: Whitespace splitting
        reason: It keeps whole words.
      - text: Sentence splitting
        reason: It splits text into sentences.
"""


def _body(reply: Reply | None) -> str:
    assert reply is not None and reply.card is not None
    assert CATCH_ALL not in reply.card.body
    return reply.card.title + "\n" + reply.card.body


async def _import(chat: Chat, name: str, data: bytes) -> str:
    command = Command(
        chat.admin, chat.place, text=f"/questions import {name}", files=(Attachment(name, data),)
    )
    return _body(await chat.app.handle(command))


def _problems(name: str, data: bytes) -> list[str]:
    with pytest.raises(BankError) as err:
        parse_pack(name, data)
    return [str(p) for p in err.value.problems]


# ---- packs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "items: !!python/object/apply:os.system ['true']\n",
            "p.yaml:1: not valid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        ("items:\n  ? [1, 2]\n  : x\n", "p.yaml:2: not valid YAML: found unhashable key"),
        ("items: !!int '0x'\n", "p.yaml:1: not valid YAML: cannot read this int value"),
        ("items:\n  - !!float 'abc'\n", "p.yaml:2: not valid YAML: cannot read this float value"),
        (
            "items: !!timestamp '2020-13-45'\n",
            "p.yaml:1: not valid YAML: cannot read this timestamp value: month must be in 1..12",
        ),
        ("items: " + "9" * 5000 + "\n", "p.yaml:1: not valid YAML: cannot read this int value"),
        ("\n\nitems: \x07\n", "p.yaml:3: not valid YAML: character U+0007 is not allowed"),
    ],
)
def test_yaml_that_cannot_become_values_is_a_located_problem(text: str, expected: str) -> None:
    """Every kind of YAML failure (tags, unhashable keys, bad scalars) names file and line."""
    (problem,) = _problems("p.yaml", text.encode())
    assert problem.startswith(expected), problem


@pytest.mark.parametrize(
    "text",
    [
        "items: " + "[" * 2000 + "]" * 2000 + "\n",  # flow style
        "items:\n" + "".join(" " * n + "- \n" for n in range(1, 2000)),  # block style
        "items:\n" + "".join(" " * n + f"k{n}:\n" for n in range(1, 2000)),
    ],
)
def test_deep_nesting_is_refused_naming_the_limit(text: str) -> None:
    """2,000 levels of nesting no longer reach a RecursionError."""
    with pytest.raises(BankError) as err:
        parse_text(text, path="p.yaml")
    (problem,) = err.value.problems
    assert f"nested more than {MAX_DEPTH} levels deep" in str(problem)


def test_a_csv_field_over_csvs_own_limit_is_a_located_problem() -> None:
    """A 200 KB CSV field (past csv's 128 KB limit) is refused at its line, naming ours."""
    row = 'q-one,nlp,easy,t,"' + "x" * 200_000 + '",a,r,b,r,c,r,a\n'
    (problem,) = _problems("p.csv", (CSV_HEADER + row).encode())
    assert problem == f"p.csv:2: a field longer than {MAX_FIELD_CHARS:,} characters (the limit)"


def test_long_values_are_refused_naming_the_field_limit() -> None:
    """A value past the field limit is refused in CSV (naming the column) and in YAML."""
    row = "q-one,nlp,easy,t," + "p" * 6000 + ",a,r,b,r,c,r,a\n"
    assert _problems("p.csv", (CSV_HEADER + row).encode()) == [
        f"p.csv:2: prompt: 6,000 characters; the limit is {MAX_FIELD_CHARS:,}"
    ]
    text = "items:\n  - id: x\n    prompt: " + "p" * 6000 + "\n"
    assert _problems("p.yaml", text.encode()) == [
        f"p.yaml:3: a value of 6,000 characters; the limit is {MAX_FIELD_CHARS:,}"
    ]


def test_packs_are_capped_in_items_and_bytes() -> None:
    """2,001 items (YAML or CSV) and more than 2 MB are refused, each naming its limit."""
    items = "items:\n" + "".join(ITEM.format(id=f"q-{n}", n=n) for n in range(MAX_ITEMS + 1))
    (problem,) = _problems("p.yaml", items.encode())
    assert problem.endswith(
        f"more than {MAX_ITEMS:,} items; a file holds at most 2,000, so split it"
    )
    rows = "".join(f"q-{n},nlp,easy,t,Prompt number {n} here?,a,r,b,r,c,r,a\n" for n in range(2001))
    (problem,) = _problems("p.csv", (CSV_HEADER + rows).encode())
    assert problem == "p.csv:2002: more than 2,000 items; a pack holds at most 2,000"
    (problem,) = _problems("p.yaml", b"#" * (MAX_PACK_BYTES + 1))
    assert problem == "p.yaml:1: the file is 2.0 MB; a pack is at most 2 MB, so split it"


def test_two_thousand_items_still_load() -> None:
    """The limit is inclusive: a pack of exactly 2,000 items is valid."""
    items = "items:\n" + "".join(ITEM.format(id=f"q-{n}", n=n) for n in range(MAX_ITEMS))
    assert len(parse_text(items, path="p.yaml")) == MAX_ITEMS


async def test_hostile_packs_through_the_command_import_nothing(chat: Chat) -> None:
    """Through /questions import: a clear card listing the problem, and no rows stored."""
    deep = "items: " + "[" * 2000 + "]" * 2000 + "\n"
    text = await _import(chat, "deep.yaml", deep.encode())
    assert "Nothing imported: 1 problem in deep.yaml" in text
    assert "deep.yaml:1: nested more than 10 levels deep" in text
    row = 'q-one,nlp,easy,t,"' + "x" * 200_000 + '",a,r,b,r,c,r,a\n'
    text = await _import(chat, "big.csv", (CSV_HEADER + row).encode())
    assert "big.csv:2: a field longer than 5,000 characters (the limit)" in text
    async with chat.app.ctx.engine.connect() as conn:
        custom = await conn.scalar(
            select(func.count()).select_from(questions).where(questions.c.platform != "*")
        )
    assert custom == 0


async def test_parsing_and_similarity_checks_run_off_the_event_loop(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The heavy steps of an import run in worker threads, not the loop's thread."""
    threads: dict[str, int] = {}

    def parse(name: str, data: bytes) -> object:
        threads["parse"] = threading.get_ident()
        return parse_pack(name, data)

    def similar(items: Sequence[object], *, against: Sequence[object]) -> object:
        threads["similar"] = threading.get_ident()
        return near_duplicates(items, against=against)  # type: ignore[arg-type]

    monkeypatch.setattr(question_packs, "parse_pack", parse)  # imported when a pack comes
    monkeypatch.setattr(packs_feature, "near_duplicates", similar)
    pack = "items:\n" + ITEM.format(id="q-one", n=1)
    assert "Imported 1 new" in await _import(chat, "one.yaml", pack.encode())
    loop_thread = threading.get_ident()
    assert set(threads) == {"parse", "similar"}
    assert loop_thread not in threads.values()


# ---- time specs ---------------------------------------------------------------------------


async def test_reveal_delays_out_of_range_are_refused(chat: Chat) -> None:
    """`reveal:99999999999d` and a thousands-digit delay name the range instead of overflowing."""
    for reveal in ("99999999999d", "9" * 150 + "m", "15d", "1m"):
        reply = await chat.run(f"/schedule add daily 09:00 reveal:{reveal}", as_=chat.admin)
        text = _body(reply)
        assert "from 5m to 14d" in text or "the limit is 200" in text, text
    async with chat.app.ctx.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(schedules)) == 0


def test_durations_name_the_range_and_never_overflow() -> None:
    """Any number of digits, any size: a SpecError with the range."""
    for text in ("99999999999d", "9" * 5000 + "m", "9999999h", "15d"):
        with pytest.raises(SpecError, match="from 5m to 14d"):
            parse_duration(text)
    assert parse_duration("14d").days == 14


def test_the_console_advance_survives_huge_durations(tmp_path: Path) -> None:
    """`advance 99999999999d` in the console no longer ends it with a traceback."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    clean.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapters.cli",
            "run",
            "--sim-clock",
            "--db",
            str(tmp_path / "s.db"),
        ],
        input="advance 99999999999d\nadvance " + "9" * 5000 + "m\n/ping\n",
        capture_output=True,
        text=True,
        env={**clean, "COLUMNS": "120"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Pong" in result.stdout


async def test_weekday_and_zone_floods_are_refused(chat: Chat) -> None:
    """A 4,300-digit weekday and a 10,000-character zone get clear messages."""
    text = _body(await chat.run("/schedule add cron 0 9 * * " + "9" * 4300, as_=chat.admin))
    assert "the limit is" in text
    typed = Command(
        chat.admin,
        chat.place,
        name="schedule add",
        options={"when": "daily 09:00", "tz": "a" * 10_000},
    )
    text = _body(await chat.app.handle(typed))
    assert "`tz` is 10,000 characters long; the limit is 200." in text
    with pytest.raises(SpecError, match="names have at most 64 characters"):
        parse_timezone("a" * 10_000)
    with pytest.raises(SpecError, match=r"\b9\b is not 0-7|is not 0-7"):
        parse_spec("cron 0 9 * * " + "9" * 40)


async def test_a_cron_that_never_fires_is_refused_at_add(chat: Chat) -> None:
    """`cron 0 0 30 2 *` (30 February) is refused with the reason, and nothing is saved."""
    text = _body(await chat.run("/schedule add cron 0 0 30 2 *", as_=chat.admin))
    assert "`cron 0 0 30 2 *` would not fire in the next four years" in text
    assert "February has at most 29 days" in text
    async with chat.app.ctx.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(schedules)) == 0


def test_rare_but_real_crons_are_kept() -> None:
    """Leap days fire every four years and are accepted; crontab weekday numbers, ranges
    and steps keep their crontab meaning."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_spec("cron 0 9 29 2 *", now=now).cron == "0 9 29 2 *"
    assert parse_spec("cron 0 9 * * 0-6", now=now).cron.endswith("sun,mon,tue,wed,thu,fri,sat")
    assert parse_spec("cron 0 9 * * */2", now=now).cron.endswith("sun,tue,thu,sat")
    assert parse_spec("cron 0 9 * * 1-5", now=now).cron.endswith("mon-fri")


# ---- ids ----------------------------------------------------------------------------------


async def test_ids_past_the_integer_columns_are_refused(chat: Chat) -> None:
    """`/schedule pause 99999999999999999999` and its like: a clear range, no overflow."""
    for command in (
        "/schedule pause 99999999999999999999",
        "/schedule remove 2147483648",
        "/schedule edit id:99999999999999999999 daily 10:00",
        "/reveal 99999999999999999999",
    ):
        text = _body(await chat.run(command, as_=chat.admin))
        assert "expected at most 2147483647" in text, text
    typed = Command(chat.admin, chat.place, name="schedule pause", options={"id": 10**20})
    assert "`id` got `100000000000000000000`, expected at most 2147483647" in _body(
        await chat.app.handle(typed)
    )


@pytest.mark.parametrize(
    "action_id",
    ["drop:1e20:0", f"drop:{10**20}:0", f"drop:{2**31}:open", "mock:1e20:no", f"mock:{10**20}:no"],
)
async def test_forged_button_ids_get_the_unknown_button_reply(chat: Chat, action_id: str) -> None:
    """Out-of-range or malformed numbers in button ids are unknown buttons."""
    reply = await chat.app.handle(Action(chat.alice, chat.place, action_id))
    assert _body(reply).strip() == UNKNOWN_BUTTON


@pytest.mark.parametrize(
    "form_id",
    ["mock:1", "mock:x:feedback:technical", "mock:5:feedback:bogus", f"mock:{10**20}:feedback:x"],
)
async def test_crafted_mock_form_ids_get_the_unknown_form_reply(chat: Chat, form_id: str) -> None:
    """The mock feedback form parses its id whole: no IndexError, ValueError or KeyError."""
    values = {"scores": "3 3 3", "strength": "Clear.", "improve": "Slower."}
    reply = await chat.app.handle(FormSubmit(chat.alice, chat.place, form_id, values))
    assert _body(reply).strip() == UNKNOWN_FORM


def test_feedback_text_is_capped() -> None:
    """The feedback form's free text is checked against its limit, not only the platform's."""
    values = {"scores": "3 3", "strength": "x" * (FEEDBACK_CHARS + 1), "improve": "ok"}
    with pytest.raises(ValueError, match=f"the limit is {FEEDBACK_CHARS}"):
        read_feedback(values, ["a", "b"])


async def test_mock_check_ins_answer_only_their_own_workspace(database_url: str) -> None:
    """A check-in button pressed from another workspace by a member with the same user id
    changes nothing and awards nothing; pressed at home, it counts."""
    chat = await make_chat(database_url, items=_bank())
    try:
        values = {
            "level": "mid",
            "focus": "technical",
            "timezone": "Europe/Berlin",
            "availability": "weekday evenings",
            "cadence": "weekly",
        }
        for who in (chat.alice, chat.bob):
            await chat.app.handle(FormSubmit(who, chat.place, "mock:join", values))
        await chat.run("/mock round now", as_=chat.admin)
        async with chat.app.ctx.engine.connect() as conn:
            group_id = await conn.scalar(
                select(mock_checkins.c.group_id).where(mock_checkins.c.user_id == "alice")
            )
        assert group_id is not None
        intruder = member("Alice", workspace="w2")
        press = Action(intruder, Place("memory", "w2", "c1"), f"mock:{group_id}:yes")
        assert "not yours" in _body(await chat.app.handle(press))
        async with chat.app.ctx.engine.connect() as conn:
            answers = (await conn.scalars(select(mock_checkins.c.answer))).all()
            w2_points = await conn.scalar(
                select(func.count()).select_from(scores).where(scores.c.workspace_id == "w2")
            )
        assert set(answers) == {None} and w2_points == 0
        home = Action(chat.alice, chat.place, f"mock:{group_id}:yes")
        assert "points come as soon as Bob confirms" in _body(await chat.app.handle(home))
    finally:
        await chat.app.close()


# ---- scale of admin input -----------------------------------------------------------------


async def _fill_schedules(chat: Chat, count: int) -> None:
    now = chat.clock.now()
    rows = [
        {
            "platform": "memory",
            "workspace_id": "w1",
            "channel_id": "c1",
            "spec": "daily 09:00",
            "cron": "0 9 * * *",
            "timezone": "UTC",
            "paused": True,
            "created_by": "admin",
            "created_at": now,
            "updated_at": now,
        }
        for _ in range(count)
    ]
    async with chat.app.ctx.engine.begin() as conn:
        await conn.execute(schedules.insert(), rows)


async def test_schedules_per_workspace_are_capped(chat: Chat) -> None:
    """The 201st schedule is refused with the limit and the way out; another workspace is
    not affected."""
    await _fill_schedules(chat, MAX_SCHEDULES)
    text = _body(await chat.run("/schedule add daily 10:00", as_=chat.admin))
    assert f"already has {MAX_SCHEDULES} schedules, the most it can have" in text
    assert "/schedule remove ID" in text
    elsewhere = member("Olga", admin=True, workspace="w2")
    reply = await chat.run(
        "/schedule add daily 10:00", as_=elsewhere, place=Place("memory", "w2", "c1")
    )
    assert "Schedule #" in _body(reply)
    async with chat.app.ctx.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(schedules))
    assert count == MAX_SCHEDULES + 1


async def test_long_command_lines_and_values_are_refused_naming_the_limit(chat: Chat) -> None:
    """A 1 MB line is refused before any parsing; so is one value past its limit."""
    text = _body(await chat.run("/help " + "x" * 1_000_000, as_=chat.alice))
    assert "That command is 1,000,006 characters long; the limit is 4,000." in text
    text = _body(await chat.run("/questions retire " + "q" * 300, as_=chat.admin))
    assert "`id` is 300 characters long; the limit is 200." in text
    text = _body(await chat.run("/questions retire a\x00b", as_=chat.admin))
    assert "`id` contains a NUL character" in text
    text = _body(await chat.run("/schedule add daily 09:00 channel:#" + "c" * 100, as_=chat.admin))
    assert "names and ids have at most 64 characters" in text
