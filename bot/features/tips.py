"""Interview tips (/tip, and a line under each drop) and study resources (/resources)."""

from __future__ import annotations

from bot.chat import Card, Field, Reply, Tone
from bot.context import Context
from bot.features.drops import topic_name
from bot.handlers import CommandError, CommandSpec, Feature, Invocation, Kind, Option
from bot.options import TOPIC
from questions.extras import TIP_CATEGORIES, study_resources, tips

CATEGORY_NAMES = {
    "preparation": "Preparing",
    "past-projects": "Explaining past projects",
    "during-the-interview": "During the interview",
    "questions-to-ask": "Questions to ask",
    "what-not-to-say": "What not to say",
    "following-up": "Following up",
}


async def tip_command(ctx: Context, inv: Invocation) -> Reply:
    category = inv.get("category")
    pool = [t for t in tips() if category is None or t.category == category]
    tip = ctx.rng.choice(pool)
    return Reply(
        card=Card(
            title=f"Interview tip · {CATEGORY_NAMES[tip.category]}",
            body=tip.text,
            footer=f"/tip {tip.category} for more like this; categories: "
            + ", ".join(TIP_CATEGORIES),
            tone=Tone.INFO,
        )
    )


async def resources_command(ctx: Context, inv: Invocation) -> Reply:
    topic = inv.get("topic")
    catalogue = study_resources()
    if topic is None:
        fields = tuple(
            Field(topic_name(t), " · ".join(r.title for r in items[:3]))
            for t, items in catalogue.items()
        )
        return Reply(
            card=Card(
                title="Study resources",
                fields=fields,
                footer="/resources TOPIC lists one topic with notes and links.",
                tone=Tone.INFO,
            )
        )
    if topic not in catalogue:
        raise CommandError(f"No resources for `{topic}` yet.")
    fields = tuple(
        Field(
            f"{r.title}" + (f" ({r.by})" if r.by else "") + f" · {r.kind}",
            r.note + (f"\n{r.url}" if r.url else ""),
        )
        for r in catalogue[topic]
    )
    return Reply(
        card=Card(title=f"Study resources · {topic_name(topic)}", fields=fields, tone=Tone.INFO)
    )


FEATURE = Feature(
    "tips",
    commands=(
        CommandSpec(
            "tip",
            "An interview tip",
            tip_command,
            (Option("category", "What the tip is about", Kind.CHOICE, TIP_CATEGORIES),),
            example="/tip questions-to-ask",
        ),
        CommandSpec(
            "resources",
            "Books, courses and datasets to study a topic",
            resources_command,
            (TOPIC,),
            example="/resources nlp",
        ),
    ),
)
