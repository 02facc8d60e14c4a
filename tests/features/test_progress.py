"""Progress: periods, streaks, leaderboards, /rank, /stats with a chart, practice, privacy."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import String, select

from bot import scoring
from bot.chart import mastery_bars
from bot.scoring import Streak, extend_streak
from bot.store.schema import cards, metadata, review_logs
from questions.loader import load_file
from questions.schema import Item
from tests.conftest import DATA, Chat, member

BERLIN = ZoneInfo("Europe/Berlin")


# ---- periods in the workspace's time zone ----------------------------------------------


@pytest.mark.parametrize(
    ("utc", "zone", "week", "month"),
    [
        # Sunday 23:30 UTC is already Monday in Berlin: a new week there.
        (datetime(2026, 1, 11, 23, 30, tzinfo=UTC), "Europe/Berlin", "2026-01-12", "2026-01"),
        (datetime(2026, 1, 11, 23, 30, tzinfo=UTC), "UTC", "2026-01-05", "2026-01"),
        # 31 January 23:30 UTC is 1 February in Berlin: a new month there.
        (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), "Europe/Berlin", "2026-01-26", "2026-02"),
        # Across the spring DST change the week still starts on Monday local.
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "Europe/Berlin", "2026-03-30", "2026-03"),
        (datetime(2026, 3, 29, 21, 30, tzinfo=UTC), "Europe/Berlin", "2026-03-23", "2026-03"),
    ],
)
def test_periods_follow_the_workspace_time_zone(
    utc: datetime, zone: str, week: str, month: str
) -> None:
    """Weeks start on Monday and months on the 1st, in the workspace's local time."""
    assert scoring.periods(utc, ZoneInfo(zone)) == ("all", f"week:{week}", f"month:{month}")


# ---- streaks ---------------------------------------------------------------------------


def _run(days: list[date]) -> Streak:
    streak = None
    for day in days:
        streak = extend_streak(streak, day)
    assert streak is not None
    return streak


def test_consecutive_days_grow_the_streak() -> None:
    """Each new local day with an answer adds one; the same day twice adds nothing."""
    d = date(2026, 1, 5)
    streak = _run([d, d, d + timedelta(days=1), d + timedelta(days=2)])
    assert (streak.current, streak.best) == (3, 3)


def test_one_missed_day_a_week_is_frozen() -> None:
    """A single missed day is bridged by the week's freeze; a second in that week is not."""
    d = date(2026, 1, 5)  # Monday
    streak = _run([d, d + timedelta(days=1), d + timedelta(days=3)])  # Wednesday missed
    assert streak.current == 3 and streak.freeze_week == d
    streak = extend_streak(streak, d + timedelta(days=5))  # Friday missed: no second freeze
    assert streak.current == 1 and streak.best == 3


def test_a_new_week_brings_a_new_freeze() -> None:
    """The freeze renews each week (Monday to Sunday of the missed day)."""
    d = date(2026, 1, 5)  # Monday
    streak = _run([d, *(d + timedelta(days=n) for n in range(2, 8))])  # Tuesday frozen
    assert streak.current == 7 and streak.freeze_week == d
    streak = _run_from(streak, [d + timedelta(days=9)])  # next Tuesday missed: new week
    assert streak.current == 8 and streak.freeze_week == d + timedelta(days=7)


def _run_from(streak: Streak, days: list[date]) -> Streak:
    for day in days:
        streak = extend_streak(streak, day)
    return streak


def test_two_missed_days_break_the_streak() -> None:
    """Two days in a row without an answer start the count again."""
    d = date(2026, 1, 5)
    assert _run([d, d + timedelta(days=3)]).current == 1


async def test_a_day_crossing_midnight_utc_but_not_local(chat: Chat) -> None:
    """Answers at 22:30 and 23:30 UTC are one day in New York, two days in UTC."""
    await chat.run("/settings timezone America/New_York", as_=chat.admin)
    chat.clock.current = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)
    quiz = await chat.run("/quiz kind:choice", as_=chat.alice)
    assert quiz.card is not None
    await chat.choose(quiz.card, 1, as_=chat.alice)
    chat.clock.current = datetime(2026, 1, 6, 0, 30, tzinfo=UTC)  # still 5 Jan, 19:30 local
    quiz = await chat.run("/quiz kind:choice", as_=chat.alice)
    assert quiz.card is not None
    await chat.choose(quiz.card, 1, as_=chat.alice)
    stats = await chat.run("/stats", as_=chat.alice)
    assert stats.card is not None
    assert stats.card.fields[1].value == "1 day now, best 1"


