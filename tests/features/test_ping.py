"""/ping: a feature added in one module (command, button, form, timer) works end to end."""

from __future__ import annotations

from datetime import timedelta

from bot.chat import Action
from tests.conftest import Chat


def _dms(chat: Chat) -> list[str]:
    return [m.card.title for m in chat.platform.messages.values() if m.to == chat.alice.ref]


async def test_ping_answers_and_its_timer_sends_a_dm_later(chat: Chat) -> None:
    """Pong at once; the button opens a form; the minutes given come back as a DM."""
    pong = await chat.run("/ping", as_=chat.alice)
    assert pong.card is not None and pong.card.title == "Pong" and pong.private
    form = await chat.press(pong.card, 1, as_=chat.alice)
    assert form.form is not None and form.form.fields[0].id == "minutes"
    planned = await chat.submit(form, {"minutes": "10"}, as_=chat.alice)
    assert planned.card is not None and "in 10 minutes" in planned.card.body
    await chat.advance(timedelta(minutes=9))
    assert _dms(chat) == []
    await chat.advance(timedelta(minutes=2))
    assert _dms(chat) == ["Pong, later"]


async def test_a_bad_number_of_minutes_is_explained_and_nothing_is_planned(chat: Chat) -> None:
    """A CommandError from a form handler becomes the same clear private reply as a command's."""
    pong = await chat.run("/ping", as_=chat.alice)
    assert pong.card is not None
    form = await chat.press(pong.card, 1, as_=chat.alice)
    reply = await chat.submit(form, {"minutes": "soon"}, as_=chat.alice)
    assert reply.card is not None and reply.card.body.startswith("`soon` is not a number")
    await chat.advance(timedelta(days=2))
    assert _dms(chat) == []


async def test_a_forged_ping_button_is_refused_cleanly(chat: Chat) -> None:
    """An id with the feature's prefix but an unknown action gets a clear error, not a crash."""
    reply = await chat.app.handle(Action(chat.alice, chat.place, "ping:explode"))
    assert reply is not None and reply.card is not None
    assert "no longer understood" in reply.card.body
