"""Admin packs, retirements and item analysis: per workspace, all or nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.chat import Attachment, Command, Place
from bot.store.schema import questions
from tests.conftest import DATA, Chat, member

PACKS = DATA / "packs"


def _file(name: str) -> Attachment:
    return Attachment(name, (PACKS / name).read_bytes())


async def _import(chat: Chat, name: str, *, workspace: str = "w1") -> str:
    admin = member("Admin", admin=True, workspace=workspace)
    reply = await chat.app.handle(
        Command(
            admin,
            Place("memory", workspace, "c1"),
            text=f"/questions import {name}",
            files=(_file(name),),
        )
    )
    assert reply is not None and reply.card is not None
    return reply.card.title + "\n" + reply.card.body


async def _custom_count(chat: Chat) -> int:
    async with chat.app.ctx.engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count()).select_from(questions).where(questions.c.platform != "*")
            )
            or 0
        )


async def test_a_good_yaml_pack_is_used_in_this_workspace_only(chat: Chat) -> None:
    """Imported items appear in /quiz for the importing workspace and nowhere else."""
    text = await _import(chat, "good.yaml")
    assert "Imported 2 new and updated 0 questions from good.yaml" in text
    reply = await chat.run("/quiz topic:system-design kind:choice", as_=chat.alice)
    assert reply.card and "feature store adds 40 ms" in reply.card.body
    other = member("Olga", workspace="w2")
    elsewhere = await chat.run(
        "/quiz topic:system-design", as_=other, place=Place("memory", "w2", "c1")
    )
    assert elsewhere.card and "No question matches topic:system-design" in elsewhere.card.body


async def test_one_bad_item_imports_nothing_and_lists_every_error(chat: Chat) -> None:
    """A pack with a broken item is refused whole, with file:line:field for each problem."""
    text = await _import(chat, "bad.yaml")
    assert "Nothing imported: 2 problems in bad.yaml" in text
    assert (
        "bad.yaml:19: items[1].difficulty: 'impossible' is not allowed here; expected one of: "
        "easy, medium, hard" in text
    )
    assert "bad.yaml:26: items[1].options[1].reason: missing; add this field" in text
    assert await _custom_count(chat) == 0


async def test_csv_packs_of_choice_items(chat: Chat) -> None:
    """CSV imports choice items; errors name the line and the column."""
    assert "Imported 2 new" in await _import(chat, "good.csv")
    text = await _import(chat, "bad.csv")
    assert "Nothing imported" in text
    assert "bad.csv:3: answer: expected the key's letter (A, B, C), got 'E'" in text
    assert await _custom_count(chat) == 2  # only the good pack's items


async def test_reimporting_updates_and_shipped_ids_are_refused(chat: Chat, tmp_path: Path) -> None:
    """The same pack again updates its items; a shipped id cannot be taken over."""
    await _import(chat, "good.yaml")
    assert "updated 2" in await _import(chat, "good.yaml")
    clash = (
        (PACKS / "good.yaml")
        .read_text()
        .replace("acme-feature-store-latency", "statistics-quadruple-sample")
    )
    reply = await chat.app.handle(
        Command(
            chat.admin,
            chat.place,
            text="/questions import clash.yaml",
            files=(Attachment("clash.yaml", clash.encode()),),
        )
    )
    assert reply and reply.card
    assert "clash.yaml:2: items[0].id: this id belongs to a shipped question" in reply.card.body


async def test_import_without_a_file_says_how_to_attach(chat: Chat) -> None:
    """Forgetting the file is explained per platform."""
    reply = await chat.run("/questions import", as_=chat.admin)
    assert reply.card and "Attach the pack file" in reply.card.body


async def test_a_file_that_is_not_a_pack(chat: Chat) -> None:
    """Unknown file types and non-UTF-8 content are refused clearly."""
    reply = await chat.app.handle(
        Command(
            chat.admin,
            chat.place,
            text="/questions import",
            files=(Attachment("notes.txt", b"hello"),),
        )
    )
    assert reply and reply.card and "expected a .yaml/.yml pack or a .csv" in reply.card.body
    reply = await chat.app.handle(
        Command(
            chat.admin,
            chat.place,
            text="/questions import",
            files=(Attachment("p.yaml", b"\xff\xfe\x00"),),
        )
    )
    assert reply and reply.card and "not UTF-8 text" in reply.card.body


async def test_retire_and_restore_touch_one_workspace(chat: Chat) -> None:
    """A retired question is never asked here, still asked elsewhere, and can come back."""
    reply = await chat.run("/questions retire statistics-quadruple-sample", as_=chat.admin)
    assert reply.card and "Retired `statistics-quadruple-sample`" in reply.card.body
    for _ in range(3):
        quiz = await chat.run("/quiz topic:statistics", as_=chat.alice)
        assert quiz.card and "No question matches topic:statistics" in quiz.card.body
    other = member("Olga", workspace="w2")
    elsewhere = await chat.run(
        "/quiz topic:statistics", as_=other, place=Place("memory", "w2", "c")
    )
    assert elsewhere.card and "standard error" in elsewhere.card.body
    listing = await chat.run("/questions list statistics", as_=chat.admin)
    assert listing.card and "(retired)" in listing.card.body
    await chat.run("/questions restore statistics-quadruple-sample", as_=chat.admin)
    quiz = await chat.run("/quiz topic:statistics", as_=chat.alice)
    assert quiz.card and "standard error" in quiz.card.body
    missing = await chat.run("/questions retire no-such-item", as_=chat.admin)
    assert missing.card and "No question `no-such-item`" in missing.card.body


async def test_report_flags_a_wrong_looking_key_dead_distractors_and_dislikes(chat: Chat) -> None:
    """Share correct under 25 %, distractors under 5 % and mostly-👎 ratings are flagged."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    voters = [member(f"m{i}") for i in range(6)]
    for who in voters[:5]:
        await chat.choose(drop, 1, as_=who)  # everyone picks A; the key is C
    await chat.choose(drop, 3, as_=voters[5])
    for who in voters[:3]:
        await chat.react(drop, "👎", as_=who)
    await chat.react(drop, "+1", as_=voters[5])  # Slack's name for 👍
    reply = await chat.run("/questions report", as_=chat.admin)
    assert reply.card is not None
    assert reply.card.title == "Question report: 1 asked, 1 flagged"
    value = reply.card.fields[0].value
    assert "asked 1×, 6 answers; 17% right; picks A 83%, B 0%, C 17%, D 0%; 👍 1 👎 3" in value
    assert "share correct below 25%: check the key" in value
    assert "distractor B chosen by under 5%: dead" in value
    assert "mostly 👎 (3 vs 1 👍)" in value


async def test_export_round_trips_a_workspace_pack(chat: Chat) -> None:
    """Export writes the workspace's own items in the pack format, which imports again."""
    from bot.features.packs import export_pack
    from questions.packs import parse_pack

    await _import(chat, "good.yaml")
    text = await export_pack(chat.app.ctx.engine, workspace=chat.admin.ref)
    items = parse_pack("export.yaml", text.encode())
    assert [i.id for i in items] == ["acme-explain-feature-store", "acme-feature-store-latency"]
    assert items[1].key_index == 1  # type: ignore[union-attr]
