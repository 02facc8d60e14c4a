"""Bank-wide quality measures: counts, key-position spread, near-duplicate prompts.

Used by `studybot questions stats` and by the tests that guard the shipped bank.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

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


def middle_length_score(items: Sequence[Item]) -> float:
    """Expected score of a guesser who picks an option of middle length.

    Options are ranked by length; with an odd count the guesser takes the median, with an even
    count one of the two central options at random. An even bank scores 1 / (options).
    """
    choices = [i for i in items if isinstance(i, ChoiceItem)]
    if not choices:
        return 0.0
    total = 0.0
    for item in choices:
        ranked = sorted(range(len(item.options)), key=lambda k: len(item.options[k].text))
        n = len(ranked)
        middle = ranked[n // 2 : n // 2 + 1] if n % 2 else ranked[n // 2 - 1 : n // 2 + 1]
        total += (item.key_index in middle) / len(middle)
    return total / len(choices)


ABSOLUTE_WORDS = re.compile(r"\b(always|never|only|all|none)\b", re.IGNORECASE)


def absolute_word_ratio(items: Sequence[Item]) -> float:
    """How much more often wrong options use absolute words than keys do (1.0 = equally).

    The rate is the share of options containing always / never / only / all / none. A bank
    whose keys never use them while some distractors do scores infinity.
    """
    keys = wrong = keys_with = wrong_with = 0
    for item in items:
        if not isinstance(item, ChoiceItem):
            continue
        for option in item.options:
            hit = bool(ABSOLUTE_WORDS.search(option.text))
            if option.correct:
                keys += 1
                keys_with += hit
            else:
                wrong += 1
                wrong_with += hit
    if not wrong_with:
        return 0.0
    if not keys_with:
        return float("inf")
    return (wrong_with / wrong) / (keys_with / keys)


def key_cycle_share(items: Sequence[Item]) -> float:
    """Share of consecutive choice items whose key moves on by exactly one position (A→B…).

    A file written with keys cycling A, B, C, D scores near 1; a shuffled one about 1/4.
    """
    choices = [i for i in items if isinstance(i, ChoiceItem)]
    pairs = list(pairwise(choices))
    if not pairs:
        return 0.0
    steps = sum(b.key_index == (a.key_index + 1) % len(b.options) for a, b in pairs)
    return steps / len(pairs)


def missing_misconceptions(items: Sequence[Item]) -> list[str]:
    """Ids of choice items with a wrong option that names no misconception."""
    return [
        item.id
        for item in items
        if isinstance(item, ChoiceItem)
        and any(not o.correct and not o.misconception for o in item.options)
    ]


def near_duplicates(
    items: Sequence[Item], *, against: Sequence[Item] = ()
) -> list[tuple[str, str, float]]:
    """Pairs of prompts with token-set ratio >= 90: within ``items``, or between ``items`` and
    ``against`` when it is given."""
    from rapidfuzz import fuzz, process  # only when checking: its import is slow

    others = [i.prompt for i in against] if against else [i.prompt for i in items]
    other_items = against or items
    pairs = []
    for a, item in enumerate(items):
        # Within one list, each pair once: only the prompts after this one (half the work).
        start = 0 if against else a + 1
        matches = process.extract(
            item.prompt,
            others[start:],
            scorer=fuzz.token_set_ratio,
            score_cutoff=NEAR_DUPLICATE,
            limit=None,
        )
        for _text, score, b in matches:
            pairs.append((item.id, other_items[start + b].id, float(score)))
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
        "middle_length_score": round(middle_length_score(items), 3),
        "absolute_word_ratio": round(absolute_word_ratio(items), 2),
        "key_cycle_share": round(key_cycle_share(items), 3),
        "choice_items_missing_misconceptions": len(missing_misconceptions(items)),
        "tags": len(Counter(tag for i in items for tag in i.tags)),
    }