async def test_streak_milestones_are_announced(chat: Chat) -> None:
    """Reaching 7 days in a row is announced in the channel."""
    for _ in range(7):
        quiz = await chat.run("/quiz kind:choice", as_=chat.alice)
        assert quiz.card is not None
        await chat.choose(quiz.card, 1, as_=chat.alice)
        chat.clock.advance(timedelta(days=1))
    cheers = [m.card for m in chat.posts() if "streak" in m.card.title]
    assert [c.title for c in cheers] == ["🔥 7-day streak!"]
    assert "@Alice has practised 7 days in a row" in cheers[0].body


# ---- points and boards -----------------------------------------------------------------


def test_points_rules() -> None:
    """Early right answers earn a bonus; practice points are small and capped per day."""
    assert (
        scoring.choice_points(correct=True, difficulty="medium", after=timedelta(minutes=20))
        == 15 + scoring.EARLY_BONUS
    )
    assert scoring.choice_points(correct=True, difficulty="medium", after=timedelta(hours=2)) == 15
    assert (
        scoring.choice_points(correct=False, difficulty="hard", after=timedelta(minutes=1))
        == scoring.TAKING_PART
    )
    assert scoring.practice_points(correct=True, earned_today=0) == 1
    assert scoring.practice_points(correct=True, earned_today=scoring.PRACTICE_DAILY_CAP) == 0
    assert scoring.practice_points(correct=False, earned_today=0) == 0


async def test_weekly_board_is_the_default_and_resets_on_monday(chat: Chat) -> None:
    """/leaderboard shows this week; last week's points stay on the month and all-time boards."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    await chat.choose(chat.last_post(), 3, as_=chat.alice)  # 15 + early bonus
    await chat.run("/reveal", as_=chat.admin)
    week = await chat.run("/leaderboard", as_=chat.alice)
    assert week.card and week.card.title == "Leaderboard · this week"
    assert "**Alice**: 18 pts" in week.card.body
    chat.clock.advance(timedelta(days=7))
    week = await chat.run("/leaderboard", as_=chat.alice)
    assert week.card and "No points yet" in week.card.body
    month = await chat.run("/leaderboard month", as_=chat.alice)
    assert month.card and "**Alice**: 18 pts" in month.card.body
    topic = await chat.run("/leaderboard all statistics", as_=chat.alice)
    assert topic.card and topic.card.title == "Leaderboard · of all time · statistics"
    assert "No points yet" in topic.card.body


async def test_no_points_after_the_reveal(chat: Chat) -> None:
    """Once revealed, a drop takes no answers and gives no points."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    await chat.run("/reveal", as_=chat.admin)
    late = await chat.choose(drop, 3, as_=chat.alice)
    assert late.card and "answers are closed" in late.card.body
    board = await chat.run("/leaderboard all", as_=chat.alice)
    assert board.card and "No points yet" in board.card.body


async def test_rank_shows_neighbours(chat: Chat) -> None:
    """/rank gives your place and the members just above and below."""
    await chat.run("/drop now kind:choice topic:evaluation", as_=chat.admin)
    drop = chat.last_post()
    people = [member(n) for n in ("Ann", "Ben", "Cat", "Dan", "Eve")]
    for who in people[:3]:
        await chat.choose(drop, 3, as_=who)  # right
    for who in people[3:]:
        await chat.choose(drop, 1, as_=who)  # wrong
    reply = await chat.run("/rank", as_=people[3])
    assert reply.card is not None
    assert reply.card.title == "Your rank this week: #4"
    assert reply.card.body.splitlines() == [  # equal points and right answers share a place
        "#1 **Ben**: 18 pts",
        "#1 **Cat**: 18 pts",
        "#4 **Dan**: 2 pts ← you",
        "#4 **Eve**: 2 pts",
    ]


# ---- practice with spaced repetition ---------------------------------------------------


async def _answer_practice(chat: Chat, *, right: bool) -> str:
    reply = await chat.run("/practice", as_=chat.alice)
    assert reply.card is not None, reply
    key = 2 if "standard error" in reply.card.body else 3
    option = key if right else 1
    await chat.choose(reply.card, option, as_=chat.alice)
    return reply.card.body


async def test_practice_reasks_a_wrong_answer_once_it_is_due(chat: Chat) -> None:
    """A question answered wrong comes back the next day; not before."""
    first = await _answer_practice(chat, right=False)
    second = await _answer_practice(chat, right=True)
    assert first != second
    nothing = await chat.run("/practice", as_=chat.alice)
    assert nothing.card and "You have seen every multiple-choice question" in nothing.card.body
    chat.clock.advance(timedelta(days=1))
    due = await chat.run("/review", as_=chat.alice)
    assert due.card and due.card.body.startswith("**1 review due.**")
    assert first.split("\n")[0] in due.card.body


