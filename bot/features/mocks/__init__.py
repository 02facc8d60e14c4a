"""Mock-interview pairings: opt-in profiles, rounds, private spaces, interviewer-only packets,
check-ins and scored feedback. Who is grouped with whom is bot/matching.py's job.

The feature's entry points are declared here (``FEATURE``): its commands, the ``mock``
prefix of its buttons and forms, its follow-up timer and its weekly round jobs.
"""

from bot.chat import FormSubmit, Reply
from bot.context import Context
from bot.features.mocks.drafting import DRAFT_TIMER, draft_later, is_notes_form, on_notes
from bot.features.mocks.followup import (
    FOLLOW_UP_ACTION,
    follow_up,
    on_action,
    on_feedback,
    report_command,
)
from bot.features.mocks.policy import round_job_id
from bot.features.mocks.profiles import (
    ROUND_FORM,
    block_command,
    join_command,
    leave_command,
    on_join_form,
    pause_command,
    skip_command,
    status_command,
    why_command,
)
from bot.features.mocks.rounds import notice, round_now_command, run_round, settings_command
from bot.features.mocks.timing import planned, resume
from bot.handlers import CommandSpec, Feature, Kind, Option, Permission
from bot.options import CHANNEL

# mock:join, mock:<group>:<yes|notyet|no|feedback|write|draft|edit>,
# mock:<group>:feedback:<kind> and mock:<group>:notes:<kind> (forms)
PREFIX = "mock"


async def on_form(ctx: Context, submit: FormSubmit) -> Reply:
    """The opt-in form, or a partner's feedback form."""
    if submit.form_id == ROUND_FORM:
        return await on_join_form(ctx, submit)
    if is_notes_form(submit.form_id):
        return await on_notes(ctx, submit)
    return await on_feedback(ctx, submit)


FEATURE = Feature(
    "mocks",
    commands=(
        CommandSpec(
            "mock join",
            "Opt in to mock interviews (a form: level, focus, times)",
            join_command,
            example="/mock join",
        ),
        CommandSpec(
            "mock leave",
            "Stop taking part in mock interviews",
            leave_command,
            example="/mock leave",
        ),
        CommandSpec(
            "mock pause",
            "No pairing until a date",
            pause_command,
            (Option("until", "The date to resume, YYYY-MM-DD", required=True),),
            example="/mock pause 2027-03-01",
        ),
        CommandSpec(
            "mock skip",
            "Sit out the next round only",
            skip_command,
            example="/mock skip",
        ),
        CommandSpec(
            "mock status",
            "Your profile, the next round and your history",
            status_command,
            example="/mock status",
        ),
        CommandSpec(
            "mock block",
            "Never be matched with this member (private)",
            block_command,
            (Option("member", "Who", Kind.MEMBER, required=True),),
            example="/mock block @bob",
        ),
        CommandSpec(
            "mock why",
            "Why you got your partner",
            why_command,
            example="/mock why",
        ),
        CommandSpec(
            "mock settings",
            "Where and when mock rounds happen",
            settings_command,
            (
                CHANNEL,
                Option("day", "Weekday of the round, e.g. mon", positional=False),
                Option("time", "HH:MM in the workspace's time zone", positional=False),
            ),
            Permission.ADMIN,
            example="/mock settings #mock-interviews day:wed time:18:00",
        ),
        CommandSpec(
            "mock round",
            "Make this round's pairs now",
            round_now_command,
            (Option("when", "now", Kind.CHOICE, ("now",), required=True),),
            Permission.ADMIN,
            example="/mock round now",
        ),
        CommandSpec(
            "mock report",
            "Rounds, pairs, completion, scores, repeats, waiting",
            report_command,
            (),
            Permission.ADMIN,
            example="/mock report",
        ),
    ),
    actions={PREFIX: on_action},
    forms={PREFIX: on_form},
    timers={FOLLOW_UP_ACTION: follow_up, DRAFT_TIMER: draft_later},
    jobs=(planned,),
    on_sync=(resume,),
)

__all__ = [
    "FEATURE",
    "FOLLOW_UP_ACTION",
    "ROUND_FORM",
    "block_command",
    "follow_up",
    "join_command",
    "leave_command",
    "notice",
    "on_action",
    "on_feedback",
    "on_join_form",
    "pause_command",
    "report_command",
    "round_job_id",
    "round_now_command",
    "run_round",
    "settings_command",
    "skip_command",
    "status_command",
    "why_command",
]
