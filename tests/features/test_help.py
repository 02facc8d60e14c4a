"""/help for a group, for one command and for a typo; errors that say what an option takes."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from rich.console import Console

from adapters.console import ConsolePlatform, ConsoleSession
from bot.app import build_app
from bot.chat import Reply, Tone
from bot.commands import CommandError, commands, parse
from bot.config import Settings
from bot.features.tips import TIP_CATEGORIES
from bot.handlers import Kind, Permission
from questions.schema import TOPICS
from tests.conftest import Chat, mini_bank


def _text(reply: Reply) -> str:
    assert reply.card is not None
    card = reply.card
    fields = "\n".join(f"{f.name}\n{f.value}" for f in card.fields)
    return "\n".join((card.title, card.body, fields, card.footer))


def _error(text: str) -> str:
    with pytest.raises(CommandError) as err:
        parse(text)
    return str(err.value)


async def test_a_group_lists_every_subcommand_one_line_each(chat: Chat) -> None:
    """`/help schedule` names each `/schedule …` command once, on a line of its own."""
    reply = await chat.run("/help schedule", as_=chat.admin)
    assert reply.card is not None
    subs = [c for c in commands() if c.name.startswith("schedule ")]
    lines = reply.card.body.splitlines()
    assert len(lines) == len(subs) >= 7
    for spec, line in zip(subs, lines, strict=True):
        assert line.startswith(f"`/{spec.name}`") and spec.help in line
    assert "/help schedule add" in reply.card.footer


@pytest.mark.parametrize("group", ["schedule", "mock", "questions", "me", "settings"])
async def test_every_group_is_listed_whole(chat: Chat, group: str) -> None:
    """Each group named in the issue lists all of its commands, admin ones marked."""
    reply = await chat.run(f"/help {group}", as_=chat.alice)
    assert reply.card is not None
    lines = {line.split("`")[1]: line for line in reply.card.body.splitlines()}
    subs = [c for c in commands() if c.name.startswith(f"{group} ")]
    assert list(lines) == [f"/{c.name}" for c in subs]
    for spec in subs:
        admins = spec.permission is Permission.ADMIN
        assert ("(admins)" in lines[f"/{spec.name}"]) is admins, spec.name


async def test_one_subcommand_unquoted_shows_usage_options_values_and_example(chat: Chat) -> None:
    """`/help schedule add` (no quotes): usage, every option with what it takes, an example."""
    reply = await chat.run("/help schedule add", as_=chat.admin)
    assert reply.card is not None and reply.card.tone is Tone.INFO
    text = _text(reply)
    assert reply.card.title == "/schedule add"
    assert "Usage: `/schedule add WHEN…" in text
    assert "Example: `/schedule add weekdays 09:00 topic:statistics reveal:2h`" in text
    assert "Admins only." in text
    names = [f.name for f in reply.card.fields]
    assert names[:3] == ["when (required)", "channel (optional)", "tz (optional)"]
    difficulty = next(f.value for f in reply.card.fields if f.name.startswith("difficulty"))
    assert "One of easy, medium, hard." in difficulty
    tz = next(f.value for f in reply.card.fields if f.name.startswith("tz"))
    assert "Always written with its name (`tz:…`)" in tz


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("mock pause", "Example: `/mock pause "),
        ("questions retire", "Example: `/questions retire "),
        ("me forget", "It takes no options."),
        ("settings timezone", "Example: `/settings timezone Europe/Berlin`"),
        ("reveal", "A whole number, 1 or more."),
        ("stats", "A member, written with @"),
        ("/quiz", "One of " + ", ".join(TOPICS)),
    ],
)
async def test_each_command_is_explained(chat: Chat, topic: str, expected: str) -> None:
    """Subcommands of other groups and single commands get the same detail card."""
    assert expected in _text(await chat.run(f"/help {topic}", as_=chat.alice))


async def test_quoted_and_extra_words_still_find_the_command(chat: Chat) -> None:
    """`/help "mock pause"` and `/help quiz nlp hard` explain the command named first."""
    quoted = await chat.run('/help "mock pause"', as_=chat.alice)
    assert quoted.card is not None and quoted.card.title == "/mock pause"
    extra = await chat.run("/help quiz nlp hard", as_=chat.alice)
    assert extra.card is not None and extra.card.title == "/quiz"


async def test_an_unknown_topic_suggests_the_closest(chat: Chat) -> None:
    """Typos in a group or a subcommand are answered with the nearest real name."""
    group = await chat.run("/help shedule", as_=chat.alice)
    assert group.card is not None and group.card.tone is Tone.BAD
    assert "There is no command `/shedule`. Did you mean `/help schedule`?" in group.card.body
    sub = await chat.run("/help schedule ad", as_=chat.alice)
    assert sub.card is not None
    assert sub.card.body.startswith("`/schedule` has no `ad`; it has add, list, edit")
    assert "Did you mean `/help schedule add`?" in sub.card.body
    nothing = await chat.run("/help zzzz", as_=chat.alice)
    assert nothing.card is not None and "Did you mean" not in nothing.card.body
    assert "`/help` lists them all." in nothing.card.body


async def test_the_overview_points_to_the_details(chat: Chat) -> None:
    """`/help` alone lists a member's commands and says how to get one explained."""
    reply = await chat.run("/help", as_=chat.alice)
    assert reply.card is not None
    assert "`/quiz`: " in reply.card.body and "`/schedule add`" not in reply.card.body
    assert "/help mock lists a group's commands; /help mock pause explains one" in (
        reply.card.footer
    )


