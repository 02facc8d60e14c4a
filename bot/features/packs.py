"""A workspace's own questions: packs imported all-or-nothing, retirements, and the item
analysis admins use to find broken keys, dead distractors and disliked questions."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import bank
from bot.chat import Attachment, Card, Field, MemberRef, Reply, Tone, plural
from bot.context import Context
from bot.features.drops import LETTERS, topic_name
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option, Permission
from bot.options import QUESTION_ID, TOPIC
from bot.review import SPEAKS_TO_GRADER
from bot.store import sql
from bot.store.schema import (
    SHIPPED,
    answers,
    drops,
    members,
    questions,
    reactions,
    retirements,
)
from questions.files import BankError
from questions.quality import near_duplicates
from questions.schema import ChoiceItem, Item

THUMBS_UP = ("👍", "+1", "thumbsup")
THUMBS_DOWN = ("👎", "-1", "thumbsdown")
MIN_ANSWERS_TO_FLAG = 5  # below this a share says more about chance than about the item
LIST_LIMIT = 25
STORE_BATCH = 200  # rows per insert statement: well under SQLite's and PostgreSQL's limits


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def _ids(conn: AsyncConnection, platform: str, workspace_id: str) -> set[str]:
    query = select(questions.c.id).where(
        questions.c.platform == platform, questions.c.workspace_id == workspace_id
    )
    return set((await conn.scalars(query)).all())


def _row(item: Item, *, workspace: MemberRef, now: datetime) -> dict[str, object]:
    body = bank.to_json(item)
    return {
        "platform": workspace.platform,
        "workspace_id": workspace.workspace_id,
        "id": item.id,
        "topic": item.topic,
        "kind": item.kind,
        "difficulty": item.difficulty,
        "body": body,
        "content_hash": hashlib.sha256(body.encode()).hexdigest(),
        "added_at": now,
        "added_by": workspace.user_id,
    }


async def _store(conn: AsyncConnection, rows: Sequence[dict[str, object]]) -> None:
    for start in range(0, len(rows), STORE_BATCH):
        await sql.upsert(
            conn,
            questions,
            rows[start : start + STORE_BATCH],
            keys=("platform", "workspace_id", "id"),
            update=("topic", "kind", "difficulty", "body", "content_hash", "added_by"),
        )


def _similar(items: Sequence[Item], bodies: Sequence[str]) -> list[str]:
    """Warnings for imported prompts that read like another visible question's."""
    from questions.checks import similar_warnings

    others = [bank.from_json(body) for body in bodies]
    return similar_warnings(near_duplicates(items, against=others))


async def import_pack(
    engine: AsyncEngine, *, workspace: MemberRef, file: Attachment, now: datetime
) -> ImportResult:
    """Check the whole pack (the checks `studybot questions validate` runs), then store it in
    one transaction; BankError lists every problem and stores nothing. Re-importing a pack
    updates its items.

    Parsing, validation and the near-duplicate check run in a worker thread, so members
    are answered while a large pack is read; the transaction holds only the writes.
    The parsers (YAML's among them) are imported here, when a pack first comes in."""
    from questions.checks import check_pack
    from questions.packs import parse_pack

    async with engine.connect() as conn:
        shipped = await _ids(conn, SHIPPED, SHIPPED)
    items = await asyncio.to_thread(
        check_pack, file.name, file.content, shipped=shipped, parse=parse_pack
    )
    rows = await asyncio.to_thread(
        lambda: [_row(item, workspace=workspace, now=now) for item in items]
    )
    result = ImportResult()
    async with engine.begin() as conn:
        existing = await _ids(conn, workspace.platform, workspace.workspace_id)
        await _store(conn, rows)
    for item in items:
        (result.updated if item.id in existing else result.added).append(item.id)
    async with engine.connect() as conn:
        bodies = await _visible_bodies(conn, workspace, exclude={i.id for i in items})
    result.warnings = await asyncio.to_thread(_similar, items, bodies)
    return result


async def _visible_bodies(
    conn: AsyncConnection, workspace: MemberRef, *, exclude: set[str]
) -> list[str]:
    """The other questions the workspace can be asked (filtered here: ``exclude`` may hold
    thousands of ids, too many to bind in one statement)."""
    rows = await conn.execute(
        select(questions.c.id, questions.c.body).where(
            or_(
                and_(questions.c.platform == SHIPPED, questions.c.workspace_id == SHIPPED),
                and_(
                    questions.c.platform == workspace.platform,
                    questions.c.workspace_id == workspace.workspace_id,
                ),
            )
        )
    )
    return [body for question_id, body in rows if question_id not in exclude]


