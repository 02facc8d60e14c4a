"""Questions in the store: syncing the shipped bank, choosing what to ask next."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import sql
from bot.store.schema import SHIPPED, answers, drops, questions, retirements, store_meta
from questions.files import bank_fingerprint
from questions.schema import Item

_ITEM: TypeAdapter[Item] = TypeAdapter(Item)
DROP_KINDS = ("choice", "open")


def to_json(item: Item) -> str:
    return item.model_dump_json()


@lru_cache(maxsize=1024)  # a drop's item is parsed on every press; items are immutable
def from_json(text: str) -> Item:
    return _ITEM.validate_json(text)


_UPDATE_SHIPPED = update(questions).where(  # SET: the other keys of each row
    questions.c.platform == SHIPPED,
    questions.c.workspace_id == SHIPPED,
    questions.c.id == bindparam("item_id"),
)


async def sync_shipped(conn: AsyncConnection, items: Sequence[Item], *, now: datetime) -> int:
    """Make the store's shipped questions equal the bank; return how many rows changed."""
    rows = await conn.execute(
        select(questions.c.id, questions.c.content_hash).where(
            questions.c.platform == SHIPPED, questions.c.workspace_id == SHIPPED
        )
    )
    existing = {question_id: digest for question_id, digest in rows}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    wanted: set[str] = set()
    for item in items:
        body = to_json(item)
        digest = hashlib.sha256(body.encode()).hexdigest()
        wanted.add(item.id)
        if existing.get(item.id) == digest:
            continue
        row = {
            "topic": item.topic,
            "kind": item.kind,
            "difficulty": item.difficulty,
            "body": body,
            "content_hash": digest,
        }
        if item.id in existing:
            updates.append({"item_id": item.id, **row})
        else:
            inserts.append({"platform": SHIPPED, "workspace_id": SHIPPED, "id": item.id, **row})
    # One statement each for all new and all changed questions (executemany): a store's
    # first start writes the whole bank, a thousand rows.
    if inserts:
        await conn.execute(questions.insert().values(added_at=now), inserts)
    if updates:
        await conn.execute(_UPDATE_SHIPPED, updates)
    changed = len(inserts) + len(updates)
    gone = set(existing) - wanted
    if gone:
        await conn.execute(
            delete(questions).where(
                questions.c.platform == SHIPPED,
                questions.c.workspace_id == SHIPPED,
                questions.c.id.in_(gone),
            )
        )
        changed += len(gone)
    return changed


FINGERPRINT = "shipped-bank"  # the store_meta key of the bank the store was last synced with


def shipped_fingerprint() -> str:
    """The shipped bank's digest, with this module's (how items are stored) folded in."""
    here = Path(__file__).read_bytes()
    return hashlib.sha256(bank_fingerprint().encode() + here).hexdigest()


async def sync_shipped_if_changed(conn: AsyncConnection, *, now: datetime) -> int | None:
    """Sync the shipped bank unless the store holds exactly this one (then None, and the
    bank is not even loaded: most start-ups)."""
    fingerprint = shipped_fingerprint()
    scope = (store_meta.c.platform == SHIPPED, store_meta.c.workspace_id == SHIPPED)
    held = await conn.scalar(
        select(store_meta.c.value).where(*scope, store_meta.c.key == FINGERPRINT)
    )
    if held == fingerprint:
        return None
    from questions.loader import load_bank  # YAML and its parsers: only when the bank changed

    changed = await sync_shipped(conn, load_bank(), now=now)
    await sql.upsert(
        conn,
        store_meta,
        {"platform": SHIPPED, "workspace_id": SHIPPED, "key": FINGERPRINT, "value": fingerprint},
        keys=("platform", "workspace_id", "key"),
        update=("value",),
    )
    return changed


@dataclass(frozen=True)
class Filters:
    topic: str | None = None
    difficulty: str | None = None
    kind: str | None = None


def _visible(platform: str, workspace_id: str) -> ColumnElement[bool]:
    return or_(
        and_(questions.c.platform == SHIPPED, questions.c.workspace_id == SHIPPED),
        and_(questions.c.platform == platform, questions.c.workspace_id == workspace_id),
    )


async def _candidates(
    conn: AsyncConnection, *, platform: str, workspace_id: str, filters: Filters
) -> list[str]:
    retired = select(retirements.c.question_id).where(
        retirements.c.platform == platform,
        retirements.c.workspace_id == workspace_id,
        retirements.c.question_id == questions.c.id,
    )
    query = select(questions.c.id).where(
        _visible(platform, workspace_id),
        questions.c.kind.in_([filters.kind] if filters.kind else DROP_KINDS),
        ~retired.exists(),
    )
    if filters.topic:
        query = query.where(questions.c.topic == filters.topic)
    if filters.difficulty:
        query = query.where(questions.c.difficulty == filters.difficulty)
    return sorted((await conn.scalars(query)).all())


def _pick_fresh(candidates: list[str], last_used: dict[str, datetime], rng: random.Random) -> str:
    """Unused questions first; once all are used, the one used longest ago."""
    unused = [c for c in candidates if c not in last_used]
    if unused:
        return rng.choice(unused)
    return min(candidates, key=lambda c: (last_used[c], c))


async def _choose(
    conn: AsyncConnection,
    *,
    platform: str,
    workspace_id: str,
    filters: Filters,
    last_used: Select[Any],
    rng: random.Random,
) -> Item | None:
    """A fresh candidate, given a query of (question id, when it was last used)."""
    candidates = await _candidates(
        conn, platform=platform, workspace_id=workspace_id, filters=filters
    )
    if not candidates:
        return None
    used = await conn.execute(last_used)
    chosen = _pick_fresh(candidates, {q: at for q, at in used}, rng)
    return await get(conn, platform=platform, workspace_id=workspace_id, question_id=chosen)


async def choose_for_channel(
    conn: AsyncConnection,
    *,
    platform: str,
    workspace_id: str,
    channel_id: str,
    filters: Filters,
    rng: random.Random,
) -> Item | None:
    """A question not yet dropped in this channel, until the filtered bank runs out."""
    last_used = (
        select(drops.c.question_id, func.max(drops.c.posted_at))
        .where(
            drops.c.platform == platform,
            drops.c.workspace_id == workspace_id,
            drops.c.channel_id == channel_id,
            drops.c.private_to.is_(None),
        )
        .group_by(drops.c.question_id)
    )
    return await _choose(
        conn,
        platform=platform,
        workspace_id=workspace_id,
        filters=filters,
        last_used=last_used,
        rng=rng,
    )


async def choose_for_member(
    conn: AsyncConnection,
    *,
    platform: str,
    workspace_id: str,
    user_id: str,
    filters: Filters,
    rng: random.Random,
) -> Item | None:
    """A question this member has not answered yet; then the one answered longest ago."""
    last_used = (
        select(answers.c.question_id, func.max(answers.c.answered_at))
        .where(
            answers.c.platform == platform,
            answers.c.workspace_id == workspace_id,
            answers.c.user_id == user_id,
        )
        .group_by(answers.c.question_id)
    )
    return await _choose(
        conn,
        platform=platform,
        workspace_id=workspace_id,
        filters=filters,
        last_used=last_used,
        rng=rng,
    )


async def get(
    conn: AsyncConnection, *, platform: str, workspace_id: str, question_id: str
) -> Item | None:
    body = await conn.scalar(
        select(questions.c.body).where(
            _visible(platform, workspace_id),
            questions.c.id == question_id,
        )
    )
    return None if body is None else from_json(body)
