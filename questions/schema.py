"""The question-bank schema: what a valid item is, as pydantic models.

Kinds follow ../shared/CONTENT.md: ``choice``, ``open``, ``scenario`` and
``behavioural``. The loader turns pydantic's error locations into file:line:field.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TOPICS: tuple[str, ...] = (
    "fundamentals",
    "evaluation",
    "classical",
    "unsupervised",
    "data-features",
    "optimisation",
    "deep-learning",
    "nlp",
    "reinforcement",
    "statistics",
    "tools",
    "system-design",
    "ethics",
    "behavioural",
    "llm",
    "ml-systems",
)
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
KINDS: tuple[str, ...] = ("choice", "open", "scenario", "behavioural")

Topic = Literal[
    "fundamentals",
    "evaluation",
    "classical",
    "unsupervised",
    "data-features",
    "optimisation",
    "deep-learning",
    "nlp",
    "reinforcement",
    "statistics",
    "tools",
    "system-design",
    "ethics",
    "behavioural",
    "llm",
    "ml-systems",
]
Difficulty = Literal["easy", "medium", "hard"]

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Options that point at other options ("all of the above", "both A and C", "I and III only"):
# they reward test-taking over knowledge, and shuffling the options breaks them. An option
# that merely starts with "both" ("Both bias and variance fall") is an ordinary statement.
_REF = r"(?:\(\s*[a-d]\s*\)|[a-d]|i{1,3}|iv)"  # an option's letter, or a statement's numeral
_REFS = rf"{_REF}(?:\s*,\s*{_REF})*\s*,?\s+(?:and|&|or|nor)\s+{_REF}"
_NUMBERED = r"(?:options?|answers?|choices?|statements?)\s+[0-9a-d]+(?:\s*,\s*[0-9a-d]+)*"
_VERDICT = r"(?:\s+only)?(?:\s+(?:are|is)\s+(?:all\s+)?(?:correct|right|true))?\s*[.!]?\s*$"
_LAZY_OPTION = re.compile(
    r"\b(?:all|none|neither|both|any)\s+(?:of\s+)?(?:the\s+)?(?:above|below)\b"
    rf"|^\s*(?:all|none|neither|both|any)\s+of\s+(?:these|those|them|the\s+(?:other\s+)?"
    rf"(?:options|answers)){_VERDICT}"
    rf"|^\s*(?:both|either|neither|only)?\s*{_REFS}{_VERDICT}"
    rf"|^\s*(?:both\s+|only\s+)?{_NUMBERED}\s*,?\s+(?:and|&|or|nor)\s+[0-9a-d]+{_VERDICT}",
    re.IGNORECASE,
)

Text = Annotated[str, Field(min_length=1, max_length=600)]
Tag = Annotated[str, Field(min_length=1, max_length=40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _ItemBase(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=80)]
    topic: Topic
    difficulty: Difficulty
    tags: Annotated[tuple[Tag, ...], Field(min_length=1, max_length=12)]
    prompt: Annotated[str, Field(min_length=10, max_length=1500)]


class _HintMixin(_Strict):
    # One nudge shown privately on request; a right answer after it earns half the points.
    hint: Annotated[str | None, Field(min_length=5, max_length=300)] = None


class Option(_Strict):
    text: Annotated[str, Field(min_length=1, max_length=300)]
    reason: Annotated[str, Field(min_length=1, max_length=600)]
    correct: bool = False
    # The wrong belief a distractor tests, named in a few words ("confuses precision with
    # recall"); shown beside the reason at the reveal and counted in /stats.
    misconception: Annotated[str | None, Field(min_length=3, max_length=60)] = None

    @field_validator("text")
    @classmethod
    def _no_lazy_option(cls, value: str) -> str:
        if _LAZY_OPTION.search(value):
            raise ValueError(
                "this option points at other options (like 'all of the above' or 'both A and "
                "C'), which shuffling breaks and guessing wins; write a distractor that tests a "
                "real misconception"
            )
        return value


class ChoiceItem(_ItemBase, _HintMixin):
    kind: Literal["choice"]
    options: Annotated[tuple[Option, ...], Field(min_length=3, max_length=4)]

    @model_validator(mode="after")
    def _exactly_one_key(self) -> ChoiceItem:
        keys = sum(1 for option in self.options if option.correct)
        if keys != 1:
            found = "none is" if keys == 0 else f"{keys} are"
            raise ValueError(f"mark exactly one option 'correct: true'; {found} marked")
        texts = [option.text.casefold() for option in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError("two options have the same text")
        if any(option.correct and option.misconception for option in self.options):
            raise ValueError("the correct option cannot carry a 'misconception'")
        return self

    @property
    def key_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


Term = Annotated[str, Field(min_length=2, max_length=60)]
TermGroup = Annotated[tuple[Term, ...], Field(min_length=1, max_length=12)]


class KeyPoint(_Strict):
    """A key point with the words that show an answer covered it.

    ``terms`` is a list of groups; a group is a list of synonyms (or one string), and a group
    matches when the answer contains any of them. The point counts as covered when at least
    ``need`` groups match (all of them unless ``need`` says fewer). A term ending in ``*``
    matches any word starting with it (``calibrat*``).
    """

    point: Text
    terms: Annotated[tuple[TermGroup, ...], Field(min_length=1, max_length=6)]
    need: Annotated[int | None, Field(ge=1, le=6)] = None

    @field_validator("terms", mode="before")
    @classmethod
    def _groups(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple((v,) if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _need_fits(self) -> KeyPoint:
        if self.need is not None and self.need > len(self.terms):
            raise ValueError(
                f"'need' is {self.need} but there are only {len(self.terms)} term groups"
            )
        return self

    @property
    def required(self) -> int:
        return self.need if self.need is not None else len(self.terms)


class OpenItem(_ItemBase, _HintMixin):
    kind: Literal["open"]
    answer: Annotated[str, Field(min_length=40, max_length=2500)]
    key_points: Annotated[tuple[Text | KeyPoint, ...], Field(min_length=3, max_length=6)]

    @property
    def points(self) -> tuple[str, ...]:
        """The key points' texts, whether or not they carry terms."""
        return tuple(p if isinstance(p, str) else p.point for p in self.key_points)


class RubricLevel(_Strict):
    dimension: Text
    poor: Text
    good: Text
    excellent: Text


class ScenarioItem(_ItemBase):
    kind: Literal["scenario"]
    hints: Annotated[tuple[Text, ...], Field(min_length=1, max_length=8)]
    rubric: Annotated[tuple[RubricLevel, ...], Field(min_length=3, max_length=8)]


class BehaviouralItem(_ItemBase):
    kind: Literal["behavioural"]
    listen_for: Annotated[tuple[Text, ...], Field(min_length=3, max_length=8)]
    follow_ups: Annotated[tuple[Text, ...], Field(min_length=2, max_length=6)]


Item = Annotated[
    ChoiceItem | OpenItem | ScenarioItem | BehaviouralItem, Field(discriminator="kind")
]


class BankFile(_Strict):
    """One YAML file: a list of items under ``items``."""

    items: Annotated[tuple[Item, ...], Field(min_length=1)]