async def export_pack(engine: AsyncEngine, *, workspace: MemberRef | None) -> str:
    """The workspace's own questions (or, with no workspace, the shipped bank) as YAML."""
    platform, workspace_id = (
        (workspace.platform, workspace.workspace_id) if workspace else (SHIPPED, SHIPPED)
    )
    async with engine.connect() as conn:
        bodies = (
            await conn.scalars(
                select(questions.c.body)
                .where(questions.c.platform == platform, questions.c.workspace_id == workspace_id)
                .order_by(questions.c.topic, questions.c.id)
            )
        ).all()
    items = [bank.from_json(body).model_dump(mode="json", exclude_defaults=True) for body in bodies]
    for item in items:  # the key flag is the one default worth writing out
        for option in item.get("options", ()):
            option.pop("correct", None)
    for raw, body in zip(items, bodies, strict=True):
        parsed = bank.from_json(body)
        if isinstance(parsed, ChoiceItem):
            raw["options"][parsed.key_index]["correct"] = True
    import yaml

    return yaml.safe_dump({"items": items}, sort_keys=False, allow_unicode=True, width=100)


# ---- commands ---------------------------------------------------------------------------


async def import_command(ctx: Context, inv: Invocation) -> Reply:
    if not inv.files:
        raise CommandError(
            "Attach the pack file: on Discord add it to the command, on Slack share it in the "
            "channel and run the command, in the console give its path: "
            "`/questions import pack.yaml`."
        )
    if len(inv.files) > 1:
        raise CommandError("Import one pack at a time.")
    file = inv.files[0]
    try:
        result = await import_pack(
            ctx.engine, workspace=inv.member.ref, file=file, now=ctx.clock.now()
        )
    except BankError as exc:
        shown = exc.problems[:20]
        more = f"\n… and {len(exc.problems) - 20} more." if len(exc.problems) > 20 else ""
        count = f"{len(exc.problems)} problem" + ("" if len(exc.problems) == 1 else "s")
        return Reply(
            card=Card(
                title=f"Nothing imported: {count} in {file.name}",
                body="\n".join(f"• {p}" for p in shown) + more,
                footer="Fix every line listed and import the file again; the pack is imported "
                "whole or not at all.",
                tone=Tone.BAD,
            )
        )
    lines = [
        f"Imported {len(result.added)} new and updated {plural(len(result.updated), 'question')} "
        f"from {file.name}. They are used in /quiz and drops in this workspace only."
    ]
    if result.warnings:
        lines.append("Check these, they are very close to existing questions:")
        lines += [f"• {w}" for w in result.warnings[:10]]
    return Reply(card=Card(title="Pack imported", body="\n".join(lines), tone=Tone.GOOD))


async def list_command(ctx: Context, inv: Invocation) -> Reply:
    ref = inv.member.ref
    topic = inv.get("topic")
    retired_q = select(retirements.c.question_id).where(
        retirements.c.platform == ref.platform,
        retirements.c.workspace_id == ref.workspace_id,
        retirements.c.question_id == questions.c.id,
    )
    query = (
        select(
            questions.c.id,
            questions.c.kind,
            questions.c.difficulty,
            questions.c.platform,
            questions.c.body,
            retired_q.exists().label("retired"),
        )
        .where(
            or_(
                and_(questions.c.platform == SHIPPED, questions.c.workspace_id == SHIPPED),
                and_(
                    questions.c.platform == ref.platform,
                    questions.c.workspace_id == ref.workspace_id,
                ),
            )
        )
        .order_by(questions.c.platform != SHIPPED, questions.c.id)
    )
    if topic:
        query = query.where(questions.c.topic == topic)
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    if not rows:
        return Reply.text(f"No questions{f' on {topic_name(topic)}' if topic else ''} yet.")
    custom = sum(1 for r in rows if r.platform != SHIPPED)
    retired = sum(1 for r in rows if r.retired)
    lines = []
    ordered = sorted(rows, key=lambda r: (r.platform == SHIPPED, r.id))  # yours first
    for row in ordered[:LIST_LIMIT]:
        prompt = bank.from_json(row.body).prompt
        short = prompt if len(prompt) <= 70 else prompt[:67] + "…"
        mark = " (retired)" if row.retired else (" (yours)" if row.platform != SHIPPED else "")
        lines.append(f"`{row.id}` · {row.kind}, {row.difficulty}{mark}: {short}")
    more = (
        f"\n… and {len(rows) - LIST_LIMIT} more; narrow with a topic."
        if len(rows) > LIST_LIMIT
        else ""
    )
    return Reply(
        card=Card(
            title=f"Questions{f' · {topic_name(topic)}' if topic else ''}: {len(rows)} "
            f"({custom} yours, {retired} retired)",
            body="\n".join(lines) + more,
            footer="/questions retire ID hides one here; /questions restore ID brings it back.",
            tone=Tone.INFO,
        )
    )


