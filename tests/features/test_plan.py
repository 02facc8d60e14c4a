"""/plan: study towards an interview date. Until the date /practice and a daily DM put the
chosen topics first, sized so every question in them is seen before the last 72 hours;
reviews in those topics aim higher in the last week; the last 72 hours are a cram; mock
rounds put members with an interview within two weeks first. Everything runs through the
core's command path on the manual clock, day by day."""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from functools import cache

import fsrs
import pytest
from sqlalchemy import func, select

from bot.chat import Card, Command, FormSubmit, Member, Reply, Tone
from bot.features import practice
from bot.features.mocks import policy
from bot.features.plan import state
from bot.matching import Group
from bot.ports import Sent
from bot.store.schema import cards, drops, mock_groups, plans, timers
from questions.schema import ChoiceItem, Item, OpenItem
from tests.conftest import Chat, make_chat, member

MONDAY = date(2026, 1, 5)  # the manual clock starts on Monday 5 January 2026, 09:00 UTC
DAY = timedelta(days=1)
PLANNED = {"llm": 12, "ml-systems": 9, "evaluation": 6}  # multiple-choice questions per topic
OTHER = {"statistics": 5}  # a topic outside the plan
EVENINGS = "weekday evenings, weekend mornings"


def _choice(topic: str, n: int) -> ChoiceItem:
    return ChoiceItem.model_validate(
        {
            "id": f"{topic}-plan-{n}",
            "kind": "choice",
            "topic": topic,
            "difficulty": ("easy", "medium", "hard")[n % 3],
            "tags": ["plan"],
            "prompt": f"Question {n} on {topic}: which statement holds?",
            "options": [
                {"text": "The right one", "correct": True, "reason": "It is right."},
                {"text": "A wrong one", "reason": "It is wrong."},
                {"text": "Another wrong one", "reason": "It is wrong too."},
            ],
        }
    )


def _open(topic: str, n: int) -> OpenItem:
    return OpenItem.model_validate(
        {
            "id": f"{topic}-open-{n}",
            "kind": "open",
            "topic": topic,
            "difficulty": "medium",
            "tags": ["plan"],
            "prompt": f"Open question {n} on {topic}: explain the idea.",
            "answer": "A model answer long enough to pass the schema's minimum length check.",
            "key_points": ["The first point", "The second point", "The third point"],
        }
    )


@cache
def _bank() -> tuple[Item, ...]:
    """Multiple-choice questions in three planned topics and one other; open questions (in
    `llm`, and in `fundamentals`, which has no multiple-choice question) for mock packets."""
    choice = [_choice(t, n) for t, count in {**PLANNED, **OTHER}.items() for n in range(count)]
    return (*choice, *(_open(t, n) for t in ("llm", "fundamentals") for n in range(8)))


@pytest.fixture
async def plan_chat(database_url: str) -> AsyncIterator[Chat]:
    chat = await make_chat(database_url, items=_bank())
    try:
        yield chat
    finally:
        await chat.app.close()


def _body(reply: Reply) -> str:
    assert reply.card is not None
    return reply.card.body


def _dms(chat: Chat, who: Member) -> list[Sent]:
    return [m for m in chat.platform.messages.values() if m.to == who.ref]


async def _question_of(chat: Chat, card: Card) -> tuple[str, str]:
    """The (question id, topic) a /practice card asks."""
    drop_id = int(card.buttons[0].action_id.split(":")[1])
    async with chat.app.ctx.engine.connect() as conn:
        row = (await conn.execute(select(drops).where(drops.c.id == drop_id))).mappings().one()
    return row["question_id"], row["topic"]


async def _practise(
    chat: Chat, who: Member, *, right: bool = True, command: str = "/practice"
) -> tuple[str, str]:
    """/practice once and answer: the question asked, and its topic."""
    reply = await chat.run(command, as_=who)
    assert reply.card is not None and reply.card.buttons, _body(reply)
    asked = await _question_of(chat, reply.card)
    await chat.choose(reply.card, 1 if right else 2, as_=who)
    return asked


