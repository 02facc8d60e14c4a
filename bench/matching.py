"""Mock-interview matching against networkx's optimal Blossom matching, on a generated world.

At 300 opt-ins: our total pair weight and time against networkx.max_weight_matching on the same
weights (its maximum-cardinality optimum, with the same preference for pairs who have not met).
At 2,000 opt-ins: our time per round and the repeats we could have avoided over 8 rounds, each
round's groups fed into the next round's history.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import networkx as nx

from bot.matching import FOCUSES, MEMORY, Candidate, History, Matching, match, weight

ROUND = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; each round covers the week from here

# Where members live, weighted roughly like an online ML-interview community.
ZONES = {
    "America/Los_Angeles": 12,
    "America/Denver": 2,
    "America/Chicago": 5,
    "America/New_York": 12,
    "America/Toronto": 3,
    "America/Mexico_City": 2,
    "America/Bogota": 1,
    "America/Sao_Paulo": 4,
    "Europe/London": 8,
    "Europe/Paris": 5,
    "Europe/Berlin": 8,
    "Europe/Warsaw": 3,
    "Europe/Kyiv": 2,
    "Africa/Lagos": 3,
    "Africa/Nairobi": 2,
    "Asia/Dubai": 2,
    "Asia/Kolkata": 14,
    "Asia/Kathmandu": 1,
    "Asia/Singapore": 4,
    "Asia/Jakarta": 2,
    "Asia/Shanghai": 6,
    "Asia/Seoul": 2,
    "Asia/Tokyo": 3,
    "Australia/Sydney": 3,
    "Pacific/Auckland": 1,
}
# The form's availability choices, in the member's own time zone: (weekdays, from, to).
PRESETS = {
    "weekday evenings": (range(5), (18, 0), (21, 0)),
    "late weekday evenings": (range(5), (20, 30), (23, 0)),
    "weekday mornings": (range(5), (7, 0), (8, 30)),
    "weekday lunch": (range(5), (12, 0), (13, 0)),
    "weekend mornings": ((5, 6), (9, 0), (12, 0)),
    "weekend afternoons": ((5, 6), (14, 0), (18, 0)),
}
PRESET_WEIGHTS = (10, 3, 3, 2, 8, 6)


def person(rng: random.Random, ident: str) -> Candidate:
    zone = ZoneInfo(rng.choices(list(ZONES), weights=list(ZONES.values()))[0])
    chosen = set(rng.choices(list(PRESETS), weights=PRESET_WEIGHTS, k=rng.choice((1, 2, 2, 3))))
    windows = []
    first = (ROUND - timedelta(days=1)).astimezone(zone).date()
    for offset in range(9):  # local days that can touch the round's UTC week
        day = first + timedelta(days=offset)
        for name in chosen:
            weekdays, (h0, m0), (h1, m1) = PRESETS[name]
            if day.weekday() in weekdays:
                start = datetime(day.year, day.month, day.day, h0, m0, tzinfo=zone)
                end = datetime(day.year, day.month, day.day, h1, m1, tzinfo=zone)
                start, end = max(start, ROUND), min(end, ROUND + timedelta(days=7))
                if start < end:
                    windows.append((start.astimezone(UTC), end.astimezone(UTC)))
    return Candidate(
        id=ident,
        level=rng.choices((0, 1, 2), weights=(45, 35, 20))[0],
        focus=rng.choices(FOCUSES, weights=(35, 20, 10, 35))[0],
        windows=tuple(windows),
    )


def population(rng: random.Random, n: int) -> list[Candidate]:
    return [person(rng, f"m{i:05}") for i in range(n)]


def record(history: History, result: Matching) -> dict[frozenset[str], int]:
    """Age every past pairing by a round and add this round's groups."""
    aged = {pair: ago + 1 for pair, ago in history.items() if ago < 2 * MEMORY}
    for group in result.groups:
        for reason in group.reasons:
            aged[frozenset((reason.a, reason.b))] = 1
    return aged


def pairings(result: Matching) -> list[frozenset[str]]:
    return [frozenset((r.a, r.b)) for g in result.groups for r in g.reasons]


def repeats(result: Matching, history: History) -> int:
    return sum(1 for pair in pairings(result) if history.get(pair, MEMORY + 1) <= MEMORY)


