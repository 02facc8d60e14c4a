"""Every feature of studybot, in the order /help lists their commands.

Each feature declares its entry points (commands, button and form prefixes, timers, jobs,
events) in a ``FEATURE`` beside its handlers; this list is the only place they are wired.
To add a feature, write its module or package and add its ``FEATURE`` here.
"""

from bot.features import (
    anki,
    answering,
    away,
    confidence,
    digest,
    drops,
    help,
    hints,
    leaderboard,
    mocks,
    packs,
    ping,
    practice,
    privacy,
    progress,
    reveal,
    schedules,
    seasons,
    selfrate,
    settings,
    tips,
    votes,
)
from bot.features.plan import command as plan
from bot.handlers import Feature

FEATURES: tuple[Feature, ...] = (
    help.FEATURE,
    drops.FEATURE,
    answering.FEATURE,
    hints.FEATURE,
    confidence.FEATURE,
    reveal.FEATURE,
    selfrate.FEATURE,
    votes.FEATURE,
    schedules.FEATURE,
    settings.FEATURE,
    packs.FEATURE,
    tips.FEATURE,
    leaderboard.FEATURE,
    seasons.FEATURE,
    progress.FEATURE,
    practice.FEATURE,
    away.FEATURE,
    plan.FEATURE,
    mocks.FEATURE,
    privacy.FEATURE,
    anki.FEATURE,
    digest.FEATURE,
    ping.FEATURE,
)