async def test_practice_never_repeats_an_item_before_it_is_due(chat: Chat) -> None:
    """Over many requests, a seen question only reappears once due."""
    seen: dict[str, datetime] = {}
    for _ in range(12):
        reply = await chat.run("/practice", as_=chat.alice)
        assert reply.card is not None
        if "You have seen every" in reply.card.body:
            chat.clock.advance(timedelta(hours=12))
            continue
        prompt = reply.card.body.split("\n")[0]
        async with chat.app.ctx.engine.connect() as conn:
            due = await conn.scalar(
                select(cards.c.due).where(cards.c.user_id == "alice", cards.c.question_id.like("%"))
            )
        if prompt in seen:
            assert chat.clock.now() >= seen[prompt]
        await chat.choose(reply.card, 1, as_=chat.alice)
        async with chat.app.ctx.engine.connect() as conn:
            rows = (await conn.execute(select(cards.c.question_id, cards.c.due))).all()
        for _qid, due in rows:
            seen[prompt] = due
        chat.clock.advance(timedelta(hours=12))


async def test_fsrs_due_order_and_ratings(chat: Chat) -> None:
    """Wrong → Again (due soonest), right → Good, right and fast → Easy (due latest)."""
    from bot.features import practice

    bank = {i.id: i for i in load_file(DATA / "mini.yaml")}
    now = chat.clock.now()
    async with chat.app.ctx.engine.begin() as conn:
        dues = {}
        for qid, correct, fast in (
            ("statistics-quadruple-sample", False, False),
            ("evaluation-accuracy-rare-fraud", True, False),
            ("fundamentals-explain-overfitting", True, True),
        ):
            dues[qid] = await practice.review(
                conn,
                member=chat.alice.ref,
                item=bank[qid],
                correct=correct,
                fast=fast,
                now=now,
                source="practice",
            )
        ratings = (
            await conn.execute(
                select(review_logs.c.question_id, review_logs.c.rating).order_by(review_logs.c.id)
            )
        ).all()
    assert [r.rating for r in ratings] == [1, 3, 4]
    order = sorted(dues, key=lambda q: dues[q])
    assert order == [
        "statistics-quadruple-sample",
        "evaluation-accuracy-rare-fraud",
        "fundamentals-explain-overfitting",
    ]
    assert dues["statistics-quadruple-sample"] - now == timedelta(days=1)


async def test_remind_sends_a_dm_only_when_something_is_due(chat: Chat) -> None:
    """/remind 19:00 DMs at 19:00 on days with due reviews, and is quiet otherwise."""
    reply = await chat.run("/remind 19:00", as_=chat.alice)
    assert reply.card and "I'll message you at 19:00 (UTC)" in reply.card.body
    await chat.advance(timedelta(hours=11))  # 20:00: nothing due yet
    assert [m for m in chat.platform.messages.values() if m.to] == []
    await _answer_practice(chat, right=False)
    await chat.advance(timedelta(days=1))
    dms = [m for m in chat.platform.messages.values() if m.to]
    assert len(dms) == 1 and "1 question is due" in dms[0].card.body
    off = await chat.run("/remind off", as_=chat.alice)
    assert off.card and "off" in off.card.body
    await chat.advance(timedelta(days=2))
    assert len([m for m in chat.platform.messages.values() if m.to]) == 1
    bad = await chat.run("/remind 7pm", as_=chat.alice)
    assert bad.card and "`7pm` is not a time" in bad.card.body


# ---- stats and the chart ---------------------------------------------------------------


async def test_stats_with_a_png_chart(chat: Chat) -> None:
    """/stats reports answers, accuracy, streak, weakest topics, with a valid PNG chart."""
    await _answer_practice(chat, right=True)
    await _answer_practice(chat, right=False)
    reply = await chat.run("/stats", as_=chat.alice)
    assert reply.card is not None
    fields = {f.name: f.value for f in reply.card.fields}
    assert fields["Answered"] == "2, 50% right"
    assert fields["Streak"] == "1 day now, best 1"
    assert "Try `/practice topic:" in fields["Work on next"]
    (png,) = reply.files
    assert png.name == "mastery.png"
    image = Image.open(io.BytesIO(png.content))
    image.verify()
    assert image.format == "PNG"
    other = await chat.run("/stats @alice", as_=chat.bob)
    assert other.card and other.card.title == "Stats · Alice"


def test_chart_renders_every_topic_fast_and_small() -> None:
    """The chart is a real PNG with one bar per topic, a few kB in size."""
    png = mastery_bars([(f"topic {i}", i / 14) for i in range(14)], title="Mastery")
    image = Image.open(io.BytesIO(png))
    assert image.size[0] == 640 and image.size[1] > 14 * 20
    assert len(png) < 40_000


