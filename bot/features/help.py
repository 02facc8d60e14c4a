"""/help: what studybot is and how to use each command."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from bot.chat import BotAdded, Card, Field, MemberJoined, Reply, Tone
from bot.context import Context
from bot.handlers import CommandSpec, Feature, Invocation, Kind, Option, Permission

INTRO = (
    "studybot helps this group prepare for machine-learning interviews: question drops in "
    "the channel, personal quizzes, points and a leaderboard."
)
# Footers are plain text on Discord, so no backticks there.
FOOTER = (
    "Options go as name:value; a value that only one option can take may be given alone, "
    "e.g. /quiz nlp hard."
)


def accepted(option: Option) -> str:
    """What an option takes, in words: its choices, its range or its form. /help shows it and
    the parser's errors reuse it, so both describe an option the same way."""
    if option.kind is Kind.CHOICE:
        return "one of " + ", ".join(option.choices)
    if option.kind is Kind.INT:
        low, high = option.minimum, option.maximum
        if low is not None and high is not None:
            return f"a whole number from {low:,} to {high:,}"
        if low is not None:
            return f"a whole number, {low:,} or more"
        return "a whole number" if high is None else f"a whole number, at most {high:,}"
    if option.kind is Kind.MEMBER:
        return "a member, written with @ (`@alice`) or as a mention"
    if option.kind is Kind.CHANNEL:
        return "a channel, written with # (`#general`) or as a mention"
    if option.kind is Kind.ROLE:
        return "a role (pick it on Discord, or give its id), or off"
    if option.kind is Kind.FILE:
        return (
            "a file: attach it on Discord, share it in the channel on Slack, or give its path "
            "in the console"
        )
    return ""


def _option_field(option: Option) -> Field:
    parts = [option.help.rstrip(".") + "."]
    if takes := accepted(option):
        parts.append(takes[0].upper() + takes[1:] + ".")
    if option.rest:
        parts.append("Written without a name; it takes the words no other option takes.")
    elif not option.positional:
        parts.append(f"Always written with its name (`{option.name}:…`).")
    need = "required" if option.required else "optional"
    return Field(f"{option.name} ({need})", " ".join(parts))


def _admins(spec: CommandSpec) -> str:
    return " (admins)" if spec.permission is Permission.ADMIN else ""


def command_card(spec: CommandSpec) -> Card:
    """One command: what it does, its usage, each option with what it accepts, an example."""
    lines = [spec.help.rstrip(".") + "." + (" Admins only." if _admins(spec) else "")]
    lines.append(f"Usage: `{spec.usage}`")
    if spec.example:
        lines.append(f"Example: `{spec.example}`")
    if not spec.options:
        lines.append("It takes no options.")
    return Card(
        title=f"/{spec.name}",
        body="\n".join(lines),
        fields=tuple(_option_field(o) for o in spec.options),
        footer=FOOTER if spec.options else "",
        tone=Tone.INFO,
    )


def group_card(group: str, specs: Sequence[CommandSpec]) -> Card:
    """Every subcommand of a group (`/schedule …`), one line each."""
    lines = [f"`/{s.name}`{_admins(s)}: {s.help}" for s in specs]
    first = specs[0].name
    return Card(
        title=f"/{group}: {len(specs)} commands",
        body="\n".join(lines),
        footer=f"/help {first} shows one of them: its options, what they accept, an example.",
        tone=Tone.INFO,
    )


def _unknown(words: Sequence[str], table: Sequence[CommandSpec]) -> Reply:
    """No such command or group: the closest names, and where to look."""
    name = " ".join(words)
    first = words[0]
    subs = [c.name.split()[1] for c in table if c.name.startswith(f"{first} ")]
    if subs and len(words) > 1:
        close = difflib.get_close_matches(words[1], subs, n=1, cutoff=0.5)
        maybe = f" Did you mean `/help {first} {close[0]}`?" if close else ""
        return Reply.error(
            f"`/{first}` has no `{shown(words[1])}`; it has {', '.join(subs)}.{maybe}"
        )
    topics = [c.name for c in table] + sorted({c.name.split()[0] for c in table})
    close = difflib.get_close_matches(name, topics, n=1, cutoff=0.5)
    maybe = f" Did you mean `/help {close[0]}`?" if close else ""
    return Reply.error(f"There is no command `/{shown(name)}`.{maybe} `/help` lists them all.")


