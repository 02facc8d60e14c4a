"""/help: what studybot is and how to use each command."""

from __future__ import annotations

from bot.chat import BotAdded, Card, Field, MemberJoined, Reply, Tone
from bot.context import Context
from bot.handlers import CommandSpec, Feature, Invocation, Option, Permission

INTRO = (
    "studybot helps this group prepare for machine-learning interviews: question drops in "
    "the channel, personal quizzes, points and a leaderboard."
)


async def show_help(ctx: Context, inv: Invocation) -> Reply:
    wanted = inv.get("command")
    is_admin = inv.member.is_admin
    visible = [c for c in ctx.commands if c.permission is Permission.MEMBER or is_admin]
    if wanted:
        name = wanted.lstrip("/").strip().lower()
        spec = next((c for c in ctx.commands if c.name == name), None) or next(
            (c for c in visible if c.name.split()[0] == name), None
        )
        if spec is None:
            return Reply.error(f"No command `/{name}`. Type `/help` for the list.")
        fields = tuple(
            Field(o.name, o.help + (f" ({', '.join(o.choices)})" if o.choices else ""))
            for o in spec.options
        )
        who = " Admins only." if spec.permission is Permission.ADMIN else ""
        return Reply(
            card=Card(
                title=f"`{spec.usage}`", body=spec.help + "." + who, fields=fields, tone=Tone.INFO
            )
        )
    lines = [f"`{c.usage}`: {c.help}" for c in visible]
    footer = "Options go as name:value, e.g. /quiz topic:statistics difficulty:easy."
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
            (Option("command", "A command to explain"),),
        ),
    ),
    events={MemberJoined: on_member_joined, BotAdded: on_bot_added},
)