async def _exists(conn: AsyncConnection, ref: MemberRef, question_id: str) -> bool:
    item = await bank.get(
        conn, platform=ref.platform, workspace_id=ref.workspace_id, question_id=question_id
    )
    return item is not None


async def retire_command(ctx: Context, inv: Invocation) -> Reply:
    ref, question_id = inv.member.ref, str(inv.options["id"])
    async with ctx.engine.begin() as conn:
        if not await _exists(conn, ref, question_id):
            raise CommandError(f"No question `{question_id}`. `/questions list` shows the ids.")
        added = await sql.insert_ignore(
            conn,
            retirements,
            {
                "platform": ref.platform,
                "workspace_id": ref.workspace_id,
                "question_id": question_id,
                "retired_by": ref.user_id,
                "retired_at": ctx.clock.now(),
            },
            keys=("platform", "workspace_id", "question_id"),
        )
    if not added:
        return Reply.text(f"`{question_id}` is already retired here.")
    return Reply.text(
        f"Retired `{question_id}`: it will not be asked in this workspace. Other workspaces are "
        f"not affected. `/questions restore {question_id}` undoes this.",
        tone=Tone.GOOD,
    )


async def restore_command(ctx: Context, inv: Invocation) -> Reply:
    ref, question_id = inv.member.ref, str(inv.options["id"])
    async with ctx.engine.begin() as conn:
        result = await conn.execute(
            delete(retirements).where(
                retirements.c.platform == ref.platform,
                retirements.c.workspace_id == ref.workspace_id,
                retirements.c.question_id == question_id,
            )
        )
    if not result.rowcount:
        return Reply.error(f"`{question_id}` is not retired here.")
    return Reply.text(f"Restored `{question_id}`: it can be asked again.", tone=Tone.GOOD)


# ---- item analysis ----------------------------------------------------------------------


@dataclass
class ItemStats:
    question_id: str
    item: Item
    drops: int = 0
    answers: int = 0
    correct: int = 0
    picks: dict[int, int] = field(default_factory=dict)
    up: int = 0
    down: int = 0

    @property
    def share_correct(self) -> float | None:
        return self.correct / self.answers if self.answers else None

    @property
    def flags(self) -> list[str]:
        out = []
        if self.answers >= MIN_ANSWERS_TO_FLAG and isinstance(self.item, ChoiceItem):
            if (self.share_correct or 0) < 0.25:
                out.append("share correct below 25%: check the key")
            for i, option in enumerate(self.item.options):
                if not option.correct and self.picks.get(i, 0) / self.answers < 0.05:
                    out.append(f"distractor {LETTERS[i]} chosen by under 5%: dead")
        if self.down > self.up and self.down >= 2:
            out.append(f"mostly 👎 ({self.down} vs {self.up} 👍)")
        return out


def _emoji_in(names: tuple[str, ...]) -> object:
    return or_(*(reactions.c.emoji.startswith(n) for n in names))


async def analyse(engine: AsyncEngine, workspace: MemberRef) -> list[ItemStats]:
    """Per question asked in the workspace's channels: answers, share correct, picks per
    option and 👍/👎 ratings on the drop messages."""
    scope = (
        drops.c.platform == workspace.platform,
        drops.c.workspace_id == workspace.workspace_id,
        drops.c.private_to.is_(None),
    )
    async with engine.connect() as conn:
        asked = (
            await conn.execute(
                select(drops.c.question_id, func.count(drops.c.id), func.max(drops.c.question))
                .where(*scope)
                .group_by(drops.c.question_id)
            )
        ).all()
        picks = (
            await conn.execute(
                select(
                    drops.c.question_id,
                    answers.c.option_index,
                    func.count(answers.c.id),
                    func.sum(case((answers.c.correct.is_(True), 1), else_=0)),
                )
                .join(answers, answers.c.drop_id == drops.c.id)
                .where(*scope)
                .group_by(drops.c.question_id, answers.c.option_index)
            )
        ).all()
        ratings = (
            await conn.execute(
                select(
                    drops.c.question_id,
                    func.sum(case((_emoji_in(THUMBS_UP), 1), else_=0)),  # type: ignore[arg-type]
                    func.sum(case((_emoji_in(THUMBS_DOWN), 1), else_=0)),  # type: ignore[arg-type]
                )
                .join(
                    reactions,
                    and_(
                        reactions.c.platform == drops.c.platform,
                        reactions.c.workspace_id == drops.c.workspace_id,
                        reactions.c.message_id == drops.c.message_id,
                    ),
                )
                .where(*scope)
                .group_by(drops.c.question_id)
            )
        ).all()
    stats = {qid: ItemStats(qid, bank.from_json(body), drops=n) for qid, n, body in asked}
    for qid, option, n, right in picks:
        entry = stats[qid]
        entry.answers += int(n)
        entry.correct += int(right or 0)
        if option is not None:
            entry.picks[int(option)] = entry.picks.get(int(option), 0) + int(n)
    for qid, up, down in ratings:
        stats[qid].up, stats[qid].down = int(up or 0), int(down or 0)
    return sorted(stats.values(), key=lambda s: (not s.flags, s.share_correct or 0, s.question_id))


