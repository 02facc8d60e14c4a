"""Cards as Block Kit, forms as modals, and Slack payloads as neutral events (pure)."""

from __future__ import annotations

from adapters.slack import blocks, inbound
from bot.chat import Button, Card, Field, Form, FormField, Member, MemberRef, Style, Tone

ALICE = Member(MemberRef("slack", "T1", "U1"), "alice")


def test_card_becomes_sections_buttons_and_context() -> None:
    """Title and body, fields, buttons (with action ids and styles), then the footer."""
    card = Card(
        title="Drop #1",
        body="Pick **one**.",
        fields=(Field("Why", "Because"), Field("A", "1", inline=True), Field("B", "2", True)),
        buttons=(Button("A", "drop:1:0", Style.PRIMARY), Button("Skip", "x", Style.SECONDARY)),
        footer="Only you see your choice.",
    )
    out = blocks.blocks(card)
    assert [b["type"] for b in out] == ["section", "section", "section", "actions", "context"]
    assert out[0]["text"]["text"] == "*Drop #1*\nPick *one*."
    assert out[1]["text"]["text"] == "*Why*\nBecause"
    assert [f["text"] for f in out[2]["fields"]] == ["*A*\n1", "*B*\n2"]
    first, second = out[3]["elements"]
    assert (first["action_id"], first["style"]) == ("drop:1:0", "primary")
    assert "style" not in second
    assert out[4]["elements"][0]["text"] == "Only you see your choice."
    assert blocks.text(card) == "Drop #1"


def test_text_is_escaped_and_errors_are_marked() -> None:
    """<, > and & are escaped for mrkdwn; an error card starts with a warning sign."""
    out = blocks.blocks(Card(title="", body="a < b & c > d", tone=Tone.BAD))
    assert out[0]["text"]["text"] == ":warning: a &lt; b &amp; c &gt; d"


def test_channel_and_user_mentions_stay_links() -> None:
    """The core's <#C1> and <@U1> are kept as Slack mentions; other angle brackets are not."""
    assert blocks.mrkdwn("Post in <#C1> for <@U2>, not <b>") == (
        "Post in <#C1> for <@U2>, not &lt;b&gt;"
    )


def test_commands_are_written_the_slack_way() -> None:
    """`/quiz` reads `/prep quiz`, in code and in prose; other slashes are left alone."""
    assert blocks.mrkdwn("Try `/quiz` or /leaderboard.") == (
        "Try `/prep quiz` or /prep leaderboard."
    )
    assert blocks.mrkdwn("`/prep quiz` and/or https://x.org/quiz") == (
        "`/prep quiz` and/or https://x.org/quiz"
    )


def test_long_text_is_split_to_fit_slack() -> None:
    """Text over 3000 characters is split at line breaks into several sections."""
    body = "\n".join(["x" * 100] * 70)
    out = blocks.blocks(Card(title="Long", body=body))
    assert len(out) == 3 and all(len(b["text"]["text"]) <= 3000 for b in out)
    assert sum(b["text"]["text"].count("x" * 100) for b in out) == 70


def test_form_becomes_a_modal() -> None:
    """A form is a modal whose callback id is the form id, one input per field."""
    form = Form("drop:2:open", "Your answer", (FormField("answer", "Answer", min_length=20),))
    view = blocks.modal(form, metadata='{"channel": "C1"}')
    assert (view["type"], view["callback_id"]) == ("modal", "drop:2:open")
    (field,) = view["blocks"]
    assert field["block_id"] == field["element"]["action_id"] == "answer"
    assert field["element"]["min_length"] == 20 and field["element"]["multiline"] is True
    state = {"answer": {"answer": {"type": "plain_text_input", "value": "text"}}}
    assert blocks.form_values(state) == {"answer": "text"}
    assert "initial_value" not in field["element"]


def test_a_field_with_a_value_opens_with_it() -> None:
    """A draft to edit (mock feedback drafted from notes) is the input's initial value."""
    draft = FormField("improve", "To improve", max_length=10, value="Ask about data size.")
    (field,) = blocks.modal(Form("mock:1:feedback:technical", "F", (draft,)), metadata="{}")[
        "blocks"
    ]
    assert field["element"]["initial_value"] == "Ask about "  # within the field's limit


def test_reaction_names_and_emoji() -> None:
    """Slack's "+1" (any skin tone) is the core's 👍, and back; others keep their name."""
    assert blocks.emoji_from_name("+1::skin-tone-3") == "👍"
    assert blocks.emoji_from_name("thumbsup") == "👍"
    assert blocks.emoji_from_name("brain") == ":brain:"
    assert blocks.emoji_name("👍") == "+1" and blocks.emoji_name(":brain:") == "brain"


def test_slash_command_text_becomes_a_core_command() -> None:
    """`/prep quiz nlp` is `/quiz nlp`; `/prep` alone is `/help`; Slack's escapes undone."""
    body: inbound.SlashCommand = {"team_id": "T1", "channel_id": "C1", "text": "quiz nlp"}
    event = inbound.command(body, ALICE)
    assert event.text == "/quiz nlp" and event.place.channel_id == "C1"
    assert inbound.command({**body, "text": "  "}, ALICE).text == "/help"
    assert inbound.command({**body, "text": "help a &amp; b"}, ALICE).text == "/help a & b"
