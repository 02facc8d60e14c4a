"""Mock-interview matching: who practises with whom this round. Pure, no I/O.

Everyone who opted in is put in a pair or, when the count is odd, in the round's one trio.
The matcher maximises, in this order:

1. people grouped. Blocks are hard exclusions, so a full grouping can be impossible; then
   those left over are listed in ``Matching.unmatched`` with a reason, never dropped (and if
   that leaves an odd number to group, one trio seats one of them). Whenever a full grouping
   exists it is found, provided nobody has blocks against half of the round or more;
2. pairs who have not met in the last ``MEMORY`` rounds: no repeat when one can be avoided;
3. the total pair ``weight``: common availability in absolute time first, then level
   closeness and focus agreement, minus a penalty for past partners that fades over rounds.

The grouping is a maximum-weight matching (Edmonds' blossom algorithm, in bot/blossom.py),
plus the one person left over in an odd round seated as observer where they fit best. Up to
``EXACT_UP_TO`` people every pair is considered, so the result is optimal. Larger rounds are
matched on a sparse graph of each person's ``NEIGHBOURS`` most promising partners, which
keeps >= 99.5 % of the optimum in a small fraction of the time (bench/matching.py measures
both).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Literal

from bot.blossom import max_weight_matching

Focus = Literal["technical", "system-design", "behavioural", "mixed"]
FOCUSES: tuple[Focus, ...] = ("technical", "system-design", "behavioural", "mixed")
LEVELS = ("junior", "mid", "senior")  # Candidate.level indexes this
Window = tuple[datetime, datetime]  # timezone-aware start and end
History = Mapping[frozenset[str], int]  # pair → rounds since they last met (1 = last round)
Agreement = Literal["same", "partial", "different"]

# Pair weight, in integer points so that totals compare exactly.
SESSION = 60  # minutes a mock needs: two 30-minute interviews
ENOUGH = 120  # minutes of common time at which availability earns its full points
OVERLAP_POINTS = 60  # availability counts most
NO_TIME_PENALTY = 100  # at zero common time; shrinks to nothing at SESSION minutes
LEVEL_POINTS = (20, 8, 0)  # by level gap: peers, one apart, junior with senior
FOCUS_POINTS: Mapping[Agreement, int] = {"same": 20, "partial": 10, "different": 0}
REPEAT_PENALTY = 120  # for last round's partner; fades by a twelfth per round
MEMORY = 12  # rounds after which a past pairing no longer counts as a repeat
EXACT_UP_TO = 64  # people; larger rounds are solved on a candidate graph
NEIGHBOURS = 10  # partners listed per person in the candidate graph

_W_MIN = -NO_TIME_PENALTY - REPEAT_PENALTY
_W_RANGE = OVERLAP_POINTS + LEVEL_POINTS[0] + FOCUS_POINTS["same"] - _W_MIN
_SLOT = 15 * 60  # seconds; the candidate graph ranks partners on a grid of quarter hours


@dataclass(frozen=True)
class Candidate:
    """A member who opted in to this round."""

    id: str
    level: int  # index into LEVELS
    focus: Focus
    windows: tuple[Window, ...]  # availability this round, timezone-aware

    def __post_init__(self) -> None:
        if not 0 <= self.level < len(LEVELS):
            raise ValueError(f"{self.id}: level must be 0..{len(LEVELS) - 1}, not {self.level}")
        if self.focus not in FOCUSES:
            raise ValueError(f"{self.id}: unknown focus {self.focus!r}")
        for start, end in self.windows:
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError(f"{self.id}: availability windows must be timezone-aware")
            if end <= start:
                raise ValueError(f"{self.id}: a window ends before it starts: {start} → {end}")


@dataclass(frozen=True)
class Reason:
    """Why two people were grouped: the parts of their pair weight."""

    a: str
    b: str
    overlap_minutes: int  # common availability this round, in absolute time
    level_gap: int  # 0 peers … 2 junior with senior
    focus: Agreement  # "partial": one of them practises a mix
    met_rounds_ago: int | None  # None: never met
    overlap_points: int
    level_points: int
    focus_points: int
    repeat_penalty: int

    @property
    def weight(self) -> int:
        return self.overlap_points + self.level_points + self.focus_points - self.repeat_penalty

    @property
    def repeat(self) -> bool:
        """They met within the last MEMORY rounds."""
        return self.met_rounds_ago is not None and self.met_rounds_ago <= MEMORY

    def partner_of(self, member: str) -> str:
        return self.b if member == self.a else self.a


@dataclass(frozen=True)
class Group:
    """A pair, or the round's trio. The interviewer goes first, then they swap."""

    interviewer: str
    candidate: str
    observer: str | None  # only in a trio
    reasons: tuple[Reason, ...]  # one per pair of members: one, or three in a trio
    overlap_minutes: int  # time when every member is free

    @property
    def members(self) -> tuple[str, ...]:
        rest = (self.observer,) if self.observer is not None else ()
        return (self.interviewer, self.candidate, *rest)