def test_every_command_has_an_example_that_runs_that_command() -> None:
    """The example /help shows parses, option by option, to the command it illustrates."""
    for spec in commands():
        assert spec.example.startswith(f"/{spec.name}"), spec.name
        parsed, _options = parse(spec.example)
        assert parsed.name == spec.name, spec.example


def test_a_bare_value_no_option_takes_names_the_options_that_could() -> None:
    """`/tip behavioural` lists the tip categories; `/leaderboard year` the periods."""
    tip = _error("/tip behavioural")
    assert tip.startswith("`behavioural` fits no option of `/tip`: `category` takes one of ")
    assert ", ".join(TIP_CATEGORIES) in tip
    board = _error("/leaderboard year")
    assert "`period` takes one of week, month, all" in board
    assert "`topic` takes one of " + ", ".join(TOPICS) in board
    assert "Did you mean `hard`?" in _error("/quiz harder")


def test_a_plain_name_is_shown_how_to_name_a_member() -> None:
    """`/stats bob` says to write `@bob`; so does `/mock block bob`."""
    assert _error("/stats bob") == "To name a member, put @ before the name: `/stats @bob`."
    assert "`/mock block @bob`" in _error("/mock block bob")
    assert parse("/stats @bob")[1] == {"member": "bob"}


def test_other_stray_words_say_why() -> None:
    """A value given twice, a command without options, a number, a named-only option."""
    assert _error("/leaderboard week month") == (
        "`month` would be `period`, which is already `week`. Give `period` once."
    )
    assert _error("/ping now") == "`/ping` takes no options; remove `now`."
    assert "`drop` takes a whole number, 1 or more." in _error("/reveal two")
    settings = _error("/mock settings mon")
    assert "`day` is always written `day:…`" in settings
    assert "`time` is always written `time:…`" in settings
    assert "one word too many" in _error("/questions retire some id")


def test_option_kinds_are_all_described() -> None:
    """Every kind of option in the table has words for what it takes (text says it itself)."""
    from bot.features.help import accepted

    for spec in commands():
        for option in spec.options:
            assert bool(accepted(option)) is (option.kind is not Kind.TEXT), option


async def test_console_session_help_and_errors(tmp_path: Path) -> None:
    """Piped into the console: group help, one command unquoted, and the teaching errors."""
    out = io.StringIO()
    platform = ConsolePlatform(Console(file=out, width=200, highlight=False, color_system=None))
    app = await build_app(
        settings=Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/console.db"),
        platform=platform,
        items=mini_bank(),
        rng=random.Random(1),
    )
    script = "/help schedule\n/help schedule add\n/tip behavioural\n/leaderboard year\n/stats bob\n"
    try:
        code = await ConsoleSession(app, platform, io.StringIO(script), echo=True).run()
    finally:
        await app.close()
    assert code == 0
    text = out.getvalue()
    assert "/schedule preview (admins): The next 5 drop times" in text
    assert "Example: /schedule add weekdays 09:00 topic:statistics reveal:2h" in text
    assert "behavioural fits no option of /tip: category takes one of preparation" in text
    assert "year fits no option of /leaderboard: period takes one of week, month, all" in text
    assert "To name a member, put @ before the name: /stats @bob." in text