# ---- privacy ---------------------------------------------------------------------------


async def _activity(chat: Chat) -> None:
    await chat.run("/drop now kind:open", as_=chat.admin)
    for who, text in (
        (chat.alice, "Alice explains overfitting at length here."),
        (chat.bob, "Bob explains overfitting at some length too."),
    ):
        form = await chat.press(chat.last_post(), 1, as_=who)
        await chat.submit(form, {"answer": text}, as_=who)
    await chat.run("/reveal", as_=chat.admin)
    bob_answer = next(m for m in chat.platform.messages.values() if m.card.title == "@Bob's answer")
    await chat.react(bob_answer, "👍", as_=chat.alice)
    await _answer_practice(chat, right=False)
    await chat.run("/remind 19:00", as_=chat.alice)


async def test_me_export_lists_everything_about_the_member(chat: Chat) -> None:
    """/me export attaches JSON with the member's rows from every table that has any."""
    await _activity(chat)
    reply = await chat.run("/me export", as_=chat.alice)
    (file,) = reply.files
    data = json.loads(file.content)
    assert data["member"]["user_id"] == "alice"
    assert {
        "answers",
        "members",
        "scores",
        "cards",
        "review_logs",
        "reactions",
        "streaks",
        "member_settings",
    } <= set(data["tables"])
    assert all(r["user_id"] == "alice" for r in data["tables"]["answers"])


async def test_me_forget_leaves_no_row_with_the_member_id(chat: Chat) -> None:
    """/me forget, confirmed, deletes every trace of the member and their votes' effect."""
    await _activity(chat)
    confirm = await chat.run("/me forget", as_=chat.alice)
    assert confirm.card and confirm.card.buttons[0].label == "Yes, forget me"
    done = await chat.press(confirm.card, 1, as_=chat.alice)
    assert done.card and "about you deleted" in done.card.body
    async with chat.app.ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            text_columns = [c for c in table.c if isinstance(c.type, String)]
            for column in text_columns:
                hits = (
                    await conn.execute(
                        select(column).where((column == "alice") | column.like("%:alice"))
                    )
                ).all()
                assert hits == [], f"{table.name}.{column.name} still holds alice"
    board = await chat.run("/leaderboard all", as_=chat.bob)
    assert board.card and "Alice" not in board.card.body
    assert "**Bob**: 5 pts" in board.card.body  # Alice's vote for Bob is gone with her


def _items() -> list[Item]:
    return list(load_file(DATA / "mini.yaml"))


async def test_digest_names_streak_keepers_and_moves_the_reward_role(chat: Chat) -> None:
    """Monday's digest lists streak keepers and gives the reward role to last week's top 3,
    taking it from the week before's."""
    reply = await chat.run("/settings reward-role <@&42>", as_=chat.admin)
    assert reply.card and "<@&42>" in reply.card.body
    await chat.run(
        "/schedule add daily 10:00 tz:UTC topic:evaluation kind:choice reveal:1h", as_=chat.admin
    )
    people = [member(n) for n in ("Ann", "Ben", "Cat", "Dan")]
    for day in range(7):  # Monday to Sunday: Ann every day, the others on the first three
        await chat.advance(timedelta(hours=1, minutes=5) if day == 0 else timedelta(days=1))
        drop = chat.last_post()
        for rank, who in enumerate(people):
            if day < 3 or rank == 0:
                await chat.choose(drop, 3 if rank < 3 else 1, as_=who)
    await chat.advance(timedelta(hours=23))  # Monday 09:05: the digest has run
    digest = [m for m in chat.posts() if m.card.title.startswith("Last week")][-1]
    fields = {f.name: f.value for f in digest.card.fields}
    assert fields["Streak keepers"].startswith("Ann 7 days")
    assert chat.platform.roles["42"] == {"ann", "ben", "cat"}
    await chat.advance(timedelta(hours=1))  # Monday 10:05: this week's first drop
    await chat.choose(chat.last_post(), 3, as_=people[3])  # only Dan scores this week
    await chat.advance(timedelta(days=7))
    assert chat.platform.roles["42"] == {"dan"}  # last week's holders lost it
    off = await chat.run("/settings reward-role off", as_=chat.admin)
    assert off.card and "No reward role" in off.card.body


def test_role_option_reads_mentions_and_ids() -> None:
    """A role option accepts <@&id>, a bare id, or off, and says what it expects otherwise."""
    from bot.commands import CommandError, Kind, Option, _convert

    role = Option("role", "A role", Kind.ROLE)
    assert _convert(role, "<@&123>") == "123"
    assert _convert(role, "456") == "456"
    assert _convert(role, "off") == "off"
    with pytest.raises(CommandError, match="expected a role"):
        _convert(role, "@winners")
