"""Mock interviews' pure rules: who takes part, what interviewers ask, feedback and report."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import matching
from bot.features.mocks.followup import (
    Feedback,
    FeedbackError,
    MockStats,
    average_scores,
    completion,
    feedback_card,
    read_feedback,
    report_card,
)
from bot.features.mocks.groups import MockGroup
from bot.features.mocks.policy import (
    DIFFICULTY_BY_LEVEL,
    MISSED_TO_PAUSE,
    PACKET_SIZE,
    SLOTS_SHOWN,
    BankQuestion,
    Profile,
    absence,
    candidate_of,
    interview_kind,
    packet_kind,
    packet_slots,
    pauses_after,
    pick_questions,
    plan_packets,
    session_slots,
    turnout,
    turns,
)
from bot.features.mocks.rounds import round_summary
from questions.schema import BehaviouralItem, Item, OpenItem, ScenarioItem

TODAY = date(2026, 3, 2)  # a Monday
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
DIMS = ("correctness", "depth", "communication")


BASE = Profile(
    user_id="ann",
    level="mid",
    focus="technical",
    timezone="Europe/Berlin",
    availability="weekday evenings",
    cadence="weekly",
)


def profile(user_id: str = "ann", **changes: Any) -> Profile:
    """A weekly, active, mid-level technical profile, with any field changed."""
    return replace(BASE, user_id=user_id, **changes)


def question(qid: str, kind: str = "open", difficulty: str = "medium") -> BankQuestion:
    return BankQuestion(id=qid, kind=kind, difficulty=difficulty)


def item(kind: str, qid: str = "q-1") -> Item:
    """A minimal valid bank item of the kind."""
    base = {
        "id": qid,
        "kind": kind,
        "topic": "classical",
        "difficulty": "medium",
        "tags": ["t"],
        "prompt": "A question long enough to be valid?",
    }
    if kind == "open":
        return OpenItem.model_validate({**base, "answer": "x" * 40, "key_points": ["a", "b", "c"]})
    if kind == "scenario":
        level = {"dimension": "d", "poor": "p", "good": "g", "excellent": "e"}
        return ScenarioItem.model_validate({**base, "hints": ["h"], "rubric": [level] * 3})
    return BehaviouralItem.model_validate(
        {**base, "listen_for": ["a", "b", "c"], "follow_ups": ["x", "y"]}
    )


# --- who takes part --------------------------------------------------------------------------


def test_an_active_weekly_member_takes_part() -> None:
    """Opted in, not paused, not skipping: in the round."""
    assert absence(profile(), round_no=5, today=TODAY) is None


def test_a_pause_holds_until_its_date() -> None:
    """Paused until a later date: out; on that date itself they are back."""
    later = profile(paused_until=TODAY + timedelta(days=1))
    assert absence(later, round_no=5, today=TODAY) == "paused"
    assert absence(profile(paused_until=TODAY), round_no=5, today=TODAY) is None
    assert absence(profile(paused_until=TODAY - timedelta(days=3)), round_no=5, today=TODAY) is None


def test_a_skip_sits_out_the_round() -> None:
    """/mock skip: out of this round."""
    assert absence(profile(skip_next=True), round_no=5, today=TODAY) == "skipping"


def test_fortnightly_members_rest_the_round_after_one_they_had() -> None:
    """Fortnightly: out the round after being placed, in the one after that; weekly never
    rests."""
    fortnightly = profile(cadence="fortnightly", last_round=4)
    assert absence(fortnightly, round_no=5, today=TODAY) == "resting"
    assert absence(fortnightly, round_no=6, today=TODAY) is None
    assert absence(profile(cadence="fortnightly"), round_no=5, today=TODAY) is None
    assert absence(profile(last_round=4), round_no=5, today=TODAY) is None


def test_inactive_members_have_left_or_missed_too_many() -> None:
    """Not active: paused by missed sessions if they missed enough in a row, else left."""
    missed = profile(active=False, missed_in_row=MISSED_TO_PAUSE)
    assert absence(missed, round_no=5, today=TODAY) == "missed"
    assert absence(profile(active=False), round_no=5, today=TODAY) == "left"
    assert absence(profile(active=False, skip_next=True), round_no=5, today=TODAY) == "left"


def test_missing_three_sessions_in_a_row_pauses() -> None:
    """The pause comes at MISSED_TO_PAUSE missed sessions in a row, not before."""
    assert not pauses_after(MISSED_TO_PAUSE - 1)
    assert pauses_after(MISSED_TO_PAUSE)


def test_turnout_counts_only_opted_in_members_who_sit_out() -> None:
    """Paused, skipping and resting members sit out; those who left are in neither list."""
    people = [
        profile("ann"),
        profile("ben", skip_next=True),
        profile("cat", paused_until=TODAY + timedelta(days=7)),
        profile("dan", cadence="fortnightly", last_round=9),
        profile("eve", active=False),
        profile("fay", active=False, missed_in_row=3),
        profile("gus"),
    ]
    who = turnout(people, round_no=10, today=TODAY)
    assert [p.user_id for p in who.taking_part] == ["ann", "gus"]
    assert [p.user_id for p in who.sitting_out] == ["ben", "cat", "dan"]


def test_a_profile_becomes_a_matching_candidate_in_its_time_zone() -> None:
    """Level and focus carry over; weekday evenings in Berlin are 17:00-21:00 UTC in March."""
    candidate = candidate_of(profile(level="senior", focus="mixed"), MONDAY)
    assert (candidate.id, candidate.level, candidate.focus) == ("ann", 2, "mixed")
    assert len(candidate.windows) == 5
    start, end = candidate.windows[0]
    assert (start.astimezone(UTC).hour, end.astimezone(UTC).hour) == (17, 21)


def test_suggested_times_are_long_enough_and_few() -> None:
    """Only common windows of a full session are suggested, the first SLOTS_SHOWN of them."""
    free = tuple(
        (MONDAY + timedelta(days=d, hours=9), MONDAY + timedelta(days=d, hours=9, minutes=m))
        for d, m in enumerate((30, 60, 90, 120, 180))
    )
    a = matching.Candidate("a", 1, "technical", free)
    b = matching.Candidate("b", 1, "technical", free)
    slots = session_slots([a, b])
    assert slots == list(free[1 : 1 + SLOTS_SHOWN])
    assert session_slots([a, matching.Candidate("c", 1, "technical", ())]) == []


# --- what interviewers ask ---------------------------------------------------------------------


def test_each_member_interviews_the_next() -> None:
    """A pair swaps; in a trio A→B, B→C, C→A."""
    assert turns(["a", "b"]) == [("a", "b"), ("b", "a")]
    assert turns(["a", "b", "c"]) == [("a", "b"), ("b", "c"), ("c", "a")]


def test_packet_slots_follow_the_focus() -> None:
    """One bank kind per focus; "mixed" gets one question of each kind."""
    assert packet_slots("technical") == ["open"] * PACKET_SIZE
    assert packet_slots("system-design") == ["scenario"] * PACKET_SIZE
    assert packet_slots("mixed") == ["open", "scenario", "behavioural"]


def test_questions_match_kind_and_level_and_avoid_what_was_asked() -> None:
    """A mid candidate gets medium questions of their kind, none they were asked before."""
    bank = [
        question("easy-1", difficulty="easy"),
        question("hard-1", difficulty="hard"),
        question("scenario-1", kind="scenario"),
        *(question(f"medium-{i}") for i in range(6)),
    ]
    ids = pick_questions(
        focus="technical",
        level="mid",
        bank=bank,
        avoid={"medium-0", "medium-1"},
        rng=random.Random(1),
    )
    assert len(ids) == PACKET_SIZE == len(set(ids))
    assert set(ids) <= {"medium-2", "medium-3", "medium-4", "medium-5"}


def test_a_short_bank_relaxes_the_difficulty_then_gives_what_it_has() -> None:
    """Too few questions at the level: other difficulties fill in; an empty bank gives none."""
    bank = [question("medium-1"), question("hard-1", difficulty="hard")]
    ids = pick_questions(focus="technical", level="mid", bank=bank, avoid=(), rng=random.Random())
    assert ids[0] == "medium-1" and sorted(ids) == ["hard-1", "medium-1"]
    assert (
        pick_questions(focus="technical", level="mid", bank=[], avoid=(), rng=random.Random()) == []
    )


def test_the_same_seed_picks_the_same_questions() -> None:
    """Picking depends only on the bank, what to avoid, and the random generator."""
    bank = [question(f"q-{i}", difficulty=d) for i in range(20) for d in ("easy", "medium")]
    first = pick_questions(
        focus="technical", level="junior", bank=bank, avoid=(), rng=random.Random(3)
    )
    again = pick_questions(
        focus="technical", level="junior", bank=bank, avoid=(), rng=random.Random(3)
    )
    assert first == again


def test_a_groups_packets_are_for_each_candidate() -> None:
    """Each interviewer's packet follows their candidate's focus, not their own."""
    profiles = {
        "ann": profile("ann", focus="behavioural"),
        "ben": profile("ben", focus="system-design"),
    }
    bank = [
        question(f"{kind}-{i}", kind=kind) for kind in ("behavioural", "scenario") for i in range(5)
    ]
    plans = plan_packets(
        ["ann", "ben"], profiles=profiles, bank=bank, asked={}, rng=random.Random(0)
    )
    assert [(p.interviewer, p.candidate) for p in plans] == [("ann", "ben"), ("ben", "ann")]
    assert all(q.startswith("scenario-") for q in plans[0].question_ids)
    assert all(q.startswith("behavioural-") for q in plans[1].question_ids)


LEVELS = st.sampled_from(sorted(DIFFICULTY_BY_LEVEL))
FOCUS = st.sampled_from(matching.FOCUSES)


@settings(max_examples=100, deadline=None)
@given(
    members=st.integers(2, 3),
    people=st.lists(st.tuples(LEVELS, FOCUS), min_size=3, max_size=3),
    bank=st.lists(
        st.builds(
            BankQuestion,
            id=st.sampled_from([f"q{i}" for i in range(30)]),
            kind=st.sampled_from(("open", "scenario", "behavioural")),
            difficulty=st.sampled_from(("easy", "medium", "hard")),
        ),
        max_size=40,
    ),
    asked=st.lists(st.sampled_from([f"q{i}" for i in range(30)]), max_size=15),
    seed=st.integers(0, 1000),
)
def test_packets_never_repeat_a_question_for_a_candidate_or_within_a_group(
    members: int,
    people: list[tuple[str, matching.Focus]],
    bank: list[BankQuestion],
    asked: list[str],
    seed: int,
) -> None:
    """Whatever the bank: a candidate is never asked what they had before, no question is
    in two packets of one group, and a packet never exceeds PACKET_SIZE."""
    ids = ["ann", "ben", "cat"][:members]
    profiles = {
        who: profile(who, level=level, focus=focus)
        for who, (level, focus) in zip(ids, people, strict=False)
    }
    before = {"ann": set(asked)}
    plans = plan_packets(ids, profiles=profiles, bank=bank, asked=before, rng=random.Random(seed))
    assert sorted(p.interviewer for p in plans) == sorted(p.candidate for p in plans) == sorted(ids)
    everything = Counter(q for p in plans for q in p.question_ids)
    assert all(count == 1 for count in everything.values())
    for plan in plans:
        assert len(plan.question_ids) <= PACKET_SIZE
        assert not set(plan.question_ids) & before.get(plan.candidate, set())


def test_the_packet_kind_picks_the_rubric() -> None:
    """The candidate's focus, or for "mixed" the first question's interview kind."""
    assert packet_kind("system-design", [item("open")]) == "system-design"
    assert packet_kind("mixed", [item("scenario"), item("open", "q-2")]) == "system-design"
    assert packet_kind("mixed", [item("behavioural")]) == "behavioural"
    assert packet_kind("mixed", []) == "technical"
    assert [interview_kind(item(k)) for k in ("open", "scenario", "behavioural")] == [
        "technical",
        "system-design",
        "behavioural",
    ]


# --- groups, the round summary -----------------------------------------------------------------


def test_a_groups_partners_leave_out_the_member() -> None:
    """Members in order, observer only in a trio; partners are everyone else."""
    pair = MockGroup(1, "memory", "w1", 3, "ann", "ben", None, None, "[]", repeat=False)
    trio = MockGroup(2, "memory", "w1", 3, "ann", "ben", "cat", "g/1", "[]", repeat=True)
    assert pair.members == ("ann", "ben") and pair.partners_of("ben") == ["ann"]
    assert trio.members == ("ann", "ben", "cat") and trio.partners_of("ben") == ["ann", "cat"]
    assert trio.ref("cat").user_id == "cat" and trio.ref("cat").workspace_id == "w1"


def test_the_round_summary_counts_pairs_trios_waiting_and_sitting_out() -> None:
    """One line: pairs, trios, who waits, who sat out."""
    free = ((MONDAY, MONDAY + timedelta(hours=2)),)
    people = [matching.Candidate(c, 1, "technical", free) for c in "abcde"]
    result = matching.match(people)
    summary = round_summary(7, result, sitting_out=2)
    assert summary == "Round 7: 1 pair, 1 trio, 0 waiting, 2 sitting out."


# --- feedback and the report -------------------------------------------------------------------


def test_feedback_reads_a_score_per_dimension() -> None:
    """Scores 1-4 in rubric order, spaces or commas; text trimmed."""
    values = {"scores": "3, 4 2", "strength": " Clear. ", "improve": "Slow down."}
    feedback = read_feedback(values, DIMS)
    assert feedback == Feedback(
        scores=(("correctness", 3), ("depth", 4), ("communication", 2)),
        strength="Clear.",
        improve="Slow down.",
    )


@pytest.mark.parametrize("scores", ["3 4", "3 4 2 1", "3 4 5", "3 4 x", ""])
def test_feedback_with_wrong_scores_says_how_many_are_needed(scores: str) -> None:
    """A missing, extra or out-of-range score is refused, naming the dimensions."""
    with pytest.raises(
        FeedbackError, match=r"give 3 numbers from 1 to 4, .*\(correctness, depth, communication\)"
    ):
        read_feedback({"scores": scores, "strength": "a", "improve": "b"}, DIMS)


def test_feedback_needs_a_strength_and_something_to_improve() -> None:
    """Blank text is refused once the scores are right."""
    with pytest.raises(FeedbackError, match="one strength and one thing to improve"):
        read_feedback({"scores": "1 2 3", "strength": "  ", "improve": "b"}, DIMS)


def test_the_feedback_card_shows_each_score_out_of_four() -> None:
    """The partner sees each dimension's score, then the two comments."""
    card = feedback_card("Ann", Feedback((("depth", 3),), "Clear.", "Slow down."))
    assert card.title == "Feedback from Ann"
    assert [(f.name, f.value) for f in card.fields] == [
        ("depth", "3/4"),
        ("What went well", "Clear."),
        ("To improve", "Slow down."),
    ]


