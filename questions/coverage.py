"""Which key points a free-text answer mentions, without any model.

Each key point in the bank may list ``terms``: groups of synonyms, abbreviations and spellings.
A group matches when the answer contains any of its terms; the point is covered when at least
``need`` groups match. Matching is on normalised words (case, accents, hyphens, plurals and
British/American spellings folded), word by word: exact for short words and within a typo
(rapidfuzz's edit distance) for long ones, so "regularisation", "regularization" and
"regularisaton" all match, but "keep the test" never matches "keep the best". It is
deterministic: the same answer always gets the same result, and nothing in an answer can
instruct it.

``python -m questions.coverage [FILE ...]`` checks that every model answer covers its own key
points and that no prompt covers one by itself (terms that merely echo the question);
``python -m questions.coverage --eval LABELLED.yaml ...`` measures agreement with answers
judged by hand (tests/data/coverage/): precision and recall, overall and per key point.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from questions.schema import KeyPoint, OpenItem

FUZZY_MIN_CHARS = 7  # shorter words must match exactly: "auc" is not "arc", "best" not "test"
LONG_WORD = 10  # from this length a word may be two edits off, below it one

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
        return not self.prefix and any(len(w) >= FUZZY_MIN_CHARS for w in self.words)


def _same_word(term_word: str, answer_word: str) -> bool:
    """Exact, or a typo away for a long word: one edit from 7 letters ("validaton"), two from
    10 ("regularisaton"); never a word that only contains it ("recompute" is not "compute")."""
    if term_word == answer_word:
        return True
    if len(term_word) < FUZZY_MIN_CHARS:
        return False
    from rapidfuzz.distance import Levenshtein  # here, not at start-up: a slow import

    edits = 2 if len(term_word) >= LONG_WORD else 1
    return Levenshtein.distance(term_word, answer_word, score_cutoff=edits) <= edits


@lru_cache(maxsize=8192)
def _term(text: str) -> _Term:
    prefix = text.rstrip().endswith("*")
    found = words(text.rstrip().rstrip("*"))
    if prefix and found:  # a prefix is matched as written, not stemmed
        raw = _WORD.findall(unicodedata.normalize("NFKD", text.casefold()))
        last = raw[-1] if raw else found[-1]
        if len(last) > 4 and last.endswith("e"):  # evaluate* also finds "evaluating"
            last = last[:-1]
        found = (*found[:-1], last)
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
    return any(
        all(_same_word(w, a) for w, a in zip(term.words, answer[i : i + n], strict=True))
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


@dataclass(frozen=True)
class Labelled:
    """One hand-judged answer: the item, its style and the key points (1-based) it made."""

    item_id: str
    style: str
    text: str
    covers: frozenset[int]


@dataclass
class Tally:
    """Agreement with the hand labels for one key point (or all of them)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, *, said: bool, truth: bool) -> None:
        if said and truth:
            self.tp += 1
        elif said:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def read_labelled(text: str) -> list[Labelled]:
    import yaml

    data = yaml.safe_load(text)
    return [
        Labelled(str(a["item"]), str(a["style"]), str(a["text"]), frozenset(a["covers"]))
        for a in data["answers"]
    ]


def evaluate(
    items: Sequence[OpenItem], labelled: Sequence[Labelled]
) -> tuple[Tally, dict[tuple[str, int], Tally]]:
    """The check's agreement with hand labels: overall, and per key point (item, number)."""
    by_id = {i.id: i for i in items}
    overall = Tally()
    per_point: dict[tuple[str, int], Tally] = {}
    for answer in labelled:
        item = by_id[answer.item_id]
        for n, said in enumerate(coverage(item, answer.text), 1):
            if said is None:
                continue
            truth = n in answer.covers
            overall.add(said=said, truth=truth)
            per_point.setdefault((item.id, n), Tally()).add(said=said, truth=truth)
    return overall, per_point


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def report(items: Sequence[OpenItem], labelled: Sequence[Labelled], goal: float = 0.85) -> str:
    """Overall precision and recall, the share of key points meeting the goal on each, and
    the key points that miss it."""
    overall, per_point = evaluate(items, labelled)
    p_ok = [t.precision >= goal for t in per_point.values() if t.precision is not None]
    r_ok = [t.recall >= goal for t in per_point.values() if t.recall is not None]
    lines = [
        f"{len(labelled)} answers, {len(per_point)} key points judged "
        f"({overall.tp + overall.fn} ticked by hand, {overall.tp + overall.fp} by the check)",
        f"overall: precision {_share(overall.precision)}, recall {_share(overall.recall)} "
        f"(tp {overall.tp}, fp {overall.fp}, fn {overall.fn}, tn {overall.tn})",
        f"key points with precision >= {goal}: {sum(p_ok)} of {len(p_ok)}; "
        f"with recall >= {goal}: {sum(r_ok)} of {len(r_ok)}",
    ]
    for (item_id, n), t in sorted(per_point.items()):
        if (t.precision is not None and t.precision < goal) or (
            t.recall is not None and t.recall < goal
        ):
            lines.append(
                f"  {item_id} #{n}: precision {_share(t.precision)}, recall {_share(t.recall)}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from questions.files import BankError, bank_files
    from questions.loader import load_paths  # needs YAML; the rest not

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--eval"]:  # agreement with hand-labelled answers
        bank = [
            i for i in load_paths(bank_files(), topic_from_name=True) if isinstance(i, OpenItem)
        ]
        labelled = [a for path in args[1:] for a in read_labelled(Path(path).read_text())]
        print(report(bank, labelled))
        return 0
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