async def _cards(chat: Chat, who: Member) -> dict[str, datetime]:
    """The member's cards: question id → when due."""
    async with chat.app.ctx.engine.connect() as conn:
        rows = await conn.execute(
            select(cards.c.question_id, cards.c.due).where(cards.c.user_id == who.ref.user_id)
        )
        return {q: due for q, due in rows.all()}


_TODAY = re.compile(r"Today: (\d+) reviews? due in these topics and (\d+) of")
_DM_TODAY = re.compile(r"Today: (\d+) reviews? due in your plan's topics, and (\d+) new question")


def _planned_ids() -> set[str]:
    return {f"{t}-plan-{n}" for t, count in PLANNED.items() for n in range(count)}


# ---- the plan over simulated weeks -----------------------------------------------------


async def test_daily_selection_covers_every_topic_before_the_date(plan_chat: Chat) -> None:
    """A plan made four weeks ahead. Each day Alice reads her DM and runs /practice until
    /plan says today's plan is done, getting a fifth of the answers wrong. Every planned
    question is seen before the cram starts, no more than today's share of new ones a day,
    the topics keep pace with one another, and nothing outside the plan is asked."""
    chat, alice = plan_chat, plan_chat.alice
    reply = await chat.run("/plan 2026-02-02 topics:llm,ml-systems,evaluation", as_=alice)
    body = _body(reply)
    assert "Interview on Mon 2 Feb 2026 (in 28 days)" in body
    assert "27 multiple-choice questions, 27 not seen yet" in body
    assert "about 2 new questions a day, so you see every one by Thu 29 Jan 2026" in body
    assert "A DM at 09:00 (UTC) each day" in body

    rng = random.Random(3)
    first_seen: dict[str, date] = {}
    asked_topics: set[str] = set()
    interview = date(2026, 2, 2)
    today, messages, compared = MONDAY, 0, 0
    while today <= interview:
        status = _body(await chat.run("/plan", as_=alice))
        todays = _dms(chat, alice)[messages:]
        messages += len(todays)
        if MONDAY < today < interview:  # the 09:00 message agrees with /plan
            work = _TODAY.search(status)
            assert (work is None) == (not todays) or "Cram" in todays[0].card.body, status
            if work is not None:
                said = _DM_TODAY.search(todays[0].card.body)
                assert said is not None and said.groups() == work.groups()
                compared += 1
        for _ in range(40):
            if "Today's plan is done" in status:
                break
            question, topic = await _practise(chat, alice, right=rng.random() > 0.2)
            asked_topics.add(topic)
            first_seen.setdefault(question, today)
            status = _body(await chat.run("/plan", as_=alice))
        else:
            pytest.fail(f"{today}: today's plan never finished")
        new = sum(1 for d in first_seen.values() if d == today)
        assert new <= 2, f"{today}: {new} new questions"
        if today == MONDAY + 12 * DAY:  # half way: the topics keep pace
            shares = [
                sum(1 for q in first_seen if q.startswith(f"{t}-")) / n for t, n in PLANNED.items()
            ]
            assert max(shares) - min(shares) <= 1 / 6 + 1e-9, shares
        await chat.advance(DAY)
        today += DAY

    assert compared >= 20  # most days had work, and their message said the same
    assert set(first_seen) == _planned_ids()
    assert max(first_seen.values()) < date(2026, 1, 30)  # all seen before the cram
    assert asked_topics == set(PLANNED)
    daily = [m.card for m in _dms(chat, alice)]
    assert daily[-1].title == "Interview day" and "Good luck" in daily[-1].body
    assert all(c.title.startswith("Interview plan: ") for c in daily[:-1])
    assert any("Cram: after those" in c.body for c in daily)

    await chat.advance(7 * DAY)  # the plan is over: no more messages, the timer is gone
    assert [m.card for m in _dms(chat, alice)] == daily
    async with chat.app.ctx.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(timers)) == 0
    after = _body(await chat.run("/plan", as_=alice))
    assert "Your interview day has passed" in after