def test_completion_counts_confirmed_sessions_among_all_check_ins() -> None:
    """Unanswered check-ins count in the total; none at all shows a dash."""
    assert completion(("yes", None, "no", "notyet")) == "25% (1 of 4 confirmed)"
    assert completion(()) == "-"


def test_average_scores_per_dimension() -> None:
    """Means to one decimal, dimensions in the order first seen; none at all shows a dash."""
    feedback = ({"correctness": 3, "depth": 4}, {"correctness": 2}, {"communication": 1})
    assert average_scores(feedback) == "correctness 2.5 · depth 4.0 · communication 1.0"
    assert average_scores(()) == "-"


def test_the_report_card() -> None:
    """Every number in its field; rates show a dash before any group."""
    stats = MockStats(
        rounds=2,
        groups=4,
        trios=1,
        repeats=1,
        answers=("yes", "no"),
        scores=({"depth": 3},),
        opted_in=9,
        waiting=1,
    )
    fields = {f.name: f.value for f in report_card(stats).fields}
    assert fields == {
        "Rounds": "2",
        "Groups": "4 (1 trio)",
        "Completion": "50% (1 of 2 confirmed)",
        "Average rubric scores": "depth 3.0",
        "Repeat rate": "25%",
        "People": "9 opted in; 1 waiting after the last round",
    }
    empty = MockStats(0, 0, 0, 0, (), (), 0, 0)
    assert {f.name: f.value for f in report_card(empty).fields}["Repeat rate"] == "-"
