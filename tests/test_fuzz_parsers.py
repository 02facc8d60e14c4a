"""Property tests of the text parsers: whatever is typed, each gives a value or its own
clear error (CommandError, SpecError, BankError) naming what was wrong, never another
exception. Bounded and derandomised, so the whole file runs in a few seconds."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import commands as table
from bot.commands import INT_MAX, MAX_VALUE_CHARS, CommandError, Kind
from bot.features.drops import parse_answer_id
from bot.scheduler import cron_trigger
from bot.timespec import (
    FIRES_WITHIN,
    MAX_DURATION,
    MAX_SPEC_CHARS,
    MIN_DURATION,
    SpecError,
    parse_availability,
    parse_duration,
    parse_spec,
    parse_timezone,
)
from questions.files import BankError
from questions.packs import parse_pack

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
T = TypeVar("T")


def outcome(call: Callable[[], T], refusal: type[Exception]) -> T | Exception:
    """What ``call`` returns, or the refusal it raised; any other exception propagates."""
    try:
        return call()
    except refusal as exc:
        return exc


# Numbers as people and attackers type them: huge, signed, scientific, non-ASCII digits.
NUMBERS = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**62, max_value=2**80).map(str),
    st.sampled_from(
        [
            "0",
            "-1",
            "+7",
            "007",
            str(INT_MAX),
            str(INT_MAX + 1),
            "99999999999999999999",
            "1e20",
            "²",
            "٣",
            "1_000",
            "0x10",
            "9" * 5000,
            "-" + "9" * 30,
        ]
    ),
)
TOKENS = st.one_of(
    NUMBERS,
    st.text(max_size=12),
    st.text(alphabet=string.ascii_letters + string.digits + ":@#<>|&-_*/,'\" ", max_size=16),
    st.sampled_from(
        [
            "daily",
            "weekdays",
            "weekly",
            "cron",
            "09:00",
            "25:99",
            "*",
            "30",
            "2",
            "mon",
            "tz:Europe/Berlin",
            "tz:" + "a" * 300,
            "reveal:2h",
            "reveal:99999999999d",
            "<@U1>",
            "<@U1|alice>",
            "<#C1|general>",
            "<@&42>",
            "@alice",
            "#general",
            "off",
            "now",
            '"',
            "'",
            "\\",
            "\x00",
        ]
    ),
)
COMMAND_NAMES = st.sampled_from(sorted({c.name for c in table.commands()} | {"nope", ""}))


def _option_tokens() -> st.SearchStrategy[str]:
    names = sorted({o.name for c in table.commands() for o in c.options} | {"bogus"})
    return st.builds(lambda n, v: f"{n}:{v}", st.sampled_from(names), TOKENS)


def _value_for(option: table.Option) -> st.SearchStrategy[str]:
    """Values aimed at one option: its choices and kind, and what breaks them."""
    aimed = {
        Kind.INT: NUMBERS,
        Kind.CHOICE: st.sampled_from([*option.choices, "x"]),
        Kind.MEMBER: st.sampled_from(["<@U1>", "@alice", "<#C1>", "al ice"]),
        Kind.CHANNEL: st.sampled_from(["<#C1|general>", "#general", "<@U1>"]),
        Kind.ROLE: st.sampled_from(["<@&42>", "42", "off", "@role"]),
    }.get(option.kind, TOKENS)
    return st.one_of(aimed, TOKENS)


def _words_for(spec: table.CommandSpec) -> st.SearchStrategy[list[str]]:
    """Words for one command: its options, named or bare, and stray tokens."""
    if not spec.options:
        return st.lists(TOKENS, max_size=3)
    option = st.sampled_from(spec.options)
    named = option.flatmap(lambda o: _value_for(o).map(lambda v: f"{o.name}:{v}"))
    bare = option.flatmap(_value_for)
    return st.lists(st.one_of(named, bare, TOKENS, _option_tokens()), max_size=6)


AIMED_LINES = st.sampled_from(table.commands()).flatmap(
    lambda spec: _words_for(spec).map(lambda words: " ".join(["/" + spec.name, *words]))
)
COMMAND_LINES = st.one_of(
    AIMED_LINES,
    st.builds(
        lambda name, words: " ".join(["/" + name, *words]),
        COMMAND_NAMES,
        st.lists(st.one_of(TOKENS, _option_tokens()), max_size=8),
    ),
    st.text(max_size=80),
)


@FUZZ
@given(COMMAND_LINES)
def test_the_command_parser_returns_options_or_a_clear_error(line: str) -> None:
    """Any line parses against the table or is refused with a CommandError that quotes or
    names the problem; integers that come out always fit a 64-bit column."""
    parsed = outcome(lambda: table.parse(line), CommandError)
    if isinstance(parsed, Exception):
        assert "`" in str(parsed) or "limit" in str(parsed) or "quote" in str(parsed), parsed
        return
    spec, options = parsed
    for name, value in options.items():
        option = next(o for o in spec.options if o.name == name)
        if option.kind is Kind.INT:
            assert isinstance(value, int) and -INT_MAX <= value <= INT_MAX
        else:
            assert isinstance(value, str) and len(value) <= MAX_VALUE_CHARS


def _spec_and_option() -> st.SearchStrategy[tuple[table.CommandSpec, table.Option]]:
    pairs = [(c, o) for c in table.commands() for o in c.options]
    return st.sampled_from(pairs)


@FUZZ
@given(_spec_and_option(), st.one_of(TOKENS, st.integers(), st.none(), st.booleans()))
def test_every_typed_option_converts_or_names_itself(
    pair: tuple[table.CommandSpec, table.Option], value: object
) -> None:
    """A typed option (as Discord sends them) becomes its value or a refusal that names
    the option, whatever the platform put in it."""
    spec, option = pair
    out = outcome(lambda: table.normalise(spec, {option.name: value}), CommandError)
    if isinstance(out, Exception):
        assert f"`{option.name}`" in str(out) or f"`/{spec.name}`" in str(out), str(out)
        return
    if option.kind is Kind.INT:
        assert -INT_MAX <= int(out[option.name]) <= INT_MAX


# ---- time specs ---------------------------------------------------------------------------

CRON_FIELD = st.one_of(
    st.sampled_from(["*", "0", "7", "30", "31", "2", "*/15", "1-5", "0-6", "mon-fri", "29", "L"]),
    NUMBERS,
    st.text(alphabet="0123456789*/-,abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
)
# Days of month against months: the shapes of a cron that can never fire (30 February).
CALENDAR_CRONS = st.builds(
    lambda day, month, dow: f"cron 0 9 {day} {month} {dow}",
    st.sampled_from(["29", "30", "31", "30,31", "28-31", "*/30", "last", "5th mon"]),
    st.sampled_from(["2", "4", "6", "9", "11", "2,4", "feb", "*"]),
    st.sampled_from(["*", "1", "0", "mon", "1-5", "sat,sun"]),
)
SPECS = st.one_of(
    CALENDAR_CRONS,
    st.builds(lambda f: "cron " + " ".join(f), st.lists(CRON_FIELD, min_size=4, max_size=6)),
    st.builds(
        lambda head, words: " ".join([head, *words]),
        st.sampled_from(["daily", "weekdays", "weekly", "cron", "hourly"]),
        st.lists(TOKENS, max_size=3),
    ),
    st.text(max_size=40),
)


@FUZZ
@given(SPECS)
def test_schedules_parse_or_say_why_and_accepted_crons_fire(text: str) -> None:
    """A schedule is understood or refused with a SpecError; one that is understood fires
    within the bounded horizon, so no next-run search walks the calendar for years."""
    spec = outcome(lambda: parse_spec(text, now=NOW), SpecError)
    if isinstance(spec, Exception):
        assert str(spec).strip(), text
        return
    assert len(spec.text) <= MAX_SPEC_CHARS and len(spec.cron) <= MAX_SPEC_CHARS
    trigger = cron_trigger(spec.cron, "UTC")
    first = trigger.get_next_fire_time(None, NOW)
    assert first is not None and first - NOW <= FIRES_WITHIN


DURATIONS = st.one_of(
    st.builds(
        lambda parts: "".join(f"{n}{u}" for n, u in parts),
        st.lists(st.tuples(NUMBERS, st.sampled_from(["d", "h", "m", "min", "s", ""])), max_size=3),
    ),
    TOKENS,
)


@FUZZ
@given(DURATIONS)
def test_durations_are_in_range_or_refused_naming_the_range(text: str) -> None:
    """A duration comes back between the bounds, or the refusal names them."""
    delta = outcome(lambda: parse_duration(text), SpecError)
    if isinstance(delta, Exception):
        assert "duration" in str(delta), str(delta)
        return
    assert MIN_DURATION <= delta <= MAX_DURATION


@FUZZ
@given(
    st.one_of(TOKENS, st.text(max_size=200), st.sampled_from(["europe/berlin", "UTC", "x" * 99]))
)
def test_time_zones_are_known_names_or_refused(name: str) -> None:
    """Only names of the installed zone database come back; anything else is a SpecError
    that mentions time zones."""
    zone = outcome(lambda: parse_timezone(name), SpecError)
    if isinstance(zone, Exception):
        assert "time zone" in str(zone), str(zone)
        return
    assert zone.lower() == name.lower()


@FUZZ
@given(st.lists(st.one_of(TOKENS, st.sampled_from(["weekday evenings", "sat 10:00-12:00"]))))
def test_availability_parses_or_says_why(chunks: list[str]) -> None:
    """Weekly windows parse, or a SpecError says which part was not understood."""
    windows = outcome(lambda: parse_availability(", ".join(chunks)), SpecError)
    if isinstance(windows, Exception):
        assert str(windows).strip()
        return
    assert all(w.start < w.end for w in windows)


# ---- button and form ids ------------------------------------------------------------------


@FUZZ
@given(
    st.one_of(
        st.builds(
            lambda a, b: f"drop:{a}:{b}",
            NUMBERS,
            st.one_of(NUMBERS, st.sampled_from(["open", "OPEN", ""])),
        ),
        st.text(max_size=30),
    )
)
def test_answer_ids_parse_within_range_or_not_at_all(entry_id: str) -> None:
    """A drop's button id gives a stored-range id and an option, or None (unknown button)."""
    parsed = parse_answer_id(entry_id)
    if parsed is not None:
        drop_id, choice = parsed
        assert 0 <= drop_id <= INT_MAX
        assert choice == "open" or 0 <= int(choice) <= 9


