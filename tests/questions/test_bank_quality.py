"""The shipped bank against CONTENT.md's rules: checks that name the offending items."""

from __future__ import annotations

import pytest

from questions.loader import load_bank
from questions.quality import (
    absolute_word_ratio,
    key_cycle_share,
    key_longest_share,
    key_spread,
    middle_length_score,
    missing_misconceptions,
    near_duplicates,
    stats,
)
from questions.schema import _LAZY_OPTION, TOPICS, ChoiceItem, Item, ScenarioItem


@pytest.fixture(scope="module")
def bank() -> tuple[Item, ...]:
    return load_bank()


def test_the_bank_is_big_and_covers_every_topic(bank: tuple[Item, ...]) -> None:
    """At least 930 items (90 llm, 70 ml-systems): 250 choice, 150 open, 40 scenario,
    40 behavioural, 25 per topic."""
    counts = stats(bank)
    kinds = counts["by_kind"]
    assert isinstance(kinds, dict)
    assert len(bank) >= 930
    assert sum(i.topic == "llm" for i in bank) >= 90
    assert sum(i.topic == "ml-systems" for i in bank) >= 70
    assert kinds["choice"] >= 250
    assert kinds["open"] >= 150
    assert kinds["scenario"] >= 40
    assert kinds["behavioural"] >= 40
    per_topic = {t: sum(i.topic == t for i in bank) for t in TOPICS}
    assert {t: n for t, n in per_topic.items() if n < 25} == {}


def test_difficulty_is_spread_roughly_30_50_20(bank: tuple[Item, ...]) -> None:
    """Easy, medium and hard each within 7 points of 30 %, 50 % and 20 %."""
    n = len(bank)
    shares = {d: sum(i.difficulty == d for i in bank) / n for d in ("easy", "medium", "hard")}
    for difficulty, target in (("easy", 0.30), ("medium", 0.50), ("hard", 0.20)):
        assert abs(shares[difficulty] - target) <= 0.07, shares


def test_no_two_prompts_are_near_duplicates(bank: tuple[Item, ...]) -> None:
    """No pair of prompts across the bank has a token-set ratio of 90 or more."""
    assert near_duplicates(bank) == []


def test_near_duplicates_names_each_planted_pair_once(bank: tuple[Item, ...]) -> None:
    """Within one list each pair is named once, earlier item first; against another list,
    every item that matches one there."""
    first, second = bank[5], bank[30]
    planted = [*bank[:40], first.model_copy(update={"id": "copy-a"})]
    planted.append(second.model_copy(update={"id": "copy-b", "prompt": second.prompt + " ?"}))
    assert [(a, b) for a, b, _ in near_duplicates(planted)] == [
        (first.id, "copy-a"),
        (second.id, "copy-b"),
    ]
    assert [(a, b) for a, b, _ in near_duplicates(planted[-2:], against=bank[:40])] == [
        ("copy-a", first.id),
        ("copy-b", second.id),
    ]


_LAZY = _LAZY_OPTION  # the schema's own rule: options that point at other options


def test_no_lazy_options(bank: tuple[Item, ...]) -> None:
    """No option points at other options ('all of the above', 'both A and C')."""
    lazy = [
        (item.id, option.text)
        for item in bank
        if isinstance(item, ChoiceItem)
        for option in item.options
        if _LAZY.search(option.text)
    ]
    assert lazy == []


def test_key_positions_are_spread_evenly(bank: tuple[Item, ...]) -> None:
    """Each key position is within 10 % of an even share across the bank."""
    spread = key_spread(bank)
    assert spread.worst_deviation <= 0.10, spread


def test_the_key_is_rarely_the_longest_option(bank: tuple[Item, ...]) -> None:
    """The key is strictly the longest option in at most 15 % of choice items."""
    assert key_longest_share(bank) <= 0.15


def test_the_option_of_middle_length_is_no_better_guess(bank: tuple[Item, ...]) -> None:
    """Always picking the option of middle length scores at most 30 %."""
    assert middle_length_score(bank) <= 0.30


def test_absolute_words_do_not_mark_the_wrong_options(bank: tuple[Item, ...]) -> None:
    """always / never / only / all / none appear in wrong options at most 1.5x as often as
    in keys, so a test-wise member cannot rule options out by them."""
    assert absolute_word_ratio(bank) <= 1.5


def test_keys_do_not_cycle_through_the_positions(bank: tuple[Item, ...]) -> None:
    """In the files, consecutive keys step on by one position (A, B, C, D…) at most 40 %."""
    assert key_cycle_share(bank) <= 0.40


def test_every_wrong_option_names_its_misconception(bank: tuple[Item, ...]) -> None:
    """Every distractor of every choice item says which wrong belief it tests."""
    assert missing_misconceptions(bank) == []


def test_every_scenario_rubric_judges_communication_in_one_spelling(
    bank: tuple[Item, ...],
) -> None:
    """Each scenario rubric has a Communication dimension; no dimension name is spelled two
    ways across the bank."""
    scenarios = [i for i in bank if isinstance(i, ScenarioItem)]
    assert [i.id for i in scenarios if "Communication" not in {r.dimension for r in i.rubric}] == []
    spellings: dict[str, set[str]] = {}
    for item in scenarios:
        for level in item.rubric:
            spellings.setdefault(level.dimension.casefold(), set()).add(level.dimension)
    assert {k: v for k, v in spellings.items() if len(v) > 1} == {}


def test_every_option_has_a_reason(bank: tuple[Item, ...]) -> None:
    """Every option of every choice item explains itself."""
    missing = [
        item.id
        for item in bank
        if isinstance(item, ChoiceItem)
        for option in item.options
        if not option.reason.strip()
    ]
    assert missing == []


def test_ids_are_unique_and_carry_their_topic(bank: tuple[Item, ...]) -> None:
    """Ids are unique across the bank and start with the item's topic."""
    ids = [i.id for i in bank]
    assert len(ids) == len(set(ids))
    assert [i.id for i in bank if not i.id.startswith(i.topic.split("-")[0])] == []
