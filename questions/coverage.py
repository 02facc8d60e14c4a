"""Which key points a free-text answer mentions, without any model.

Each key point in the bank may list ``terms``: groups of synonyms, abbreviations and spellings.
A group matches when the answer contains any of its terms; the point is covered when at least
``need`` groups match. Matching is on normalised words (case, accents, hyphens, plurals and
British/American spellings folded), exact for short terms and fuzzy (rapidfuzz) for long ones,
so "regularisation", "regularization" and "regularisaton" all match. It is deterministic: the
same answer always gets the same result, and nothing in an answer can instruct it.

``python -m questions.coverage [FILE ...]`` checks that every model answer covers its own key
points and that no prompt covers one by itself (terms that merely echo the question).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from questions.schema import KeyPoint, OpenItem

FUZZY_MIN_CHARS = 7  # shorter terms must match exactly: "auc" is not "arc"
FUZZY_SCORE = 88  # rapidfuzz ratio for a long term against a same-length window of the answer

_WORD = re.compile(r"[a-z0-9]+")
_SPELLINGS = (
    (re.compile(r"isation"), "ization"),
    (re.compile(r"is(e|ed|es|ing)$"), r"iz\1"),
    (re.compile(r"our$"), "or"),
    (re.compile(r"yse$"), "yze"),
)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for pattern, repl in _SPELLINGS:
        word = pattern.sub(repl, word)
    return word


def words(text: str) -> tuple[str, ...]:
    """Lower-case, accent-free, stemmed words; punctuation and hyphens split words."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return tuple(_stem(w) for w in _WORD.findall(plain))


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    prefix: bool  # the last word may continue ("calibrat*")

    @property
    def fuzzy(self) -> bool:
        return not self.prefix and len(" ".join(self.words)) >= FUZZY_MIN_CHARS


@lru_cache(maxsize=8192)
def _term(text: str) -> _Term:
    prefix = text.rstrip().endswith("*")
    found = words(text.rstrip().rstrip("*"))
    if prefix and found:  # a prefix is matched as written, not stemmed
        raw = _WORD.findall(unicodedata.normalize("NFKD", text.casefold()))
        found = (*found[:-1], raw[-1]) if raw else found
    return _Term(found, prefix)


def _matches(term: _Term, answer: tuple[str, ...], joined: str) -> bool:
    n = len(term.words)
    if n == 0 or n > len(answer):
        return False
    if term.prefix:
        head, last = term.words[:-1], term.words[-1]
        return any(
            answer[i : i + n - 1] == head and answer[i + n - 1].startswith(last)
            for i in range(len(answer) - n + 1)
        )
    if f" {' '.join(term.words)} " in joined:
        return True
    if not term.fuzzy:
        return False
    target = " ".join(term.words)
    return any(
        fuzz.ratio(target, " ".join(answer[i : i + n]), score_cutoff=FUZZY_SCORE)
        for i in range(len(answer) - n + 1)
    )


def point_covered(point: KeyPoint, answer: Sequence[str]) -> bool:
    """Whether the (already normalised) answer mentions this key point."""
    tokens = tuple(answer)
    joined = f" {' '.join(tokens)} "
    matched = sum(
        1 for group in point.terms if any(_matches(_term(t), tokens, joined) for t in group)
    )
    return matched >= point.required


def coverage(item: OpenItem, answer: str) -> tuple[bool | None, ...]:
    """Per key point: covered, not covered, or None when the point lists no terms."""
    tokens = words(answer)
    return tuple(
        point_covered(p, tokens) if isinstance(p, KeyPoint) else None for p in item.key_points
    )


def self_check(items: Sequence[OpenItem]) -> list[str]:
    """Problems with the terms themselves: a model answer that misses its own key point, or
    a prompt that covers one on its own."""
    problems = []
    for item in items:
        own = coverage(item, item.answer)
        echo = coverage(item, item.prompt)
        for n, (point, by_answer, by_prompt) in enumerate(
            zip(item.points, own, echo, strict=True), 1
        ):
            if by_answer is False:
                problems.append(f"{item.id}: key point {n} not found in the model answer: {point}")
            if by_prompt:
                problems.append(f"{item.id}: key point {n} is covered by the prompt alone: {point}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    from questions.loader import BankError, bank_files, load_paths  # needs YAML; the rest not

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        loaded = load_paths([Path(a) for a in args] or bank_files(), topic_from_name=not args)
    except BankError as exc:
        print(exc)
        return 1
    items = [i for i in loaded if isinstance(i, OpenItem)]
    problems = self_check(items)
    missing = sum(1 for i in items for p in i.key_points if not isinstance(p, KeyPoint))
    for problem in problems:
        print(problem)
    print(f"{len(items)} open items, {missing} key points without terms, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
