"""Who takes part in a mock round and what each interviewer asks: pure rules, no database."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from bot import matching
from bot.features.mocks import availability
from bot.timespec import expand
from questions.schema import BehaviouralItem, Item, ScenarioItem

MISSED_TO_PAUSE = 3  # sessions missed in a row before a member's mocks pause themselves
PACKET_SIZE = 3  # questions per interviewer packet
SLOTS_SHOWN = 3  # suggested session times per group

# Which bank items make an interviewer's packet, by the candidate's focus.
PACKET_KINDS: Mapping[matching.Focus, tuple[str, ...]] = {
    "technical": ("open",),
    "system-design": ("scenario",),
    "behavioural": ("behavioural",),
    "mixed": ("open", "scenario", "behavioural"),
}
BANK_KINDS = tuple(sorted({kind for kinds in PACKET_KINDS.values() for kind in kinds}))
DIFFICULTY_BY_LEVEL: Mapping[str, tuple[str, ...]] = {
    "junior": ("easy", "medium"),
    "mid": ("medium",),
    "senior": ("medium", "hard"),
}

Absence = Literal["left", "missed", "paused", "skipping", "resting"]


@dataclass(frozen=True)
class Profile:
    """A member's mock-interview profile, as stored."""

    user_id: str
    level: str  # junior, mid, senior
    focus: matching.Focus
    timezone: str
    availability: str  # normalised, as shown back
    cadence: str  # weekly, fortnightly
    active: bool = True  # false after /mock leave, or MISSED_TO_PAUSE missed sessions
    paused_until: date | None = None  # local date: not matched before it
    skip_next: bool = False
    missed_in_row: int = 0
    last_round: int | None = None  # the last round they were put in


@dataclass(frozen=True)
class Turnout:
    """This round's opted-in members: who is matched, and who sits it out."""

    taking_part: tuple[Profile, ...]
    sitting_out: tuple[Profile, ...]  # paused, skipping or resting; not those who left


@dataclass(frozen=True)
class BankQuestion:
    """A question a packet can draw from."""

    id: str
    kind: str  # the bank's kind: open, scenario, behavioural
    difficulty: str


@dataclass(frozen=True)
class PacketPlan:
    """The questions one member asks another."""

    interviewer: str
    candidate: str
    question_ids: tuple[str, ...]


# --- who takes part --------------------------------------------------------------------------


def absence(profile: Profile, *, round_no: int, today: date, soon: bool = False) -> Absence | None:
    """Why the member is not in round ``round_no``, or None when they take part.

    ``today`` is the workspace's local date; a fortnightly member rests the round after one
    they were put in, unless their interview is ``soon`` (/plan: they come every round).
    """
    if not profile.active:
        return "missed" if profile.missed_in_row >= MISSED_TO_PAUSE else "left"
    if profile.paused_until is not None and profile.paused_until > today:
        return "paused"
    if profile.skip_next:
        return "skipping"
    if (
        profile.cadence == "fortnightly"
        and not soon
        and profile.last_round is not None
        and round_no - profile.last_round < 2
    ):
        return "resting"
    return None


def turnout(
    profiles: Iterable[Profile], *, round_no: int, today: date, soon: Collection[str] = ()
) -> Turnout:
    """Split the profiles into those matched this round and those sitting it out; members
    who left, or whose missed sessions paused them, are in neither. ``soon``: the members
    whose interview is near (/plan), who never rest."""
    taking_part: list[Profile] = []
    sitting_out: list[Profile] = []
    for profile in profiles:
        why = absence(profile, round_no=round_no, today=today, soon=profile.user_id in soon)
        if why is None:
            taking_part.append(profile)
        elif why not in ("left", "missed"):
            sitting_out.append(profile)
    return Turnout(tuple(taking_part), tuple(sitting_out))


def pauses_after(missed_in_row: int) -> bool:
    """Whether this many missed sessions in a row pause the member's mock interviews."""
    return missed_in_row >= MISSED_TO_PAUSE


def interviewed_first(group: matching.Group, soon: Collection[str]) -> matching.Group:
    """The group with a member whose interview is near (/plan) as the first candidate, so
    their turn comes first; who interviews whom stays the same (a pair swaps, a trio's
    circle turns). Unchanged when nobody, or the candidate already, is in ``soon``."""
    members = list(group.members)
    if group.candidate in soon:
        return group
    first = next((i for i, m in enumerate(members) if m in soon), None)
    if first is None:
        return group
    turned = members[first - 1 :] + members[: first - 1]  # members[first] second
    observer = turned[2] if len(turned) > 2 else None
    return replace(group, interviewer=turned[0], candidate=turned[1], observer=observer)


