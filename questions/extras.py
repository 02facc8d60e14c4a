"""Interview tips, mock-interview rubrics and study resources: data files and their schema.

``questions/tips.yaml``, ``questions/rubrics.yaml`` and ``questions/resources.yaml`` are
validated like the bank (file:line: field: message) by ``studybot questions validate``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from questions.files import BankError, Problem
from questions.schema import ID_PATTERN, TOPICS, Topic
from questions.wording import plain

DATA_DIR = Path(str(importlib_resources.files("questions")))
TIP_CATEGORIES = (
    "preparation",
    "past-projects",
    "during-the-interview",
    "questions-to-ask",
    "what-not-to-say",
    "following-up",
)
RUBRIC_KINDS = ("technical", "system-design", "behavioural")
SCORES = ("weak", "mixed", "good", "excellent")  # 1 to 4

Text = Annotated[str, Field(min_length=1)]
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Tip(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    category: Literal[
        "preparation",
        "past-projects",
        "during-the-interview",
        "questions-to-ask",
        "what-not-to-say",
        "following-up",
    ]
    text: Annotated[str, Field(min_length=20, max_length=400)]


class TipsFile(_Strict):
    tips: Annotated[tuple[Tip, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> TipsFile:
        ids = [t.id for t in self.tips]
        if len(ids) != len(set(ids)):
            raise ValueError("tip ids must be unique")
        return self


class Dimension(_Strict):
    name: Text
    weak: Text
    mixed: Text
    good: Text
    excellent: Text


class Rubric(_Strict):
    title: Text
    dimensions: Annotated[tuple[Dimension, ...], Field(min_length=3, max_length=10)]


class RubricsFile(_Strict):
    rubrics: dict[Literal["technical", "system-design", "behavioural"], Rubric]

    @model_validator(mode="after")
    def _all_three(self) -> RubricsFile:
        missing = [k for k in RUBRIC_KINDS if k not in self.rubrics]
        if missing:
            raise ValueError(f"missing rubric(s): {', '.join(missing)}")
        return self


class Resource(_Strict):
    kind: Literal["book", "course", "dataset", "practice", "docs", "paper"]
    title: Text
    by: str = ""
    url: str = ""
    note: Annotated[str, Field(min_length=10, max_length=300)]


class ResourcesFile(_Strict):
    resources: dict[Topic, Annotated[tuple[Resource, ...], Field(min_length=2)]]

    @model_validator(mode="after")
    def _every_topic(self) -> ResourcesFile:
        missing = [t for t in TOPICS if t not in self.resources]
        if missing:
            raise ValueError(f"no resources for: {', '.join(missing)}")
        return self


def _load(path: Path, model: type[M]) -> M:
    import yaml  # read on first use (cached): not on the way to the first prompt

    from questions.loader import clean_loc, field_name, node_at

    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise BankError([Problem(str(path), line, "", f"not valid YAML: {exc}")]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = clean_loc(err["loc"])
            node = node_at(root, loc) if root is not None else None
            line = node.start_mark.line + 1 if node is not None else 1
            problems.append(
                Problem(str(path), line, field_name(loc), plain(err["msg"], err.get("input")))
            )
        raise BankError(problems) from None


@cache
def tips(directory: Path = DATA_DIR) -> tuple[Tip, ...]:
    return _load(directory / "tips.yaml", TipsFile).tips


@cache
def rubrics(directory: Path = DATA_DIR) -> dict[str, Rubric]:
    return {str(k): v for k, v in _load(directory / "rubrics.yaml", RubricsFile).rubrics.items()}


@cache
def study_resources(directory: Path = DATA_DIR) -> dict[str, tuple[Resource, ...]]:
    loaded = _load(directory / "resources.yaml", ResourcesFile).resources
    return {str(k): v for k, v in loaded.items()}


def validate_extras(directory: Path = DATA_DIR) -> list[Problem]:
    """Every problem in the three files (empty when they are all valid)."""
    problems: list[Problem] = []
    for name, model in (
        ("tips.yaml", TipsFile),
        ("rubrics.yaml", RubricsFile),
        ("resources.yaml", ResourcesFile),
    ):
        try:
            _load(directory / name, model)
        except BankError as exc:
            problems.extend(exc.problems)
        except FileNotFoundError:
            problems.append(Problem(str(directory / name), 1, "", "file is missing"))
    return problems
