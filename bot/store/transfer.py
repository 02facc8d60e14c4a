"""Move one workspace between databases: ``studybot export-workspace`` and
``import-workspace`` (e.g. a community leaving a shared SQLite file for PostgreSQL).

The file is JSON lines, UTF-8. Line 1 is the header::

    {"format": "studybot-workspace", "version": 1, "schema_revision": "0012",
     "platform": "slack", "workspace_id": "T0123", "exported_at": "…", "rows": {"drops": 3, …}}

and every other line one row: ``{"table": "drops", "row": {"id": 7, …}}``, tables in the
order their foreign keys need, times as ISO 8601 in UTC. Every table is keyed by platform
and workspace; all of the workspace's rows are written, and nothing of the shipped bank
(scope ``SHIPPED``). The file is only read back by the same schema revision.

An import runs in one transaction: all of it or none. The ids a database hands out
(``drops.id``, ``schedules.id``, …) are kept when every one of them lies above everything
the target has used for that table; otherwise the table's ids are renumbered above both,
in the same order, and every place that holds such an id follows: integer columns
(``answers.drop_id``, ``drops.schedule_id``, ``fires.drop_id``, ``mock_rounds.fire_id``,
``mock_groups.round_id``, ``mock_*.group_id``, ``mock_profiles.last_round``), keys made of a
prefix and an id (``schedule:12`` in ``fires.job`` and ``drops.posted_by``, ``reveal:7``,
``mock-group:3:…``, ``mock-round:2:…``, ``mock-follow-up:3…`` in ``fires.job``,
``deliveries.key`` and ``timers.key``), ids inside a timer's JSON payload (``group_id``…),
and a round's summary ("Round 2: …"). Keys that name the workspace itself
(``digest:slack:T0123:C1``, ``remind:slack:T0123:U1``) are copied as they are; a key of any
other form is refused rather than copied with an id that may point elsewhere. A feature
that starts keeping an id inside a new kind of key or payload adds it to ``KEY_PREFIXES`` or
``PAYLOAD_IDS`` below; tests/test_transfer.py states where ids live and fails on an integer
column it has not been told about.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Table, delete, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import create_engine, head_revision, migrate
from bot.store.schema import SHIPPED, UTCDateTime, metadata

FORMAT = "studybot-workspace"
VERSION = 1  # of the file's layout; the rows' columns follow the schema revision
BATCH = 500  # rows per INSERT

# Integer columns holding another table's id without a declared foreign key (those with one
# are found in the schema itself, see ``int_refs``).
EXTRA_INT_REFS: Mapping[tuple[str, str], str] = {
    ("drops", "schedule_id"): "schedules",
    ("fires", "drop_id"): "drops",
    ("mock_rounds", "fire_id"): "fires",
    ("mock_profiles", "last_round"): "mock_rounds",
}
# Keys "<prefix>:<id>[:…]": the table whose id follows each prefix.
KEY_PREFIXES: Mapping[str, str] = {
    "schedule": "schedules",
    "reveal": "drops",
    "mock-group": "mock_groups",
    "mock-round": "mock_rounds",
    "mock-follow-up": "mock_groups",
    "selfrate:dm": "drops",  # the self-rating message sent to each author after a reveal
    "selfrate:rated": "drops",  # an author's Done on that message
    "selfrate:review": "drops",  # the AI reviewer's advice on it (a queued timer, then sent)
    "mock-draft": "mock_groups",  # an interviewer's notes and their AI draft (a timer)
}
# Text columns holding such keys. True: every key must be known (numbered or naming the
# workspace); False: the column holds other values too (drops.posted_by: a member's id).
KEY_COLUMNS: Mapping[tuple[str, str], bool] = {
    ("fires", "job"): True,
    ("deliveries", "key"): True,
    ("timers", "key"): True,
    ("drops", "posted_by"): False,
}
# Names inside a timer's JSON payload that hold an id.
PAYLOAD_IDS: Mapping[str, str] = {
    "group_id": "mock_groups",
    "round_id": "mock_rounds",
    "drop_id": "drops",
    "schedule_id": "schedules",
    "fire_id": "fires",
}
_NUMBERED = re.compile(
    "(" + "|".join(re.escape(p) for p in sorted(KEY_PREFIXES, key=len, reverse=True)) + r"):(\d+)"
)
_ROUND = re.compile(r"Round (\d+)(?=:)")


class TransferError(Exception):
    """The export or import did not happen; the message says why and what to do."""


def parse_workspace(text: str) -> tuple[str, str]:
    """``PLATFORM:ID`` as (platform, workspace_id)."""
    platform, sep, workspace_id = text.partition(":")
    if not sep or not platform or not workspace_id:
        raise TransferError(
            f"{text!r} is not a workspace; write PLATFORM:ID, e.g. slack:T0123ABCD, "
            "discord:812345678901234567 or console:console."
        )
    if SHIPPED in (platform, workspace_id):
        raise TransferError("the shipped question bank is not a workspace; it comes with studybot.")
    return platform, workspace_id


# ---- the schema's ids ----------------------------------------------------------------------


def id_tables() -> list[Table]:
    """Tables whose key is one integer id handed out by the database."""
    return [
        table
        for table in metadata.sorted_tables
        if [c.name for c in table.primary_key.columns] == ["id"]
        and isinstance(table.c.id.type, Integer)
    ]


def int_refs() -> dict[tuple[str, str], str]:
    """Every integer column that holds an id of an ``id_tables`` table: (table, column) → table."""
    ids = {t.name for t in id_tables()}
    refs = dict(EXTRA_INT_REFS)
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name in ids and fk.column.name == "id":
                refs[(table.name, fk.parent.name)] = fk.column.table.name
    return refs


Remap = Callable[[str, int], int]  # (table, id) → the id to write


def _numbered(key: str) -> tuple[str, int, str] | None:
    """(prefix, id, the rest) of a key "<prefix>:<id>[:…]", else None."""
    found = _NUMBERED.match(key)
    if found and (found.end() == len(key) or key[found.end()] == ":"):
        return found[1], int(found[2]), key[found.end() :]
    return None


def _names_scope(key: str, platform: str, workspace_id: str) -> bool:
    return f":{platform}:{workspace_id}:" in f"{key}:"


def _remap_key(key: str, remap: Remap, *, scope: tuple[str, str], strict: bool, where: str) -> str:
    ref = _numbered(key)
    if ref is not None:
        prefix, number, rest = ref
        return f"{prefix}:{remap(KEY_PREFIXES[prefix], number)}{rest}"
    if strict and not _names_scope(key, *scope):
        raise TransferError(
            f"{where} holds the key {key!r}, a form this studybot cannot move (an id in it "
            "could point at another workspace's row). Nothing was written; please report it."
        )
    return key


def _remap_payload(payload: str, remap: Remap) -> str:
    try:
        value = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(value, dict) or not any(k in value for k in PAYLOAD_IDS):
        return payload
    changed = False
    for name, table in PAYLOAD_IDS.items():
        old = value.get(name)
        if isinstance(old, int) and not isinstance(old, bool):
            value[name] = remap(table, old)
            changed = changed or value[name] != old
    return json.dumps(value) if changed else payload


def _walk(
    table: str, row: Mapping[str, Any], remap: Remap, scope: tuple[str, str]
) -> dict[str, Any]:
    """The row with every id in it passed through ``remap``."""
    out = dict(row)
    where = f"{table} row {row.get('id', '')}".rstrip()
    if table in _ID_TABLES and isinstance(out.get("id"), int):
        out["id"] = remap(table, out["id"])
    for (name, column), target in _INT_REFS.items():
        if name == table and isinstance(out.get(column), int):
            out[column] = remap(target, out[column])
    for (name, column), strict in KEY_COLUMNS.items():
        if name == table and isinstance(out.get(column), str):
            out[column] = _remap_key(out[column], remap, scope=scope, strict=strict, where=where)
    if table == "timers" and isinstance(out.get("payload"), str):
        out["payload"] = _remap_payload(out["payload"], remap)
    if table == "mock_rounds" and isinstance(out.get("summary"), str):
        out["summary"] = _ROUND.sub(
            lambda m: f"Round {remap('mock_rounds', int(m[1]))}", out["summary"], count=1
        )
    return out


_ID_TABLES = {t.name for t in id_tables()}
_INT_REFS = int_refs()


# ---- values in the file ---------------------------------------------------------------------


def _encode(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(table: Table, name: str, value: object, line: int) -> object:
    """A value read from the file, checked against its column's type."""
    if name not in table.c:
        raise TransferError(f"line {line}: {table.name} has no column {name!r} in this studybot.")
    kind = table.c[name].type
    if value is None:
        return None
    ok: bool
    if isinstance(kind, UTCDateTime):
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise TransferError(f"line {line}: {table.name}.{name} is not a UTC time: {value!r}.")
        return parsed.astimezone(UTC)
    if isinstance(kind, Boolean):
        ok = isinstance(value, bool)
    elif isinstance(kind, Integer):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(kind, Float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(kind, String):
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise TransferError(f"line {line}: {table.name}.{name} cannot be {value!r}.")
    return value


# ---- export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    platform: str
    workspace_id: str
    revision: str
    rows: dict[str, int]


async def _revision(conn: AsyncConnection) -> str | None:
    def read(sync: Any) -> str | None:
        if not inspect(sync).has_table("alembic_version"):
            return None
        found = sync.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(found) if found is not None else None

    return await conn.run_sync(read)


def _check_source_revision(revision: str | None, where: str) -> str:
    head = head_revision()
    if revision is None:
        raise TransferError(f"{where} holds no studybot database; check --db or DATABASE_URL.")
    if revision < head:
        raise TransferError(
            f"{where} is at schema revision {revision} and this studybot at {head}: run "
            "studybot migrate (with the same --db or DATABASE_URL) first, then export."
        )
    if revision > head:
        raise TransferError(
            f"{where} is at schema revision {revision}, newer than this studybot ({head}); "
            "export with the studybot version that runs on it."
        )
    return revision


async def _workspaces(conn: AsyncConnection) -> list[str]:
    table = metadata.tables["members"]
    found = await conn.execute(select(table.c.platform, table.c.workspace_id).distinct())
    return sorted(f"{p}:{w}" for p, w in found.all() if SHIPPED not in (p, w))


async def _dump(
    conn: AsyncConnection, platform: str, workspace_id: str
) -> list[tuple[str, dict[str, Any]]]:
    scope = (platform, workspace_id)
    rows: list[tuple[str, dict[str, Any]]] = []
    for table in metadata.sorted_tables:
        query = (
            select(table)
            .where(table.c.platform == platform, table.c.workspace_id == workspace_id)
            .order_by(*table.primary_key.columns)
        )
        for row in (await conn.execute(query)).mappings().all():
            values = {str(k): v for k, v in row.items()}
            _walk(table.name, values, lambda _t, n: n, scope)  # refuses keys it cannot move
            rows.append((table.name, {k: _encode(v) for k, v in values.items()}))
    return rows


def _write(target: Path, header: Mapping[str, object], rows: Sequence[tuple[str, object]]) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for table, row in rows:
                out.write(json.dumps({"table": table, "row": row}, ensure_ascii=False) + "\n")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _check_target_file(target: Path) -> None:
    if target.exists():
        raise TransferError(
            f"{target} already exists; name a new file (an export never overwrites)."
        )
    if not target.parent.is_dir():
        raise TransferError(f"the folder {target.parent} does not exist; create it first.")


def _snapshot(engine: AsyncEngine) -> AsyncEngine:
    """Reads that see one moment of the database while a bot keeps writing (SQLite's read
    transactions already do)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine


async def export_workspace(
    database_url: str, platform: str, workspace_id: str, target: Path, *, now: datetime
) -> Exported:
    """Write every row of the workspace to ``target`` (a new file)."""
    _check_target_file(target)
    where = _where(database_url, must_exist=True)
    engine = create_engine(database_url)
    try:
        async with _snapshot(engine).connect() as conn:
            revision = _check_source_revision(await _revision(conn), where)
            rows = await _dump(conn, platform, workspace_id)
            if not rows:
                known = ", ".join(await _workspaces(conn)) or "none"
                raise TransferError(
                    f"{where} holds nothing for {platform}:{workspace_id} (workspaces in it: "
                    f"{known}); check the spelling, e.g. slack:T0123ABCD."
                )
    except DBAPIError as exc:
        raise TransferError(f"could not read {where}: {exc.orig}") from exc
    finally:
        await engine.dispose()
    counts = {t.name: 0 for t in metadata.sorted_tables}
    for table, _ in rows:
        counts[table] += 1
    header = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": revision,
        "platform": platform,
        "workspace_id": workspace_id,
        "exported_at": now.astimezone(UTC).isoformat(),
        "rows": counts,
    }
    await asyncio.to_thread(_write, target, header, rows)
    return Exported(platform, workspace_id, revision, counts)


def _where(database_url: str, *, must_exist: bool) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if must_exist and not path.is_file():
            raise TransferError(f"there is no database at {path}; check --db or DATABASE_URL.")
        return str(path)
    return url.render_as_string(hide_password=True)


# ---- reading the file -----------------------------------------------------------------------


@dataclass
class Parsed:
    platform: str
    workspace_id: str
    revision: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _header(line: str, source: Path) -> dict[str, Any]:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError(
            f"{source} is not a studybot workspace export (its first line is not the header "
            "studybot export-workspace writes)."
        )
    version = header.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise TransferError(
            f"{source} was written in format version {version!r}; this studybot reads "
            f"version {VERSION}. Import it with the studybot that exported it, or newer."
        )
    revision, head = str(header.get("schema_revision")), head_revision()
    if revision != head:
        newer = revision > head
        raise TransferError(
            f"{source} holds rows of schema revision {revision} and this studybot writes "
            f"{head}: "
            + (
                "upgrade studybot, then import."
                if newer
                else "migrate the source database with this version (studybot migrate) and "
                "export again."
            )
        )
    for name in ("platform", "workspace_id"):
        if not isinstance(header.get(name), str) or not header[name]:
            raise TransferError(f"{source}: the header names no {name}.")
    return header


def _row(line: str, number: int, parsed: Parsed) -> tuple[str, dict[str, Any]]:
    try:
        entry = json.loads(line)
    except ValueError as exc:
        raise TransferError(f"line {number} is not JSON ({exc}); the file was damaged.") from exc
    if not isinstance(entry, dict) or not isinstance(entry.get("row"), dict):
        raise TransferError(f'line {number} is not a row ({{"table": …, "row": {{…}}}}).')
    table = metadata.tables.get(str(entry.get("table")))
    if table is None:
        raise TransferError(f"line {number}: {entry.get('table')!r} is not a studybot table.")
    row = {k: _decode(table, k, v, number) for k, v in entry["row"].items()}
    if missing := [c.name for c in table.columns if c.name not in row]:
        raise TransferError(f"line {number}: the {table.name} row has no {', '.join(missing)}.")
    if (row.get("platform"), row.get("workspace_id")) != (parsed.platform, parsed.workspace_id):
        raise TransferError(
            f"line {number}: a {table.name} row of {row.get('platform')}:"
            f"{row.get('workspace_id')}, not of {parsed.platform}:{parsed.workspace_id}."
        )
    return table.name, row


def read_export(source: Path) -> Parsed:
    """The file, checked line by line and against the header's counts."""
    if not source.is_file():
        raise TransferError(f"there is no file at {source}.")
    try:
        with source.open(encoding="utf-8") as lines:
            header = _header(next(lines, ""), source)
            parsed = Parsed(header["platform"], header["workspace_id"], header["schema_revision"])
            parsed.rows = {t.name: [] for t in metadata.sorted_tables}
            for number, line in enumerate(lines, start=2):
                if line.strip():
                    table, row = _row(line, number, parsed)
                    parsed.rows[table].append(row)
    except UnicodeDecodeError as exc:
        raise TransferError(
            f"{source} is not a studybot workspace export (not UTF-8 text: {exc.reason})."
        ) from exc
    expected = header.get("rows")
    if not isinstance(expected, dict):
        raise TransferError(f"{source}: the header does not count the rows.")
    for name, rows in parsed.rows.items():
        if expected.get(name, 0) != len(rows):
            raise TransferError(
                f"{source} has {len(rows)} {name} rows where its header counts "
                f"{expected.get(name, 0)}: it was cut short or edited. Export again."
            )
    return parsed


# ---- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    platform: str
    workspace_id: str
    revision: str
    rows: dict[str, int]
    replaced: int  # the workspace's rows deleted first (--replace)
    renumbered: dict[str, dict[int, int]]  # table → old id → new id, where ids had to change


async def _sequence(conn: AsyncConnection, table: Table) -> tuple[str, int] | None:
    """PostgreSQL: the id sequence's name and the last id it handed out (0: none yet)."""
    if conn.dialect.name != "postgresql":
        return None
    name = await conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
    if name is None:
        return None
    last, called = (await conn.execute(text(f"SELECT last_value, is_called FROM {name}"))).one()
    return str(name), int(last) if called else 0


async def _high_water(conn: AsyncConnection, table: Table) -> int:
    """The highest id of ``table`` the target uses anywhere: its rows, every column, key and
    payload that refers to one, and on PostgreSQL what its sequence handed out."""
    found: list[int | None] = [await conn.scalar(select(func.max(table.c.id)))]
    for (name, column), target in _INT_REFS.items():
        if target == table.name:
            found.append(await conn.scalar(select(func.max(metadata.tables[name].c[column]))))
    for prefix in (p for p, t in KEY_PREFIXES.items() if t == table.name):
        for name, column in KEY_COLUMNS:
            col = metadata.tables[name].c[column]
            for key in await conn.scalars(select(col).where(col.like(f"{prefix}:%"))):
                ref = _numbered(key)
                found.append(ref[1] if ref and ref[0] == prefix else None)
    names = [k for k, t in PAYLOAD_IDS.items() if t == table.name]
    timers = metadata.tables["timers"]
    for name in names:
        for payload in await conn.scalars(
            select(timers.c.payload).where(timers.c.payload.contains(f'"{name}"'))
        ):
            with contextlib.suppress(ValueError, AttributeError):
                value = json.loads(payload).get(name)
                found.append(value if isinstance(value, int) else None)
    sequence = await _sequence(conn, table)
    found.append(sequence[1] if sequence else None)
    return max((n for n in found if n is not None), default=0)


async def _id_maps(conn: AsyncConnection, parsed: Parsed) -> dict[str, dict[int, int]]:
    """Old id → new id for every id the file holds (rows and references alike): kept when
    all lie above the target's high-water mark, else renumbered above both, in order."""
    seen: dict[str, set[int]] = {name: set() for name in _ID_TABLES}

    def note(table: str, number: int) -> int:
        seen[table].add(number)
        return number

    scope = (parsed.platform, parsed.workspace_id)
    for name, rows in parsed.rows.items():
        for row in rows:
            _walk(name, row, note, scope)
    maps: dict[str, dict[int, int]] = {}
    for name, ids in seen.items():
        if not ids:
            maps[name] = {}
            continue
        high = await _high_water(conn, metadata.tables[name])
        if min(ids) > high:
            maps[name] = {n: n for n in ids}
        else:
            base = max(high, max(ids))
            maps[name] = {old: base + i for i, old in enumerate(sorted(ids), start=1)}
    return maps


async def _clear(conn: AsyncConnection, parsed: Parsed, *, replace: bool, where: str) -> int:
    """Refuse a target that holds the workspace, or (``replace``) delete what it holds."""
    present: dict[str, int] = {}
    for table in metadata.sorted_tables:
        scope = (table.c.platform == parsed.platform, table.c.workspace_id == parsed.workspace_id)
        count = int(await conn.scalar(select(func.count()).select_from(table).where(*scope)) or 0)
        if count:
            present[table.name] = count
    if present and not replace:
        some = ", ".join(f"{n} {name}" for name, n in list(present.items())[:3])
        raise TransferError(
            f"{where} already holds {parsed.platform}:{parsed.workspace_id} ({some}, …); "
            "nothing was imported. Add --replace to delete what it holds for that workspace "
            "and import the file in its place, or import into another database."
        )
    for table in reversed(metadata.sorted_tables):
        if table.name in present:
            scope = (
                table.c.platform == parsed.platform,
                table.c.workspace_id == parsed.workspace_id,
            )
            await conn.execute(delete(table).where(*scope))
    return sum(present.values())


async def _insert(
    conn: AsyncConnection, parsed: Parsed, maps: Mapping[str, Mapping[int, int]], where: str
) -> dict[str, int]:
    scope = (parsed.platform, parsed.workspace_id)

    def remap(table: str, number: int) -> int:
        return maps[table][number]

    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        rows = [_walk(table.name, row, remap, scope) for row in parsed.rows[table.name]]
        for start in range(0, len(rows), BATCH):
            try:
                await conn.execute(table.insert(), rows[start : start + BATCH])
            except DBAPIError as exc:
                raise TransferError(
                    f"nothing was imported: {where} refused a {table.name} row ({exc.orig})."
                ) from exc
        counts[table.name] = len(rows)
    return counts


async def _advance_sequences(conn: AsyncConnection, maps: Mapping[str, Mapping[int, int]]) -> None:
    """PostgreSQL: ids inserted as they are do not move a sequence; move each past them."""
    for name, mapping in maps.items():
        sequence = await _sequence(conn, metadata.tables[name]) if mapping else None
        if sequence and max(mapping.values()) > sequence[1]:
            await conn.execute(
                text("SELECT setval(CAST(:s AS regclass), :v)"),
                {"s": sequence[0], "v": max(mapping.values())},
            )


async def _lock(conn: AsyncConnection) -> None:
    """PostgreSQL: bots may keep running on other workspaces; their writes wait for the
    import (a few seconds), so no id is handed out twice. SQLite's write lock does this."""
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(t.name) for t in metadata.sorted_tables)
        await conn.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