async def test_the_plan_comes_first_then_other_due_cards_then_ahead_of_plan(
    plan_chat: Chat,
) -> None:
    """With a statistics card due and today's share of new questions done, /practice asks
    the statistics card before any further planned question, and after it a planned one
    ahead of plan rather than an unseen statistics question."""
    chat, alice = plan_chat, plan_chat.alice
    for _ in range(2):
        reply = await chat.run("/practice topic:statistics", as_=alice)
        assert reply.card is not None
        await chat.choose(reply.card, 2, as_=alice)  # wrong: due tomorrow
    await chat.advance(DAY)
    await chat.run("/plan 2026-02-03 topics:llm,ml-systems,evaluation", as_=alice)
    topics = [(await _practise(chat, alice))[1] for _ in range(5)]
    assert all(t in PLANNED for t in topics[:2])  # today's two new ones come first
    assert topics[2:4] == ["statistics", "statistics"]  # then the other due cards
    assert topics[4] in PLANNED  # then ahead of plan, before unseen statistics


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "/plan 2025-12-01 topics:llm",
            "Mon 1 Dec 2025 has passed. Give the date of your interview",
        ),
        ("/plan 2026-02-30 topics:llm", "`2026-02-30` is not a day on the calendar"),
        (
            "/plan 20/01/2027 topics:llm",
            "`20/01/2027` is not a date. Write your interview date as YYYY-MM-DD",
        ),
        ("/plan 2027-06-01 topics:llm", "A plan reaches at most 366 days ahead"),
        (
            "/plan 2026-02-01 topics:llm,astrology",
            "There is no topic `astrology`. Topics you can plan: evaluation, statistics, llm, "
            "ml-systems.",
        ),
        ("/plan 2026-02-01 topics:lm", "There is no topic `lm`. Did you mean `llm`?"),
        ("/plan 2026-02-01 topics:fundamentals", "`fundamentals` has no multiple-choice questions"),
        ("/plan 2026-02-01", "Which topics? Add `topics:` with one or more of: evaluation"),
        ("/plan topics:llm", "Which date? Give your interview date, e.g. `/plan 2026-02-02"),
        ("/plan 2026-02-01 topics:llm at:25:00", "`25:00` is not a time"),
        ("/plan 2026-02-01 topics:llm when:soon", "`/plan` has no option `when`"),
    ],
)
async def test_bad_input_says_what_was_wrong_and_how_to_fix_it(
    plan_chat: Chat, text: str, expected: str
) -> None:
    reply = await plan_chat.run(text, as_=plan_chat.alice)
    assert reply.card is not None and reply.card.tone is Tone.BAD
    assert expected in reply.card.body
    async with plan_chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(select(plans))).all() == []


async def test_typed_options_as_discord_sends_them(plan_chat: Chat) -> None:
    """Discord sends options by name; the same checks apply and a good plan is saved."""
    chat, alice = plan_chat, plan_chat.alice
    bad = await chat.app.handle(
        Command(alice, chat.place, name="plan", options={"date": "2026-01-01", "topics": "llm"})
    )
    assert bad is not None and "has passed" in _body(bad)
    good = await chat.app.handle(
        Command(
            alice,
            chat.place,
            name="plan",
            options={"date": "2026-03-02", "topics": "llm, evaluation", "at": "18:30"},
        )
    )
    assert good is not None and good.card is not None and good.card.title == "Interview plan set"
    assert "Topics: llm, evaluation: 18 multiple-choice questions" in _body(good)
    assert "A DM at 18:30 (UTC)" in _body(good)


# ---- progress, changes, the form and off ---------------------------------------------------


async def test_progress_shows_seen_due_mastery_and_days_left(plan_chat: Chat) -> None:
    chat, alice = plan_chat, plan_chat.alice
    empty = await chat.run("/plan", as_=alice)
    assert "You have no interview plan" in _body(empty)
    assert "Topics you can plan: evaluation, statistics, llm, ml-systems" in _body(empty)
    await chat.run("/plan 2026-01-25 topics:evaluation,llm", as_=alice)
    for right in (True, False):
        await _practise(chat, alice, right=right)
    reply = await chat.run("/plan", as_=alice)
    assert reply.card is not None
    assert reply.card.title == "Interview plan: Sun 25 Jan 2026"
    body = reply.card.body
    # 18 unseen over the 17 days before the cram: two a day, both done.
    assert body.startswith("20 days left. Today's plan is done.")
    assert "Seen so far: 2 of 18 questions." in body
    fields = {f.name: f.value for f in reply.card.fields}
    assert list(fields) == ["evaluation", "llm"]
    assert fields["evaluation"].startswith("seen 1 of 6 · ")
    assert fields["llm"].startswith("seen 1 of 12 · ")
    assert all(re.search(r"mastery \d+ %$", v) for v in fields.values())

    await chat.advance(DAY)  # the wrong answer is due today
    body = _body(await chat.run("/plan", as_=alice))
    assert "19 days left. Today: 1 review due in these topics" in body

    changed = await chat.run("/plan topics:llm at:off", as_=alice)  # the date stays
    assert changed.card is not None and changed.card.title == "Interview plan changed"
    assert "Interview on Sun 25 Jan 2026" in _body(changed)
    assert "No daily message (`at:off`)" in _body(changed)
    async with chat.app.ctx.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(timers)) == 0