def describe(entry: ItemStats) -> str:
    parts = [f"asked {entry.drops}×, {plural(entry.answers, 'answer')}"]
    if entry.share_correct is not None and isinstance(entry.item, ChoiceItem):
        parts.append(f"{round(100 * entry.share_correct)}% right")
        shares = ", ".join(
            f"{LETTERS[i]} {round(100 * entry.picks.get(i, 0) / entry.answers)}%"
            for i in range(len(entry.item.options))
        )
        parts.append(f"picks {shares}")
    parts.append(f"👍 {entry.up} 👎 {entry.down}")
    text = "; ".join(parts)
    return text + ("\n⚠ " + "; ".join(entry.flags) if entry.flags else "")


FLAGGED_SHOWN = 10


async def spoke_to_grader(engine: AsyncEngine, member: MemberRef) -> list[str]:
    """The latest open answers flagged for words addressed to a grader: which drop, whose,
    when; not their text (a drop not yet revealed keeps its answers hidden, from admins too)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(answers.c.drop_id, answers.c.answered_at, members.c.display_name)
            .select_from(sql.with_names(answers))
            .where(*sql.of_workspace(answers, member), answers.c.flag == SPEAKS_TO_GRADER)
            .order_by(answers.c.answered_at.desc(), answers.c.id.desc())
            .limit(FLAGGED_SHOWN)
        )
        return [
            f"drop #{drop_id} by @{name or 'someone'} on {at:%Y-%m-%d}"
            for drop_id, at, name in rows.all()
        ]


async def report_command(ctx: Context, inv: Invocation) -> Reply:
    entries = await analyse(ctx.engine, inv.member.ref)
    if not entries:
        return Reply.text("No question has been dropped here yet, so there is nothing to analyse.")
    flagged = sum(1 for e in entries if e.flags)
    fields = tuple(Field(f"`{e.question_id}`", describe(e)) for e in entries[:15])
    if spoke := await spoke_to_grader(ctx.engine, inv.member.ref):
        note = (
            "\nThey were graded as written (the key-point check and the AI reviewer cannot be "
            "instructed), and changed no points."
        )
        fields += (Field("⚠ Answers that spoke to the grader", "\n".join(spoke) + note),)
    return Reply(
        card=Card(
            title=f"Question report: {len(entries)} asked, {flagged} flagged",
            fields=fields,
            footer=f"Flags need at least {MIN_ANSWERS_TO_FLAG} answers. Retire a bad item with "
            "/questions retire ID.",
            tone=Tone.INFO,
        )
    )


FEATURE = Feature(
    "packs",
    commands=(
        CommandSpec(
            "questions import",
            "Add this workspace's own questions from a YAML or CSV pack (all or nothing)",
            import_command,
            (
                Option(
                    "file",
                    "The pack: .yaml in the bank's format, or .csv of choice items",
                    Kind.FILE,
                ),
            ),
            Permission.ADMIN,
            example="/questions import ./pack.yaml",
        ),
        CommandSpec(
            "questions list",
            "The questions this workspace can be asked",
            list_command,
            (TOPIC,),
            Permission.ADMIN,
            example="/questions list statistics",
        ),
        CommandSpec(
            "questions retire",
            "Stop asking a question in this workspace",
            retire_command,
            (QUESTION_ID,),
            Permission.ADMIN,
            example="/questions retire statistics-p-value-meaning",
        ),
        CommandSpec(
            "questions restore",
            "Ask a retired question again",
            restore_command,
            (QUESTION_ID,),
            Permission.ADMIN,
            example="/questions restore statistics-p-value-meaning",
        ),
        CommandSpec(
            "questions report",
            "How each question did: share right, picks per option, ratings, flags",
            report_command,
            (),
            Permission.ADMIN,
            example="/questions report",
        ),
    ),
)