def shown(text: str, limit: int = 40) -> str:
    """What the member typed, shortened and safe between backticks."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("`", "'")


def explain(wanted: str, table: Sequence[CommandSpec]) -> Reply:
    """`/help schedule` (a group), `/help schedule add` (one command), or the closest names.

    Words after a command's name (`/help quiz nlp`) are ignored: the command is shown."""
    words = [w.lstrip("/").lower() for w in wanted.split() if w.lstrip("/")]
    if not words:
        return Reply.error("Name a command after `/help`, e.g. `/help quiz`.")
    for length in (2, 1):
        spec = next((c for c in table if c.name == " ".join(words[:length])), None)
        if spec is not None:
            return Reply(card=command_card(spec))
    group = [c for c in table if c.name.startswith(f"{words[0]} ")]
    if len(words) == 1 and len(group) == 1:
        return Reply(card=command_card(group[0]))
    if len(words) == 1 and group:
        return Reply(card=group_card(words[0], group))
    return _unknown(words, table)


async def show_help(ctx: Context, inv: Invocation) -> Reply:
    wanted = inv.get("command")
    if wanted:
        return explain(wanted, ctx.commands)
    is_admin = inv.member.is_admin
    visible = [c for c in ctx.commands if c.permission is Permission.MEMBER or is_admin]
    lines = [f"`/{c.name}`: {c.help}" for c in visible]
    group, sub = ("schedule", "add") if is_admin else ("mock", "pause")
    footer = (
        f"/help {group} lists a group's commands; /help {group} {sub} explains one, with an "
        f"example. {FOOTER}"
    )
    return Reply(
        card=Card(
            title="studybot", body=INTRO + "\n\n" + "\n".join(lines), footer=footer, tone=Tone.INFO
        )
    )


def welcome_card() -> Card:
    return Card(
        title="Welcome to the study group!",
        body=INTRO
        + "\n\nAnswer the question drops posted here with the buttons (only you see your "
        "choice until the reveal), try `/quiz` for a question of your own, and see "
        "`/leaderboard` for the race. `/help` lists everything.",
        tone=Tone.INFO,
    )


def setup_card() -> Card:
    """Shown to whoever can configure the bot when it joins a workspace or server."""
    return Card(
        title="Thanks for adding studybot",
        body="To get your study group going:\n"
        "1. Run `/drop now` in the channel where the group meets: it posts a question there.\n"
        "2. Members answer with the buttons; run `/reveal` when you want the answer shown.\n"
        "3. `/leaderboard` shows the race, and `/quiz` gives anyone a private question.\n"
        "Admin commands need the platform's admin rights (Discord: Manage Server; Slack: "
        "workspace admin) or a name in STUDYBOT_ADMINS.",
        footer="/help lists every command.",
        tone=Tone.INFO,
    )


async def on_member_joined(ctx: Context, event: MemberJoined) -> Reply | None:
    """A member joined the channel (or used the bot for the first time): one welcome."""
    return Reply(card=welcome_card(), private=True)


async def on_bot_added(ctx: Context, event: BotAdded) -> Reply:
    """Whoever added the bot (privately, when the platform says who) learns how to start."""
    return Reply(card=setup_card(), private=event.member is not None)


FEATURE = Feature(
    "help",
    commands=(
        CommandSpec(
            "help",
            "What studybot does and how to use it",
            show_help,
            (
                Option(
                    "command",
                    "A command or a group to explain, e.g. schedule or schedule add",
                    rest=True,
                ),
            ),
            example="/help schedule add",
        ),
    ),
    events={MemberJoined: on_member_joined, BotAdded: on_bot_added},
)