def candidate_of(profile: Profile, start: datetime) -> matching.Candidate:
    """The profile as the matcher sees it: availability in the week from ``start``."""
    windows = expand(availability.parse(profile.availability), profile.timezone, start)
    return matching.Candidate(
        id=profile.user_id,
        level=matching.LEVELS.index(profile.level),
        focus=profile.focus,
        windows=windows,
    )


def session_slots(people: Sequence[matching.Candidate]) -> list[matching.Window]:
    """Times to suggest: the first SLOTS_SHOWN common windows long enough for a session."""
    long_enough = timedelta(minutes=matching.SESSION)
    common = [w for w in matching.common_windows(*people) if w[1] - w[0] >= long_enough]
    return common[:SLOTS_SHOWN]


# --- what interviewers ask ---------------------------------------------------------------------


def turns(members: Sequence[str]) -> list[tuple[str, str]]:
    """(interviewer, candidate) pairs: each member interviews the next, so A→B then B→A in a
    pair and A→B, B→C, C→A in a trio."""
    return [(m, members[(i + 1) % len(members)]) for i, m in enumerate(members)]


def packet_slots(focus: matching.Focus) -> list[str]:
    """The bank kind of each question in a packet; "mixed" gets one of each."""
    kinds = PACKET_KINDS[focus]
    return [kinds[i % len(kinds)] for i in range(PACKET_SIZE)]


def pick_questions(
    *,
    focus: matching.Focus,
    level: str,
    bank: Sequence[BankQuestion],
    avoid: Collection[str],
    rng: random.Random,
) -> list[str]:
    """Question ids for one packet: one per slot, at the candidate's level, none in ``avoid``.

    A second pass fills the slots still empty at any difficulty, so a bank that runs short
    at one level still gives a full packet.
    """
    chosen: list[str] = []
    slots = packet_slots(focus)
    for any_difficulty in (False, True):
        for kind in slots[len(chosen) :]:
            fits = {
                q.id
                for q in bank
                if q.kind == kind and (any_difficulty or q.difficulty in DIFFICULTY_BY_LEVEL[level])
            }
            ids = sorted(fits.difference(avoid, chosen))
            if ids:
                chosen.append(rng.choice(ids))
        if len(chosen) >= PACKET_SIZE:
            break
    return chosen


def plan_packets(
    members: Sequence[str],
    *,
    profiles: Mapping[str, Profile],
    bank: Sequence[BankQuestion],
    asked: Mapping[str, Collection[str]],
    rng: random.Random,
) -> list[PacketPlan]:
    """A packet per interviewer in the group, for their candidate's focus and level.

    A candidate never gets a question they had in an earlier mock (``asked``, by candidate),
    and no question appears twice in the group.
    """
    plans: list[PacketPlan] = []
    used: set[str] = set()
    for interviewer, candidate in turns(members):
        profile = profiles[candidate]
        ids = pick_questions(
            focus=profile.focus,
            level=profile.level,
            bank=bank,
            avoid=used.union(asked.get(candidate, ())),
            rng=rng,
        )
        used.update(ids)
        plans.append(PacketPlan(interviewer, candidate, tuple(ids)))
    return plans


def interview_kind(item: Item) -> str:
    """The interview a bank item belongs to: technical, system-design or behavioural."""
    if isinstance(item, ScenarioItem):
        return "system-design"
    if isinstance(item, BehaviouralItem):
        return "behavioural"
    return "technical"


def packet_kind(focus: matching.Focus, items: Sequence[Item]) -> str:
    """The interview a packet is for, which picks its rubric: the candidate's focus, or for
    "mixed" the first question's."""
    if focus != "mixed":
        return focus
    return interview_kind(items[0]) if items else "technical"


def round_job_id(platform: str, workspace_id: str) -> str:
    """The scheduler's id of a workspace's weekly round (and /mock status's next round)."""
    return f"mock:{platform}:{workspace_id}"


def notice_job_id(platform: str, workspace_id: str) -> str:
    return f"mock-notice:{platform}:{workspace_id}"
