"""Bank-wide quality measures: counts, key-position spread, near-duplicate prompts.

Used by `studybot questions stats` and by the tests that guard the shipped bank.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from questions.schema import DIFFICULTIES, KINDS, TOPICS, ChoiceItem, Item

NEAR_DUPLICATE = 90  # rapidfuzz token-set ratio at or above which two prompts are one question


@dataclass(frozen=True)
class KeySpread:
    observed: tuple[int, ...]  # items whose key is at position 1, 2, 3, 4
    expected: tuple[float, ...]  # what an even spread would give, by option count

    @property
    def worst_deviation(self) -> float:
        """The largest |observed - expected| / expected over positions."""
        return max(
            (abs(o - e) / e for o, e in zip(self.observed, self.expected, strict=True) if e),
            default=0.0,
        )


def key_spread(items: Sequence[Item]) -> KeySpread:
    choices = [i for i in items if isinstance(i, ChoiceItem)]
    observed = [0, 0, 0, 0]
    expected = [0.0, 0.0, 0.0, 0.0]
    for item in choices:
        observed[item.key_index] += 1
        for position in range(len(item.options)):
            expected[position] += 1 / len(item.options)
    return KeySpread(tuple(observed), tuple(expected))


def key_longest_share(items: Sequence[Item]) -> float:
    """Share of choice items whose key is strictly the longest option."""
    choices = [i for i in items if isinstance(i, ChoiceItem)]
    if not choices:
        return 0.0
    longest = 0
    for item in choices:
        lengths = [len(o.text) for o in item.options]
        key = lengths[item.key_index]
        if all(key > n for i, n in enumerate(lengths) if i != item.key_index):
            longest += 1
    return longest / len(choices)


def near_duplicates(
    items: Sequence[Item], *, against: Sequence[Item] = ()
) -> list[tuple[str, str, float]]:
    """Pairs of prompts with token-set ratio >= 90: within ``items``, or between ``items`` and
    ``against`` when it is given."""
    others = [i.prompt for i in against] if against else [i.prompt for i in items]
    other_items = against or items
    pairs = []
    for a, item in enumerate(items):
        matches = process.extract(
            item.prompt,
            others,
            scorer=fuzz.token_set_ratio,
            score_cutoff=NEAR_DUPLICATE,
            limit=None,
        )
        for _text, score, b in matches:
            if not against and b <= a:
                continue
            pairs.append((item.id, other_items[b].id, float(score)))
    return pairs


def stats(items: Sequence[Item]) -> dict[str, object]:
    """Counts per topic, kind and difficulty, and the key-position spread."""
    spread = key_spread(items)
    return {
        "items": len(items),
        "by_kind": {k: sum(i.kind == k for i in items) for k in KINDS},
        "by_difficulty": {d: sum(i.difficulty == d for i in items) for d in DIFFICULTIES},
        "by_topic": {
            t: {"items": n, **{k: sum(i.kind == k and i.topic == t for i in items) for k in KINDS}}
            for t in TOPICS
            if (n := sum(i.topic == t for i in items))
        },
        "key_positions": list(spread.observed),
        "key_positions_even": [round(e, 1) for e in spread.expected],
        "key_longest_share": round(key_longest_share(items), 3),
        "tags": len(Counter(tag for i in items for tag in i.tags)),
    }
