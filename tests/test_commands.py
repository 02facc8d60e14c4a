"""The command table and its text parser."""

from __future__ import annotations

import pytest

from bot.commands import CommandError, commands, find, normalise, parse


def test_parses_subcommand_and_named_options() -> None:
    """`/drop now topic:… difficulty:…` finds the subcommand and converts each option."""
    spec, options = parse("/drop now topic:statistics difficulty:Hard")
    assert spec.name == "drop now"
    assert options == {"topic": "statistics", "difficulty": "hard"}


def test_bare_words_fill_the_option_whose_choices_they_match() -> None:
    """`/quiz hard nlp` needs no option names when the values are unambiguous."""
    spec, options = parse("/quiz hard nlp")
    assert spec.name == "quiz"
    assert options == {"difficulty": "hard", "topic": "nlp"}


def test_unknown_command_suggests_the_closest() -> None:
    """A typo is answered with the command that was probably meant."""
    with pytest.raises(CommandError, match=r"Unknown command `/quizz`\. Did you mean `/quiz`\?"):
        parse("/quizz")


def test_group_without_subcommand_lists_the_subcommands() -> None:
    """`/drop` alone says which subcommands exist."""
    with pytest.raises(CommandError, match=r"`/drop` needs a subcommand: now; got nothing"):
        parse("/drop")
    with pytest.raises(CommandError, match=r"Did you mean `/drop now`\?"):
        parse("/drop nwo")


def test_bad_choice_says_what_it_got_and_expects() -> None:
    """A bad option value names the option, the value, and the allowed values."""
    with pytest.raises(CommandError) as err:
        parse("/quiz difficulty:extreme")
    assert str(err.value) == ("`difficulty` got `extreme`, expected one of: easy, medium, hard.")


def test_unknown_option_suggests_and_lists() -> None:
    """A misspelt option name is corrected and the real options are listed."""
    with pytest.raises(CommandError) as err:
        parse("/quiz topc:nlp")
    assert "has no option `topc`. Did you mean `topic:`? It takes: topic, difficulty, kind." in (
        str(err.value)
    )


def test_int_option_is_checked() -> None:
    """A number option refuses words and out-of-range values with the reason."""
    with pytest.raises(CommandError, match=r"`drop` got `two`, expected a whole number"):
        parse("/reveal drop:two")
    with pytest.raises(CommandError, match=r"expected at least 1"):
        parse("/reveal drop:0")
    assert parse("/reveal 3")[1] == {"drop": 3}


def test_unexpected_word_names_the_options_it_could_be() -> None:
    """A stray word is pointed out together with what each free option accepts."""
    with pytest.raises(
        CommandError, match=r"`banana` fits no option of `/leaderboard`: `period` takes one of "
    ):
        parse("/leaderboard banana")


def test_unbalanced_quote_is_explained() -> None:
    """Quoting mistakes are reported rather than crashing."""
    with pytest.raises(CommandError, match="Close every quote"):
        parse('/help "quiz')


def test_option_given_twice_is_refused() -> None:
    """Giving an option twice is an error, not a silent overwrite."""
    with pytest.raises(CommandError, match="given twice"):
        parse("/quiz topic:nlp topic:tools")


def test_typed_options_are_checked_like_text() -> None:
    """Options typed by a platform (Discord) go through the same checks."""
    spec = find("quiz")
    assert spec is not None
    assert normalise(spec, {"topic": "NLP"}) == {"topic": "nlp"}
    with pytest.raises(CommandError, match="expected one of"):
        normalise(spec, {"topic": "astrology"})


def test_every_command_has_help_and_unique_name() -> None:
    """The table is well-formed: unique names, help text on commands and options."""
    names = [c.name for c in commands()]
    assert len(names) == len(set(names))
    for spec in commands():
        assert spec.help
        assert all(option.help for option in spec.options)


def test_member_and_channel_options_accept_platform_mentions() -> None:
    """Mentions in Slack's and Discord's text forms, or plain @name/#name, become ids."""
    from bot.commands import Kind, Option, _convert

    who = Option("member", "A member", Kind.MEMBER)
    where = Option("channel", "A channel", Kind.CHANNEL)
    assert _convert(who, "<@U123ABC|alice>") == "U123ABC"
    assert _convert(who, "<@!81234>") == "81234"
    assert _convert(who, "@Alice") == "alice"
    assert _convert(where, "<#C42|general>") == "C42"
    assert _convert(where, "#general") == "general"
    with pytest.raises(CommandError, match=r"expected a member \(@name\)"):
        _convert(who, "<#C42|general>")
    with pytest.raises(CommandError, match="expected a channel like #general"):
        _convert(where, "#gen eral")
