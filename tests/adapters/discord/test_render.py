"""Cards, buttons and forms as Discord embeds, views and modals (pure functions)."""

from __future__ import annotations

import discord

from adapters.discord import render
from bot.chat import Attachment, Button, Card, Field, Form, FormField, Style, Tone


def test_a_card_becomes_an_embed_with_its_tone_as_colour() -> None:
    """Title, body, fields and footer map one to one; the light markdown passes through."""
    card = Card(
        title="Drop #1",
        body="**Bold** and `code`\n• a bullet",
        fields=(Field("A", "why", inline=True),),
        footer="Answer with the buttons",
        tone=Tone.GOOD,
    )
    embed = render.embed(card)
    assert (embed.title, embed.description) == ("Drop #1", "**Bold** and `code`\n• a bullet")
    assert [(f.name, f.value, f.inline) for f in embed.fields] == [("A", "why", True)]
    assert embed.footer.text == "Answer with the buttons"
    assert embed.colour == discord.Colour.green()


def test_an_oversized_card_is_clipped_to_discords_limits() -> None:
    """Fields of at most 1024 characters, at most 25 of them, and 6000 characters in all."""
    field = Field("n" * 300, "v" * 2000)
    embed = render.embed(Card(title="t" * 300, body="b" * 5000, fields=(field,) * 30))
    assert len(embed.title or "") == 256
    assert all(len(f.value or "") <= 1024 and len(f.name or "") <= 256 for f in embed.fields)
    assert len(embed) <= 6000 and len(embed.fields) == 4
    short = render.embed(Card(title="t", body="b" * 5000, fields=(Field("n", "v"),) * 30))
    assert len(short.fields) == 25 and len(short.description or "") == 4096
    full = render.embed(Card(title="t", body="b" * 2000, fields=(Field("n", "v" * 1024),) * 6))
    assert len(full.fields) == 5 and len(full) == 6000  # the body shrank to what was left


def test_empty_field_values_are_allowed_through() -> None:
    """Discord refuses empty names and values, so they become a zero-width space."""
    embed = render.embed(Card(title="", fields=(Field("", ""),)))
    assert (embed.fields[0].name, embed.fields[0].value) == (render.EMPTY, render.EMPTY)


async def test_buttons_carry_the_core_action_id_and_are_not_kept_in_memory() -> None:
    """custom_id is the stable action id; the view is stopped so discord.py stores nothing."""
    view = render.view((Button("A", "drop:1:0", Style.PRIMARY), Button("B", "drop:1:1")))
    rows = view.to_components()
    assert [(b["label"], b["custom_id"], b["style"]) for b in rows[0]["components"]] == [
        ("A", "drop:1:0", discord.ButtonStyle.primary.value),
        ("B", "drop:1:1", discord.ButtonStyle.secondary.value),
    ]
    assert view.is_finished()


async def test_a_form_becomes_a_modal_and_its_values_are_read_back() -> None:
    """Fields become text inputs; submitted rows (or labels) give values by custom_id."""
    form = Form(
        "drop:3:open",
        "Your answer",
        (FormField("answer", "Your answer", min_length=20, max_length=1500, placeholder="Why"),),
    )
    modal = render.modal(form)
    payload = modal.to_dict()
    assert payload["custom_id"] == "drop:3:open" and payload["title"] == "Your answer"
    (text_input,) = payload["components"][0]["components"]
    assert (text_input["custom_id"], text_input["style"], text_input["min_length"]) == (
        "answer",
        discord.TextStyle.paragraph.value,
        20,
    )
    assert "value" not in text_input
    drafted = render.modal(Form("f", "F", (FormField("improve", "To improve", value="Draft"),)))
    (prefilled,) = drafted.to_dict()["components"][0]["components"]
    assert prefilled["value"] == "Draft"  # the draft to edit
    rows = [{"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": "text"}]}]
    labels = [{"type": 18, "component": {"type": 4, "custom_id": "answer", "value": "text"}}]
    assert render.form_values(rows) == render.form_values(labels) == {"answer": "text"}


def test_files_of_a_reply_go_with_the_card() -> None:
    """Reply.files become uploads next to the embed."""
    kwargs = render.message(Card(title="Export"), files=(Attachment("pack.yaml", b"items: []"),))
    (upload,) = kwargs["files"]
    assert upload.filename == "pack.yaml" and upload.fp.read() == b"items: []"
