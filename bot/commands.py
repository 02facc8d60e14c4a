"""The one command table, and parsing for platforms without typed options.

Each command is declared once here: name, typed options, help, who may run it and the
handler. Discord registers app commands from it, Slack parses ``/prep`` text with it and
the console reads lines with it, so the three never drift.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace

from bot.handlers import CommandError, CommandSpec, Kind, Option, Permission
from bot.options import (
    CHANNEL,
    DIFFICULTY,
    DIFFICULTY_ANY,
    DROP_KIND,
    KIND_MIX,
    PERIOD,
    QUESTION_ID,
    REVEAL,
    SCHEDULE_ID,
    TOPIC,
    TOPIC_ANY,
    TZ,
    WHEN,
    WHEN_REQUIRED,
)
from questions.extras import TIP_CATEGORIES

__all__ = ["CommandError", "CommandSpec", "Kind", "Option", "Permission", "commands", "parse"]


def _table() -> tuple[CommandSpec, ...]:
    # Imported here so feature modules may import this module's types freely.
    from bot.features import (
        answers,
        drops,
        help,
        leaderboard,
        mocks,
        packs,
        practice,
        privacy,
        progress,
        schedules,
        tips,
    )

    return (
        CommandSpec(
            "help",
            "What studybot does and how to use it",
            help.show_help,
            (Option("command", "A command to explain"),),
        ),
        CommandSpec(
            "quiz",
            "A personal question now, answered privately with feedback",
            drops.quiz,
            (TOPIC, DIFFICULTY, DROP_KIND),
        ),
        CommandSpec(
            "drop now",
            "Post a question to this channel now",
            drops.drop_now,
            (TOPIC, DIFFICULTY, DROP_KIND),
            Permission.ADMIN,
        ),
        CommandSpec(
            "reveal",
            "Reveal the open drop in this channel",
            answers.reveal_command,
            (
                Option(
                    "drop", "The drop's number (default: the latest open one)", Kind.INT, minimum=1
                ),
            ),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule add",
            "Schedule question drops in a channel",
            schedules.add,
            (WHEN_REQUIRED, CHANNEL, TZ, TOPIC, DIFFICULTY, KIND_MIX, REVEAL),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule list",
            "Every schedule with its next run",
            schedules.list_schedules,
            (),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule edit",
            "Change a schedule (only the options you give)",
            schedules.edit,
            (SCHEDULE_ID, WHEN, CHANNEL, TZ, TOPIC_ANY, DIFFICULTY_ANY, KIND_MIX, REVEAL),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule pause",
            "Stop a schedule's drops until resumed",
            schedules.pause,
            (SCHEDULE_ID,),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule resume",
            "Restart a paused schedule",
            schedules.resume,
            (SCHEDULE_ID,),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule remove",
            "Delete a schedule",
            schedules.remove,
            (SCHEDULE_ID,),
            Permission.ADMIN,
        ),
        CommandSpec(
            "schedule preview",
            "The next 5 drop times, in local time (a schedule, or a `when` to try)",
            schedules.preview,
            (replace(SCHEDULE_ID, required=False), WHEN, TZ),
            Permission.ADMIN,
        ),
        CommandSpec(
            "settings timezone",
            "Set this workspace's time zone (IANA name, e.g. Europe/Berlin)",
            schedules.set_timezone,
            (Option("tz", "An IANA time zone name, e.g. Europe/Berlin", required=True),),
            Permission.ADMIN,
        ),
        CommandSpec(
            "settings reward-role",
            "A role for the week's top 3, moved each Monday (Discord); or off",
            schedules.set_reward_role,
            (Option("role", "The role (@Role), or off", Kind.ROLE, required=True),),
            Permission.ADMIN,
        ),
        CommandSpec("next", "When the next drop in this channel comes", schedules.next_drop),
        CommandSpec(
            "questions import",
            "Add this workspace's own questions from a YAML or CSV pack (all or nothing)",
            packs.import_command,
            (
                Option(
                    "file",
                    "The pack: .yaml in the bank's format, or .csv of choice items",
                    Kind.FILE,
                ),
            ),
            Permission.ADMIN,
        ),
        CommandSpec(
            "questions list",
            "The questions this workspace can be asked",
            packs.list_command,
            (TOPIC,),
            Permission.ADMIN,
        ),
        CommandSpec(
            "questions retire",
            "Stop asking a question in this workspace",
            packs.retire_command,
            (QUESTION_ID,),
            Permission.ADMIN,
        ),
        CommandSpec(
            "questions restore",
            "Ask a retired question again",
            packs.restore_command,
            (QUESTION_ID,),
            Permission.ADMIN,
        ),
        CommandSpec(
            "questions report",
            "How each question did: share right, picks per option, ratings, flags",
            packs.report_command,
            (),
            Permission.ADMIN,
        ),
        CommandSpec(
            "tip",
            "An interview tip",
            tips.tip_command,
            (Option("category", "What the tip is about", Kind.CHOICE, TIP_CATEGORIES),),
        ),
        CommandSpec(
            "resources",
            "Books, courses and datasets to study a topic",
            tips.resources_command,
            (TOPIC,),
        ),
        CommandSpec(
            "leaderboard",
            "The board for this week (or month, or all time), optionally for one topic",
            leaderboard.show,
            (PERIOD, TOPIC),
        ),
        CommandSpec(
            "rank",
            "Your place on the board and who is just above and below",
            progress.rank_command,
            (PERIOD,),
        ),
        CommandSpec(
            "stats",
            "Answered, accuracy, streak and mastery per topic, with a chart",
            progress.stats_command,
            (Option("member", "Whose stats (default: yours)", Kind.MEMBER),),
        ),
        CommandSpec(
            "practice",
            "A private question: due reviews first, then new ones",
            practice.practice_command,
            (TOPIC, DIFFICULTY),
        ),
        CommandSpec(
            "review",
            "How many reviews are due, and the first of them",
            practice.review_command,
            (TOPIC, DIFFICULTY),
        ),
        CommandSpec(
            "remind",
            "A daily DM when reviews are due: /remind 19:00, or /remind off",
            practice.remind_command,
            (Option("when", "HH:MM in the workspace's time zone, or off", required=True),),
        ),
        CommandSpec(
            "mock join",
            "Opt in to mock interviews (a form: level, focus, times)",
            mocks.join_command,
        ),
        CommandSpec("mock leave", "Stop taking part in mock interviews", mocks.leave_command),
        CommandSpec(
            "mock pause",
            "No pairing until a date",
            mocks.pause_command,
            (Option("until", "The date to resume, YYYY-MM-DD", required=True),),
        ),
        CommandSpec("mock skip", "Sit out the next round only", mocks.skip_command),
        CommandSpec(
            "mock status", "Your profile, the next round and your history", mocks.status_command
        ),
        CommandSpec(
            "mock block",
            "Never be matched with this member (private)",
            mocks.block_command,
            (Option("member", "Who", Kind.MEMBER, required=True),),
        ),
        CommandSpec("mock why", "Why you got your partner", mocks.why_command),
        CommandSpec(
            "mock settings",
            "Where and when mock rounds happen",
            mocks.settings_command,
            (
                CHANNEL,
                Option("day", "Weekday of the round, e.g. mon", positional=False),
                Option("time", "HH:MM in the workspace's time zone", positional=False),
            ),
            Permission.ADMIN,
        ),
        CommandSpec(
            "mock round",
            "Make this round's pairs now",
            mocks.round_now_command,
            (Option("when", "now", Kind.CHOICE, ("now",), required=True),),
            Permission.ADMIN,
        ),
        CommandSpec(
            "mock report",
            "Rounds, pairs, completion, scores, repeats, waiting",
            mocks.report_command,
            (),
            Permission.ADMIN,
        ),
        CommandSpec(
            "me export", "Everything stored about you, as a JSON file", privacy.export_command
        ),
        CommandSpec(
            "me forget", "Delete everything stored about you (asks first)", privacy.forget_command
        ),
    )


_COMMANDS: tuple[CommandSpec, ...] | None = None


def commands() -> tuple[CommandSpec, ...]:
    global _COMMANDS
    if _COMMANDS is None:
        _COMMANDS = _table()
    return _COMMANDS


def find(name: str) -> CommandSpec | None:
    return next((c for c in commands() if c.name == name), None)


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.5)
    return matches[0] if matches else None


_NAMED = re.compile(r"^([a-z][a-z0-9_-]*):(.*)$", re.DOTALL)


def parse(text: str) -> tuple[CommandSpec, dict[str, str | int]]:
    """Parse ``/name sub key:value positional…`` against the table."""
    text = text.strip()
    if text.startswith("/"):
        text = text[1:]
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CommandError(f"Could not read that command ({exc}). Close every quote.") from None
    if not words:
        raise CommandError("Type a command, e.g. `/help`.")
    spec = _match_name(words)
    rest = words[len(spec.name.split()) :]
    return spec, _bind(spec, rest)


def _match_name(words: Sequence[str]) -> CommandSpec:
    names = [c.name for c in commands()]
    first = words[0].lower()
    if len(words) > 1 and (spec := find(f"{first} {words[1].lower()}")):
        return spec
    if spec := find(first):
        return spec
    subs = [n.split()[1] for n in names if n.split()[0] == first and " " in n]
    if subs:
        got = f" `{words[1]}`" if len(words) > 1 else " nothing"
        hint = _closest(words[1].lower(), subs) if len(words) > 1 else None
        maybe = f" Did you mean `/{first} {hint}`?" if hint else ""
        raise CommandError(f"`/{first}` needs a subcommand: {', '.join(subs)}; got{got}.{maybe}")
    tops = sorted({n.split()[0] for n in names})
    hint = _closest(first, tops)
    maybe = f" Did you mean `/{hint}`?" if hint else ""
    raise CommandError(f"Unknown command `/{first}`.{maybe} Type `/help` for the list.")


def _bind(spec: CommandSpec, words: Sequence[str]) -> dict[str, str | int]:
    raw: dict[str, str] = {}
    by_name = {o.name: o for o in spec.options}
    positional: list[str] = []
    for word in words:
        match = _NAMED.match(word)
        if match and match.group(1) in by_name:
            name, value = match.group(1), match.group(2)
            if name in raw:
                raise CommandError(f"`{name}` is given twice. Give each option once.")
            raw[name] = value
        elif match:
            name = match.group(1)
            hint = _closest(name, list(by_name))
            maybe = f" Did you mean `{hint}:`?" if hint else ""
            takes = ", ".join(by_name) or "no options"
            raise CommandError(f"`/{spec.name}` has no option `{name}`.{maybe} It takes: {takes}.")
        else:
            positional.append(word)
    free = [o for o in spec.options if o.positional and o.name not in raw]
    collecting: Option | None = None
    for word in positional:
        typed = next((o for o in free if o.kind is not Kind.TEXT and _accepts(o, word)), None)
        if typed is not None and not (collecting and typed.kind is Kind.INT):
            free.remove(typed)
            raw[typed.name] = word
            continue
        if collecting is not None:
            raw[collecting.name] += " " + word
            continue
        option = next((o for o in free if o.kind is Kind.TEXT), None)
        if option is None:
            raise CommandError(f"Unexpected `{word}`. Usage: `{spec.usage}`")
        free.remove(option)
        raw[option.name] = word
        if option.rest:
            collecting = option
    return normalise(spec, raw)


def _accepts(option: Option, word: str) -> bool:
    """Whether a bare word could be meant for this option (choices must match)."""
    if option.kind is Kind.CHOICE:
        return word.lower() in option.choices
    if option.kind is Kind.INT:
        return word.lstrip("-").isdigit()
    if option.kind is Kind.MEMBER:
        return word.startswith(("<@", "@"))
    if option.kind is Kind.CHANNEL:
        return word.startswith(("<#", "#"))
    if option.kind is Kind.ROLE:
        return word.startswith("<@&") or word.isdigit() or word == "off"
    return True


def normalise(spec: CommandSpec, raw: Mapping[str, object]) -> dict[str, str | int]:
    """Check and convert option values, whether parsed from text or typed by the platform."""
    out: dict[str, str | int] = {}
    by_name = {o.name: o for o in spec.options}
    for name, value in raw.items():
        option = by_name.get(name)
        if option is None:
            raise CommandError(f"`/{spec.name}` has no option `{name}`.")
        out[name] = _convert(option, str(value).strip())
    for option in spec.options:
        if option.required and option.name not in out:
            raise CommandError(
                f"`/{spec.name}` needs `{option.name}` ({option.help.lower()}). "
                f"Usage: `{spec.usage}`"
            )
    return out


def _convert(option: Option, value: str) -> str | int:
    if option.kind is Kind.CHOICE:
        lowered = value.lower()
        if lowered in option.choices:
            return lowered
        hint = _closest(lowered, option.choices)
        maybe = f" Did you mean `{hint}`?" if hint else ""
        raise CommandError(
            f"`{option.name}` got `{value}`, expected one of: {', '.join(option.choices)}.{maybe}"
        )
    if option.kind is Kind.INT:
        try:
            number = int(value)
        except ValueError:
            raise CommandError(f"`{option.name}` got `{value}`, expected a whole number.") from None
        if option.minimum is not None and number < option.minimum:
            raise CommandError(f"`{option.name}` got {number}, expected at least {option.minimum}.")
        if option.maximum is not None and number > option.maximum:
            raise CommandError(f"`{option.name}` got {number}, expected at most {option.maximum}.")
        return number
    if not value:
        raise CommandError(f"`{option.name}` is empty; give it a value like `{option.name}:…`.")
    if option.kind is Kind.MEMBER:
        return _reference(option, value, "@")
    if option.kind is Kind.CHANNEL:
        return _reference(option, value, "#")
    if option.kind is Kind.ROLE:
        role = re.fullmatch(r"<@&(\d+)>|(\d+)|(off)", value)
        if role is None:
            raise CommandError(f"`{option.name}` got `{value}`, expected a role (@Role) or off.")
        return next(g for g in role.groups() if g)
    return value


_REFERENCE = re.compile(r"^<([@#])!?&?([A-Za-z0-9_.-]+)(?:\|[^>]*)?>$")


def _reference(option: Option, value: str, sigil: str) -> str:
    """A platform mention (<@U1>, <@U1|name>, <#C1|name>) or a plain @name / #name / id."""
    match = _REFERENCE.match(value)
    if match:
        if match.group(1) != sigil:
            what = "a member (@name)" if sigil == "@" else "a channel (#name)"
            raise CommandError(f"`{option.name}` got `{value}`, expected {what}.")
        return match.group(2)
    plain = value[1:] if value.startswith(sigil) else value
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", plain):
        what = "a member like @alice" if sigil == "@" else "a channel like #general"
        raise CommandError(f"`{option.name}` got `{value}`, expected {what}.")
    return plain.lower() if not value.startswith("<") and plain != plain.upper() else plain
