"""The one welcome a member gets, claimed with their first record: with the reply it
belongs to, never twice (two instances, a restart), and kept for later when the first
reply cannot carry it (a form, an error)."""

from __future__ import annotations

from sqlalchemy import event

from bot.chat import Reply
from tests.conftest import Chat, make_chat, member, two_instances

WELCOME = "Welcome to the study group!"


def _welcomed(reply: Reply) -> bool:
    return any(note.title == WELCOME for note in reply.notes) or (
        reply.card is not None and reply.card.title == WELCOME
    )


async def test_a_first_answer_brings_the_welcome_and_only_once(chat: Chat) -> None:
    await chat.run("/drop now kind:choice", as_=chat.admin)
    first = await chat.choose(chat.last_post(), 1, as_=chat.alice)
    assert first.card is not None and "Locked in" in first.card.body
    assert _welcomed(first)
    assert not _welcomed(await chat.run("/help", as_=chat.alice))


async def test_a_first_command_that_fails_leaves_the_welcome_for_the_next(chat: Chat) -> None:
    failed = await chat.run("/quiz topic:astrology", as_=chat.bob)
    assert failed.card is not None and failed.card.tone.name == "BAD"
    assert not _welcomed(failed)
    assert _welcomed(await chat.run("/help", as_=chat.bob))
    assert not _welcomed(await chat.run("/help", as_=chat.bob))


async def test_a_first_press_that_opens_a_form_leaves_the_welcome_for_the_submit(
    chat: Chat,
) -> None:
    await chat.run("/drop now kind:open", as_=chat.admin)
    opened = await chat.press(chat.last_post(), 1, as_=chat.carol)
    assert opened.form is not None and not _welcomed(opened)
    saved = await chat.submit(
        opened, {"answer": "Regularise, get more data, and stop early."}, as_=chat.carol
    )
    assert _welcomed(saved)


async def test_two_instances_welcome_a_newcomer_once(database_url: str) -> None:
    newcomer = member("Newcomer")
    async with two_instances(database_url) as (first, second):
        replies = [
            await first.run("/help", as_=newcomer),
            await second.run("/help", as_=newcomer),
            await second.run("/leaderboard", as_=newcomer),
        ]
    assert [_welcomed(r) for r in replies] == [True, False, False]


async def test_a_newcomers_answer_is_two_write_transactions(tmp_path: object) -> None:
    """Recording a newcomer and claiming their welcome share one transaction; the answer
    is the other (SQLite: each write transaction is one BEGIN IMMEDIATE)."""
    path = f"{tmp_path}/welcome.db"
    chat = await make_chat(f"sqlite+aiosqlite:///{path}")
    try:
        await chat.run("/drop now kind:choice", as_=chat.admin)
        begun: list[str] = []
        event.listen(
            chat.app.ctx.engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: (
                begun.append(statement) if statement == "BEGIN IMMEDIATE" else None
            ),
        )
        reply = await chat.choose(chat.last_post(), 2, as_=chat.alice)
        assert _welcomed(reply)
        assert len(begun) == 2
    finally:
        await chat.app.close()