# ---- packs --------------------------------------------------------------------------------

HOSTILE_YAML = st.sampled_from(
    [
        "items:",
        "\n",
        "\n  - ",
        "- ",
        "id: x",
        "kind: choice",
        "!!python/object/apply:os.system ['true']",
        "!!python/name:os.system",
        "!!int '0x'",
        "!!float 'abc'",
        "!!timestamp '2020-13-45'",
        "!!binary '!!!'",
        "2020-02-30",
        "9" * 5000,
        "? [1, 2]\n: x",
        "&a [x, y]",
        "*a",
        "*nope",
        "<<: 5",
        "[" * 50,
        "]" * 50,
        "{",
        "}",
        '"\\x"',
        "'",
        "|",
        ">-",
        "---",
        "%YAML 1.1",
        ":",
        ",",
        "\t",
        "\x00",
        "\ufeff",
    ]
)
YAML_TEXT = st.one_of(
    st.lists(st.one_of(HOSTILE_YAML, st.text(max_size=10)), max_size=20).map("".join),
    st.recursive(
        st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none()),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    ).map(lambda data: yaml.safe_dump({"items": data})),
)
CSV_HEADER = "id,topic,difficulty,tags,prompt,a,reason_a,b,reason_b,c,reason_c,d,reason_d,answer"
CSV_CELL = st.one_of(
    st.text(max_size=20),
    st.sampled_from(['"', '""', "\r", "\n", ",", "x" * 6000, "nlp", "easy", "a", "q-one"]),
)
CSV_TEXT = st.lists(st.lists(CSV_CELL, max_size=15).map(",".join), max_size=6).map(
    lambda rows: "\n".join([CSV_HEADER, *rows])
)


def _check_problems(exc: BankError, name: str) -> None:
    assert exc.problems, "a refusal lists at least one problem"
    for problem in exc.problems:
        assert problem.path == name and problem.line >= 1 and problem.message.strip()


@FUZZ
@given(st.one_of(YAML_TEXT.map(lambda t: ("p.yaml", t)), CSV_TEXT.map(lambda t: ("p.csv", t))))
def test_packs_load_or_list_located_problems(pack: tuple[str, str]) -> None:
    """A pack, however hostile, gives items or a BankError whose every problem has the
    file, a line and a message."""
    name, text = pack
    items = outcome(lambda: parse_pack(name, text.encode("utf-8", "surrogatepass")), BankError)
    if isinstance(items, BankError):
        _check_problems(items, name)
        return
    assert items


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.binary(max_size=300), st.sampled_from(["p.yaml", "p.csv", "p.txt", "P.YML"]))
def test_packs_of_arbitrary_bytes_are_refused_cleanly(data: bytes, name: str) -> None:
    """Bytes that are not even text are refused as a located problem."""
    items = outcome(lambda: parse_pack(name, data), BankError)
    if isinstance(items, BankError):
        _check_problems(items, name)