async def import_workspace(database_url: str, source: Path, *, replace: bool = False) -> Imported:
    """Import the file's workspace into the database, migrated first; all of it or nothing."""
    parsed = await asyncio.to_thread(read_export, source)
    where = _where(database_url, must_exist=False)
    engine = create_engine(database_url)
    try:
        try:
            await migrate(engine)
        except (OSError, DBAPIError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise TransferError(
                f"could not open {where} ({reason}); nothing was imported."
            ) from exc
        async with engine.begin() as conn:
            await _lock(conn)
            replaced = await _clear(conn, parsed, replace=replace, where=where)
            maps = await _id_maps(conn, parsed)
            counts = await _insert(conn, parsed, maps, where)
            await _advance_sequences(conn, maps)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise TransferError(f"nothing was imported into {where}: {reason}") from exc
    finally:
        await engine.dispose()
    renumbered = {}  # rows whose id changed (ids only referred to, of deleted rows, left out)
    for name in _ID_TABLES:
        moved = {row["id"]: maps[name][row["id"]] for row in parsed.rows[name]}
        if any(old != new for old, new in moved.items()):
            renumbered[name] = moved
    return Imported(
        parsed.platform, parsed.workspace_id, parsed.revision, counts, replaced, renumbered
    )


def describe(counts: Mapping[str, int]) -> Iterable[str]:
    """ "12 answers", … for the tables that have rows, in the file's order."""
    return (f"{n} {name}" for name, n in counts.items() if n)