@dataclass(frozen=True)
class Unmatched:
    """Someone this round could not place. The reason never says whose block it was."""

    id: str
    reason: Literal["alone", "blocked"]  # nobody else opted in / blocks rule out every group


@dataclass(frozen=True)
class Matching:
    """This round's groups, and anyone the blocks left without one."""

    groups: tuple[Group, ...]
    unmatched: tuple[Unmatched, ...] = ()

    def group_of(self, member: str) -> Group | None:
        return next((g for g in self.groups if member in g.members), None)

    def why(self, member: str) -> tuple[Reason, ...]:
        """The reasons for each of the member's partners (two in a trio), for /mock why."""
        group = self.group_of(member)
        return tuple(r for r in group.reasons if member in (r.a, r.b)) if group else ()


def common_windows(*people: Candidate) -> tuple[Window, ...]:
    """The times (UTC) when all of them are free, for suggesting session times."""
    spans = _spans(people[0].windows) if people else ()
    for other in people[1:]:
        spans = _intersect(spans, _spans(other.windows))
    return tuple((_at(s), _at(e)) for s, e in spans)


def explain(a: Candidate, b: Candidate, history: History) -> Reason:
    """The pair weight of ``a`` and ``b``, part by part."""
    minutes = _overlap(_spans(a.windows), _spans(b.windows)) // 60
    gap = abs(a.level - b.level)
    agreement = _agreement(a.focus, b.focus)
    met = history.get(frozenset((a.id, b.id)))
    return Reason(
        a=a.id,
        b=b.id,
        overlap_minutes=minutes,
        level_gap=gap,
        focus=agreement,
        met_rounds_ago=met,
        overlap_points=_overlap_points(minutes),
        level_points=LEVEL_POINTS[gap],
        focus_points=FOCUS_POINTS[agreement],
        repeat_penalty=_repeat_penalty(met),
    )


def weight(a: Candidate, b: Candidate, history: History) -> int:
    """How good a pair ``a`` and ``b`` make this round; the matcher maximises the sum."""
    return explain(a, b, history).weight


def match(
    candidates: Iterable[Candidate],
    *,
    history: History | None = None,
    blocks: Collection[frozenset[str]] = (),
) -> Matching:
    """Group everyone who opted in; see the module docstring for what is maximised.

    The result does not depend on the order of ``candidates``.
    """
    people = sorted(candidates, key=lambda c: c.id)
    if len({c.id for c in people}) != len(people):
        raise ValueError("a member opted in twice")
    if history and min(history.values()) < 1:
        raise ValueError("history counts rounds ago from 1 (last round)")
    if len(people) < 2:
        return Matching((), tuple(Unmatched(c.id, "alone") for c in people))
    pool = _Pool(people, history or {}, blocks)
    return pool.result(pool.solve())


# --- pair weight ---------------------------------------------------------------------------


def _overlap_points(minutes: int) -> int:
    full = OVERLAP_POINTS * min(minutes, ENOUGH) // ENOUGH
    return full - NO_TIME_PENALTY * max(0, SESSION - minutes) // SESSION


def _repeat_penalty(rounds_ago: int | None) -> int:
    if rounds_ago is None or not 1 <= rounds_ago <= MEMORY:
        return 0
    return REPEAT_PENALTY * (MEMORY + 1 - rounds_ago) // MEMORY


def _agreement(x: Focus, y: Focus) -> Agreement:
    if x == y:
        return "same"
    return "partial" if "mixed" in (x, y) else "different"


_Spans = tuple[tuple[int, int], ...]  # sorted, disjoint [start, end) in epoch seconds


def _spans(windows: Iterable[Window]) -> _Spans:
    merged: list[tuple[int, int]] = []
    for s, e in sorted((int(s.timestamp()), int(e.timestamp())) for s, e in windows):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)


def _intersect(x: _Spans, y: _Spans) -> _Spans:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(x) and j < len(y):
        s, e = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if s < e:
            out.append((s, e))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _overlap(x: _Spans, y: _Spans) -> int:
    total = i = j = 0
    while i < len(x) and j < len(y):
        (s, e), (t, f) = x[i], y[j]
        if e < f:
            total += max(0, e - max(s, t))
            i += 1
        else:
            total += max(0, f - max(s, t))
            j += 1
    return total