def some_blocks(
    rng: random.Random, people: Sequence[Candidate], history: History
) -> set[frozenset[str]]:
    """About one member in 100 blocks someone: mostly a past partner, sometimes anyone."""
    ids = [c.id for c in people]
    past = sorted(history, key=sorted)
    blocks: set[frozenset[str]] = set()
    for _ in range(max(1, len(people) // 100)):
        if past and rng.random() < 0.7:
            blocks.add(rng.choice(past))
        else:
            blocks.add(frozenset(rng.sample(ids, 2)))
    return blocks


def opted_in(rng: random.Random, people: Sequence[Candidate], n: int) -> list[Candidate]:
    """This round's ``n`` opt-ins: the other members (one in ten) skip or are paused."""
    return rng.sample(list(people), n)


def networkx_optimum(
    people: Sequence[Candidate], history: History, blocks: set[frozenset[str]]
) -> tuple[int, int, float]:
    """Total weight and repeats of networkx's optimum, and the seconds its matching took.

    Pairs who have not met in MEMORY rounds get a bonus larger than any weight difference, as
    in our matcher, so both optimise the same thing; the weights are computed before timing.
    """
    bonus = 10**7
    graph = nx.Graph()
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            pair = frozenset((a.id, b.id))
            if pair not in blocks:
                fresh = history.get(pair, MEMORY + 1) > MEMORY
                graph.add_edge(a.id, b.id, weight=weight(a, b, history) + bonus * fresh)
    started = time.perf_counter()
    pairs = nx.max_weight_matching(graph, maxcardinality=True)
    seconds = time.perf_counter() - started
    by_id = {c.id: c for c in people}
    total = sum(weight(by_id[a], by_id[b], history) for a, b in pairs)
    again = sum(1 for a, b in pairs if history.get(frozenset((a, b)), MEMORY + 1) <= MEMORY)
    return total, again, seconds


def pair_part(result: Matching, people: Sequence[Candidate], history: History) -> int:
    """Our total weight over the interviewer–candidate pairs (a trio counts as its pair)."""
    by_id = {c.id: c for c in people}
    return sum(weight(by_id[g.interviewer], by_id[g.candidate], history) for g in result.groups)


def members(rng: random.Random, n: int) -> list[Candidate]:
    """Enough members that ``n`` opt in when one in ten sits the round out."""
    return population(rng, n + n // 9)


def warm_history(rng: random.Random, people: list[Candidate], n: int, rounds: int) -> History:
    history: History = {}
    for _ in range(rounds):
        history = record(history, match(opted_in(rng, people, n), history=history))
    return history


def against_networkx(n: int, seed: int) -> None:
    rng = random.Random(seed)
    people = members(rng, n)
    history = warm_history(rng, people, n, 4)
    here = opted_in(rng, people, n)
    blocks = some_blocks(rng, here, history)
    started = time.perf_counter()
    result = match(here, history=history, blocks=blocks)
    ours = time.perf_counter() - started
    total = pair_part(result, here, history)
    best, best_repeats, theirs = networkx_optimum(here, history, blocks)
    print(f"{len(here)} opted in (seed {seed}), {len(history)} past pairings, {len(blocks)} blocks")
    print(f"  total weight  ours {total:>7}   networkx {best:>7}   ratio {total / best:.4f}")
    print(f"  repeats       ours {repeats(result, history):>7}   networkx {best_repeats:>7}")
    speed = f"ours/networkx 1/{theirs / ours:.0f}"
    print(f"  seconds       ours {ours:7.3f}   networkx {theirs:7.3f}   {speed}")
    print(f"  unmatched     ours {len(result.unmatched):>7}")


def rounds_at_scale(n: int, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    people = members(rng, n)
    history: History = {}
    blocks: set[frozenset[str]] = set()
    times, repeated, trios = [], 0, 0
    for _ in range(rounds):
        here = opted_in(rng, people, n)
        blocks |= some_blocks(rng, here, history)
        started = time.perf_counter()
        result = match(here, history=history, blocks=blocks)
        times.append(time.perf_counter() - started)
        repeated += repeats(result, history)
        trios += sum(1 for g in result.groups if g.observer is not None)
        assert not result.unmatched
        history = record(history, result)
    # Everyone has at most `rounds` past partners and a few blocks among n - 1 others, far
    # fewer than n / 2: by Dirac's theorem a grouping without any repeat always exists, so
    # every repeat counted here was avoidable.
    print(f"{n} opted in of {len(people)} members, {rounds} rounds (seed {seed})")
    print(f"  seconds per round  max {max(times):.3f}   median {statistics.median(times):.3f}")
    print(f"  avoidable repeats  {repeated}   trios {trios}   blocks {len(blocks)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=300, help="opt-ins compared with networkx")
    parser.add_argument("--large", type=int, default=2000, help="opt-ins for the rounds run")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    against_networkx(args.small, args.seed)
    rounds_at_scale(args.large, args.rounds, args.seed)


if __name__ == "__main__":
    main()