async def test_the_form_makes_a_plan(plan_chat: Chat) -> None:
    chat, alice = plan_chat, plan_chat.alice
    empty = await chat.run("/plan", as_=alice)
    assert empty.card is not None
    form = await chat.press(empty.card, 1, as_=alice)
    assert form.form is not None and [f.id for f in form.form.fields] == ["date", "topics", "at"]
    bad = await chat.submit(form, {"date": "2026-02-01", "topics": "llm, tarot"}, as_=alice)
    assert "There is no topic `tarot`" in _body(bad)
    done = await chat.submit(form, {"date": "2026-02-01", "topics": "llm, ml-systems"}, as_=alice)
    assert done.card is not None and done.card.title == "Interview plan set"
    status = await chat.run("/plan", as_=alice)
    assert status.card is not None and status.card.title == "Interview plan: Sun 1 Feb 2026"


async def test_plan_off_ends_the_plan_and_gives_the_review_reminder_back(
    plan_chat: Chat,
) -> None:
    """With /remind and a plan, one DM a day (the plan's); after /plan off, the review
    reminder again, and /practice in its usual order."""
    chat, alice = plan_chat, plan_chat.alice
    nothing = await chat.run("/plan off", as_=alice)
    assert "nothing to end" in _body(nothing)
    await chat.run("/remind 08:00", as_=alice)
    await chat.run("/plan 2026-02-01 topics:llm", as_=alice)  # at: the /remind time
    await _practise(chat, alice, right=False)  # due tomorrow
    await chat.advance(DAY)
    titles = [m.card.title for m in _dms(chat, alice)]
    assert titles == ["Interview plan: 26 days to go"]

    off = await chat.run("/plan off", as_=alice)
    assert off.card is not None and off.card.title == "Interview plan: off"
    async with chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(select(plans))).all() == []
        keys = set((await conn.scalars(select(timers.c.key))).all())
    assert keys == {"remind:memory:w1:alice"}
    await chat.advance(DAY)
    assert [m.card.title for m in _dms(chat, alice)][-1] == "Time for a review"
    assert "You have no interview plan" in _body(await chat.run("/plan", as_=alice))


async def test_no_daily_message_on_a_day_away_and_the_quota_skips_it(plan_chat: Chat) -> None:
    """Away tomorrow: no DM then, and today's share of new questions is the unseen spread
    over the days left less the day away."""
    chat, alice = plan_chat, plan_chat.alice
    await chat.run("/plan 2026-01-12 topics:evaluation", as_=alice)  # new days: Mon–Thu
    monday = _body(await chat.run("/plan", as_=alice))
    assert "Today: 0 reviews due in these topics and 2 of 2 new questions to go" in monday
    await chat.advance(DAY)  # Tuesday
    assert len(_dms(chat, alice)) == 1
    await chat.run("/away until 2026-01-07", as_=alice)  # Tuesday and Wednesday
    status = _body(await chat.run("/plan", as_=alice))
    assert "Today: 0 reviews due in these topics and 6 of 6 new questions" in status  # Thu only
    await chat.advance(DAY)  # Wednesday, away
    assert len(_dms(chat, alice)) == 1
    await chat.advance(DAY)  # Thursday, back
    assert len(_dms(chat, alice)) == 2


# ---- reviews aim higher in the last week; the cram ----------------------------------------