def _at(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


# --- the matcher ---------------------------------------------------------------------------


class _Pool:
    """One round's people as indices 0..n-1, and the tiered key the matcher maximises.

    ``key(i, j)`` folds the three goals into one integer. Every pair is worth CARD, so more
    people grouped always wins; then FRESH if they have not met within MEMORY rounds, so fewer
    repeats always wins; then the pair weight, shifted to be non-negative. With an odd count a
    ghost vertex ``n`` stands for the trio's observer seat: whoever is matched to it joins a
    pair afterwards. Someone with blocks against fewer than half of the others can always
    join some pair, so the ghost prefers them: real pairs carry SEAT, and so does the ghost's
    edge to such a person, but not its edge to anyone else.
    """

    def __init__(
        self, people: list[Candidate], history: History, blocks: Collection[frozenset[str]]
    ) -> None:
        self.people = people
        self.history = history
        n = self.n = len(people)
        shapes: dict[tuple[Window, ...], int] = {}  # members often pick the same windows
        self.shape = [shapes.setdefault(c.windows, len(shapes)) for c in people]
        self.shapes = [_spans(windows) for windows in shapes]
        self._minutes: dict[tuple[int, int], int] = {}
        index = {c.id: i for i, c in enumerate(people)}
        self.blocked: list[set[int]] = [set() for _ in people]
        for pair in blocks:
            ends = [index[m] for m in pair if m in index]
            if len(ends) == 2:
                self.blocked[ends[0]].add(ends[1])
                self.blocked[ends[1]].add(ends[0])
        self.met: list[dict[int, int]] = [{} for _ in people]
        for pair, ago in history.items():
            ends = [index[m] for m in pair if m in index]
            if len(ends) == 2:
                self.met[ends[0]][ends[1]] = ago
                self.met[ends[1]][ends[0]] = ago
        self.ghost = n if n % 2 else -1
        self.nodes = n + n % 2
        half = self.nodes // 2
        self.fresh = _W_RANGE * half + 1
        self.seat = (self.fresh + _W_RANGE) * half + 1
        self.card = (self.seat + self.fresh + _W_RANGE) * (half + 1) + 1

    def recent(self, i: int, j: int) -> bool:
        return self.met[i].get(j, MEMORY + 1) <= MEMORY

    def minutes(self, i: int, j: int) -> int:
        x, y = sorted((self.shape[i], self.shape[j]))
        if (x, y) not in self._minutes:
            self._minutes[x, y] = _overlap(self.shapes[x], self.shapes[y]) // 60
        return self._minutes[x, y]

    def weight(self, i: int, j: int) -> int:
        a, b = self.people[i], self.people[j]
        minutes = self.minutes(i, j)
        return (
            _overlap_points(minutes)
            + LEVEL_POINTS[abs(a.level - b.level)]
            + FOCUS_POINTS[_agreement(a.focus, b.focus)]
            - _repeat_penalty(self.met[i].get(j))
        )

    def key(self, i: int, j: int) -> int | None:
        """The tiered worth of grouping i with j (i < j); None if blocked."""
        if j == self.ghost:
            return self.card + (self.seat if 2 * len(self.blocked[i]) < self.n - 1 else 0)
        if j in self.blocked[i]:
            return None
        fresh = 0 if self.recent(i, j) else self.fresh
        return self.card + self.seat + fresh + self.weight(i, j) - _W_MIN

    def solve(self) -> list[int]:
        """Each vertex's mate (-1: none), optimal on the candidate graph.

        Anyone the candidate graph leaves without a partner, or with a recent one, gets all
        their pairs added and the graph is solved again: nobody pays for a missing edge.
        """
        near = self.neighbours()
        while True:
            edges = []
            for i, partners in enumerate(near):
                for j in partners:
                    if i < j and (k := self.key(i, j)) is not None:
                        edges.append((i, j, k))
            mate = max_weight_matching(self.nodes, edges)
            widened = False
            for i in range(self.n):
                j = mate[i]
                unlucky = j < 0 or (j < self.n and self.recent(i, j))
                if unlucky and len(near[i]) < self.nodes - 1:
                    near[i] = {other for other in range(self.nodes) if other != i}
                    for other in near[i]:
                        near[other].add(i)
                    widened = True
            if not widened:
                return mate

    def neighbours(self) -> list[set[int]]:
        """Each person's NEIGHBOURS most promising partners (everyone, in small rounds), and
        the ghost seat; symmetric. Ranked on a quarter-hour grid by common time, level and
        focus; blocked pairs and recent partners are left out."""
        n = self.n
        if n <= EXACT_UP_TO:
            return [{j for j in range(self.nodes) if j != i} for i in range(self.nodes)]
        start = min((s for spans in self.shapes for s, _ in spans), default=0)
        masks = []
        for spans in self.shapes:
            mask = 0
            for s, e in spans:
                lo, hi = -(-(s - start) // _SLOT), (e - start) // _SLOT  # whole slots inside
                if hi > lo:
                    mask |= ((1 << (hi - lo)) - 1) << lo
            masks.append(mask)
        points = [_overlap_points(s * _SLOT // 60) for s in range(ENOUGH * 60 // _SLOT + 1)]
        points += [points[-1]] * max(m.bit_count() for m in masks)
        kinds = [(level, focus) for level in range(len(LEVELS)) for focus in FOCUSES]
        quality = [
            [LEVEL_POINTS[abs(x[0] - y[0])] + FOCUS_POINTS[_agreement(x[1], y[1])] for y in kinds]
            for x in kinds
        ]
        # People with the same windows, level and focus rank everyone alike: rank once.
        groups: dict[tuple[int, int], list[int]] = {}
        for i, c in enumerate(self.people):
            groups.setdefault((self.shape[i], kinds.index((c.level, c.focus))), []).append(i)
        keys = list(groups)
        shapes, types = [masks[s] for s, _ in keys], [t for _, t in keys]
        near: list[set[int]] = [set() for _ in range(self.nodes)]
        for (shape, kind), members in groups.items():
            mask, q = masks[shape], quality[kind]
            row = [
                points[(mask & m).bit_count()] + q[t] for m, t in zip(shapes, types, strict=True)
            ]
            need = NEIGHBOURS + 1 + max(len(self.blocked[i]) + len(self.met[i]) for i in members)
            tiers: list[list[int]] = []  # the best-ranked people, by rank, enough for all here
            count, last = 0, None
            for g in sorted(range(len(keys)), key=row.__getitem__, reverse=True):
                if row[g] != last:
                    if count >= need:
                        break
                    tiers.append([])
                    last = row[g]
                tiers[-1].extend(groups[keys[g]])
                count += len(groups[keys[g]])
            for tier in tiers:
                tier.sort()
            for i in members:
                self.pick(i, tiers, near)
        for i in range(n - 1):  # a chain through everyone: the graph alone can group them all
            near[i].add(i + 1)
            near[i + 1].add(i)
        if self.ghost >= 0:
            near[self.ghost] = set(range(n))
            for i in range(n):
                near[i].add(self.ghost)
        return near

    def pick(self, i: int, tiers: list[list[int]], near: list[set[int]]) -> None:
        """Add i's first NEIGHBOURS acceptable partners from ``tiers`` to the graph. Within a
        tier of equals i starts after itself, so that nobody becomes everyone's pick."""
        picked = 0
        for tier in tiers:
            cut = bisect_right(tier, i)
            for j in chain(islice(tier, cut, None), islice(tier, cut)):
                if j == i or j in self.blocked[i] or self.recent(i, j):
                    continue
                near[i].add(j)
                near[j].add(i)
                picked += 1
                if picked == NEIGHBOURS:
                    return

    def result(self, mate: list[int]) -> Matching:
        pairs = [(i, j) for i, j in enumerate(mate[: self.n]) if i < j < self.n]
        left = [i for i in range(self.n) if not 0 <= mate[i] < self.n]
        seated: tuple[int, int] | None = None  # (observer, pair index)
        best: tuple[int, int] | None = None
        for x in left:
            for p, (i, j) in enumerate(pairs):
                value = self.seat_value(x, i, j)
                if value is not None and (best is None or value > best):
                    best, seated = value, (x, p)
        groups = [self.group(i, j) for i, j in pairs]
        if seated is not None:
            x, p = seated
            groups[p] = self.group(*pairs[p], observer=x)
            left.remove(x)
        unmatched = tuple(Unmatched(self.people[i].id, "blocked") for i in left)
        return Matching(tuple(groups), unmatched)

    def seat_value(self, x: int, i: int, j: int) -> tuple[int, int] | None:
        """How well x fits as observer with pair i–j: fresh pairs first, then weight,
        counting the time all three are free."""
        if i in self.blocked[x] or j in self.blocked[x]:
            return None
        fresh = sum(1 for y in (i, j) if not self.recent(x, y))
        spans = self.shapes
        both = _intersect(spans[self.shape[i]], spans[self.shape[j]])
        together = _overlap(both, spans[self.shape[x]]) // 60
        return fresh, self.weight(x, i) + self.weight(x, j) + _overlap_points(together)

    def group(self, i: int, j: int, *, observer: int | None = None) -> Group:
        a, b = self.people[i], self.people[j]
        first, second = (a, b) if (-a.level, a.id) <= (-b.level, b.id) else (b, a)
        members = [first, second] + ([self.people[observer]] if observer is not None else [])
        reasons = tuple(
            explain(x, y, self.history) for k, x in enumerate(members) for y in members[k + 1 :]
        )
        together = common_windows(*members)
        return Group(
            interviewer=first.id,
            candidate=second.id,
            observer=members[2].id if observer is not None else None,
            reasons=reasons,
            overlap_minutes=sum(int((e - s).total_seconds()) for s, e in together) // 60,
        )
