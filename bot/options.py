"""Options that several features' commands share (topic, difficulty, schedule id…)."""

from __future__ import annotations

from dataclasses import replace

from bot.handlers import Kind, Option
from questions.schema import DIFFICULTIES, TOPICS

TOPIC = Option("topic", "Only questions on this topic", Kind.CHOICE, choices=TOPICS)
DIFFICULTY = Option("difficulty", "Only questions of this difficulty", Kind.CHOICE, DIFFICULTIES)
DROP_KIND = Option("kind", "Multiple choice or open answer", Kind.CHOICE, ("choice", "open"))
KIND_MIX = Option(
    "kind", "Multiple choice, open answer, or a mix", Kind.CHOICE, ("choice", "open", "mix")
)
TOPIC_ANY = Option("topic", "Only this topic (any: all topics)", Kind.CHOICE, (*TOPICS, "any"))
DIFFICULTY_ANY = Option(
    "difficulty", "Only this difficulty (any: all)", Kind.CHOICE, (*DIFFICULTIES, "any")
)
WHEN = Option(
    "when", "daily HH:MM, weekdays HH:MM, weekly DAY HH:MM, or cron M H DOM MON DOW", rest=True
)
WHEN_REQUIRED = replace(WHEN, required=True)
CHANNEL = Option("channel", "The channel to post in (default: this one)", Kind.CHANNEL)
TZ = Option(
    "tz", "Time zone, an IANA name like Europe/Berlin (default: the workspace's)", positional=False
)
REVEAL = Option(
    "reveal",
    "Reveal after this long, 5 minutes to 14 days, e.g. 2h (default: before the next drop)",
    positional=False,
)
PERIOD = Option(
    "period",
    "Which board: this week (default), this month, or all time",
    Kind.CHOICE,
    ("week", "month", "all"),
)
QUESTION_ID = Option("id", "The question's id (see /questions list)", required=True)
SCHEDULE_ID = Option(
    "id",
    "The schedule's number (see /schedule list)",
    Kind.INT,
    required=True,
    minimum=1,
    suggest="schedules",
)