def _expected_days(retention: float) -> int:
    """A new card answered right at once (Easy) under this desired retention: days to due."""
    scheduler = fsrs.Scheduler.from_dict(
        {**practice.SCHEDULER.to_dict(), "desired_retention": retention}
    )
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    card, _ = scheduler.review_card(fsrs.Card(card_id=0), fsrs.Rating.Easy, now)
    return round((card.due - now).total_seconds() / 86400)


async def test_reviews_in_the_plans_topics_aim_higher_in_the_last_week(plan_chat: Chat) -> None:
    """Five days before the interview, a planned question answered right comes back sooner
    than a statistics one (desired retention 0.95 against 0.9); rating how sure you were,
    which replays the review, keeps it; after /plan off the usual interval is back."""
    chat, alice = plan_chat, plan_chat.alice
    assert _expected_days(state.FINAL_RETENTION) < _expected_days(0.9)
    await chat.run("/plan 2026-01-10 topics:llm", as_=alice)
    question, topic = await _practise(chat, alice)
    assert topic == "llm"
    other = await chat.run("/practice topic:statistics", as_=alice)
    assert other.card is not None
    stats_question = (await _question_of(chat, other.card))[0]
    await chat.choose(other.card, 1, as_=alice)
    due = await _cards(chat, alice)
    now = chat.clock.now()
    assert round((due[question] - now).total_seconds() / 86400) == _expected_days(0.95)
    assert round((due[stats_question] - now).total_seconds() / 86400) == _expected_days(0.9)

    reply = await chat.run("/practice topic:llm", as_=alice)
    assert reply.card is not None
    second = (await _question_of(chat, reply.card))[0]
    feedback = await chat.choose(reply.card, 1, as_=alice)
    assert feedback.card is not None
    certain = [b.label for b in feedback.card.buttons].index("Certain") + 1
    await chat.press(feedback.card, certain, as_=alice)  # Easy again, replayed
    replayed = (await _cards(chat, alice))[second]
    assert round((replayed - now).total_seconds() / 86400) == _expected_days(0.95)

    await chat.run("/plan off", as_=alice)
    third, _ = await _practise(chat, alice, command="/practice topic:llm")
    days = round(((await _cards(chat, alice))[third] - now).total_seconds() / 86400)
    assert days == _expected_days(0.9)


async def test_the_cram_brings_back_weak_cards_before_they_are_due(plan_chat: Chat) -> None:
    """All planned questions seen, none due. Four days out /practice moves on to unseen
    questions of other topics; three days out (the cram) it asks a planned card that is not due,
    the weakest first, and not the same card twice in one sitting."""
    chat, alice = plan_chat, plan_chat.alice
    await chat.run("/plan 2026-01-15 topics:evaluation", as_=alice)
    for _ in range(PLANNED["evaluation"]):
        await _practise(chat, alice)
    await chat.advance(6 * DAY)  # Sunday 11 January: four days out, nothing due yet
    due = await _cards(chat, alice)
    assert min(due.values()) > chat.clock.now() + DAY
    assert (await _practise(chat, alice))[1] != "evaluation"  # an unseen one, as usual
    assert "Cram" not in _body(await chat.run("/plan", as_=alice))

    await chat.advance(DAY)  # Monday 12 January: the cram
    assert "Cram (the last 72 hours)" in _body(await chat.run("/plan", as_=alice))
    asked = [await _practise(chat, alice) for _ in range(3)]
    assert all(topic == "evaluation" for _, topic in asked)
    tomorrow = datetime(2026, 1, 13, tzinfo=UTC)  # the workspace is on UTC
    assert all(due[q] >= tomorrow for q, _ in asked)  # none was due today
    assert len({q for q, _ in asked}) == 3  # never the same card twice in a sitting


# ---- mock rounds -----------------------------------------------------------------------------


def test_a_member_with_an_interview_soon_is_interviewed_first() -> None:
    pair = Group("ann", "ben", None, (), 60)
    assert policy.interviewed_first(pair, {"ann"}) == Group("ben", "ann", None, (), 60)
    assert policy.interviewed_first(pair, {"ben"}) == pair
    assert policy.interviewed_first(pair, {"ann", "ben"}) == pair
    trio = Group("ann", "ben", "cat", (), 60)  # ann → ben → cat → ann
    assert policy.interviewed_first(trio, {"cat"}) == Group("ben", "cat", "ann", (), 60)
    assert policy.interviewed_first(trio, {"ann"}) == Group("cat", "ann", "ben", (), 60)
    assert policy.interviewed_first(trio, set()) == trio


