"""Mock-interview pairings: opt-in profiles, rounds, private spaces, interviewer-only packets,
check-ins and scored feedback. Who is grouped with whom is bot/matching.py's job."""

from bot.features.mocks.common import FOLLOW_UP_ACTION, ROUND_FORM
from bot.features.mocks.followup import follow_up, on_action, on_feedback, report_command
from bot.features.mocks.profiles import (
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

__all__ = [
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
    "round_now_command",
    "run_round",
    "settings_command",
    "skip_command",
    "status_command",
    "why_command",
]