def test_an_interview_soon_waives_the_fortnightly_rest_but_not_a_skip_or_pause() -> None:
    resting = policy.Profile(
        "ann", "mid", "technical", "UTC", "evenings", "fortnightly", last_round=1
    )
    assert policy.absence(resting, round_no=2, today=MONDAY) == "resting"
    assert policy.absence(resting, round_no=2, today=MONDAY, soon=True) is None
    skipping = policy.Profile(
        "ann", "mid", "technical", "UTC", "evenings", "weekly", skip_next=True
    )
    assert policy.absence(skipping, round_no=2, today=MONDAY, soon=True) == "skipping"
    paused = policy.Profile(
        "ann", "mid", "technical", "UTC", "evenings", "weekly", paused_until=MONDAY + DAY
    )
    assert policy.absence(paused, round_no=2, today=MONDAY, soon=True) == "paused"


async def _join(chat: Chat, who: Member, *, level: str, cadence: str) -> None:
    form = await chat.run("/mock join", as_=who)
    assert form.form is not None
    values = {
        "level": level,
        "focus": "technical",
        "timezone": "Europe/Berlin",
        "availability": EVENINGS,
        "cadence": cadence,
    }
    assert await chat.app.handle(FormSubmit(who, chat.place, form.form.form_id, values))


async def _groups(chat: Chat, round_no: int) -> list[tuple[str, str, str | None]]:
    async with chat.app.ctx.engine.connect() as conn:
        rows = await conn.execute(
            select(
                mock_groups.c.interviewer, mock_groups.c.candidate, mock_groups.c.observer
            ).where(mock_groups.c.round_id == round_no)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_mock_rounds_put_members_with_an_interview_soon_first(plan_chat: Chat) -> None:
    """Ann (senior, fortnightly) rests the round after one she was in, until her interview is
    within 14 days: then she takes part every round, and is interviewed first."""
    chat = plan_chat
    ann, ben, cat = member("Ann"), member("Ben"), member("Cat")
    await _join(chat, ann, level="senior", cadence="fortnightly")
    for who in (ben, cat):
        await _join(chat, who, level="junior", cadence="weekly")
    await chat.run("/plan 2026-01-25 topics:llm", as_=ann)  # 20 days out: not soon yet
    for round_no, sitting_out in ((1, 0), (2, 1), (3, 0)):
        reply = await chat.run("/mock round now", as_=chat.admin)
        assert f"{sitting_out} sitting out" in _body(reply), round_no
    assert all("ann" not in g for g in await _groups(chat, 2))  # she rested

    await chat.advance(7 * DAY)  # 13 days out; she was in round 3, so round 4 is her rest
    fourth = await chat.run("/mock round now", as_=chat.admin)
    assert "0 sitting out" in _body(fourth)
    (group,) = await _groups(chat, 4)
    assert group[1] == "ann"  # the first turn's candidate: interviewed first
    intros = [
        m.card.body
        for m in chat.platform.messages.values()
        if m.place.channel_id.startswith("group:")
    ]
    assert intros and not any(re.search(r"\bplan\b", b) for b in intros)  # hers stays private


# ---- privacy -----------------------------------------------------------------------------


async def test_export_lists_the_plan_and_forget_removes_it_with_its_timer(plan_chat: Chat) -> None:
    chat, alice = plan_chat, plan_chat.alice
    await chat.run("/plan 2026-02-01 topics:llm", as_=alice)
    export = await chat.run("/me export", as_=alice)
    (file,) = export.files
    assert json.loads(file.content)["tables"]["plans"][0]["interview_day"] == "2026-02-01"
    confirm = await chat.run("/me forget", as_=alice)
    assert confirm.card is not None
    await chat.press(confirm.card, 1, as_=alice)
    async with chat.app.ctx.engine.connect() as conn:
        assert (await conn.execute(select(plans))).all() == []
        assert (await conn.execute(select(timers))).all() == []
    await chat.advance(DAY)
    assert _dms(chat, alice) == []
