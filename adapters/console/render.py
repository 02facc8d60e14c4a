"""How the console draws a card: a rich panel, code blocks as code, titles cut at a word."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from bot.chat import Card, Tone

COLOURS = {
    Tone.NEUTRAL: "white",
    Tone.QUESTION: "cyan",
    Tone.GOOD: "green",
    Tone.BAD: "red",
    Tone.INFO: "blue",
}
ELLIPSIS = "…"
# A fenced block: ```lang, its lines, and the closing ``` (or the end of the text).
_FENCE = re.compile(
    r"^[ \t]*```[ \t]*([\w+#.-]*)[ \t]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.M | re.S
)
# Room the panel's border takes around a title: "╭─ " before it and " ─╮" after it.
TITLE_MARGIN = 6


def markup(text: str) -> str:
    """Our cards' light markdown (**bold**, `code`) as rich markup."""
    text = re.sub(r"<([#@])([^>|]+)(?:\|[^>]*)?>", r"\1\2", text)  # channel and member links
    text = escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"[bold]\1[/bold]", text)
    return re.sub(r"`([^`\n]+)`", r"[bold magenta]\1[/bold magenta]", text)


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` terminal cells, cut after a whole word with an ellipsis.

    Only a single word longer than the whole limit is cut inside itself (there is no word
    boundary to cut at)."""
    text = " ".join(text.split())
    if cell_len(text) <= limit:
        return text
    room = max(limit - cell_len(ELLIPSIS), 1)
    words, kept = text.split(" "), ""
    for word in words:
        longer = f"{kept} {word}" if kept else word
        if cell_len(longer) > room:
            break
        kept = longer
    if not kept:  # one word wider than the limit: cut it by cells
        while cell_len(text) > room:
            text = text[:-1]
        kept = text
    return kept.rstrip(" ,;:.-–—·") + ELLIPSIS


def blocks(text: str) -> list[RenderableType]:
    """Text with fenced code blocks: prose as marked-up text, each code block as code."""
    from rich.syntax import Syntax  # with Pygments: imported when a code block first shows

    parts: list[RenderableType] = []
    start = 0
    for fence in _FENCE.finditer(text):
        prose = text[start : fence.start()].strip("\n")
        if prose.strip():
            parts.append(Text.from_markup(markup(prose)))
        code = fence.group(2).rstrip("\n")
        parts.append(
            Padding(
                Syntax(
                    code,
                    fence.group(1) or "text",
                    theme="ansi_dark",
                    background_color="default",
                    word_wrap=True,
                ),
                (0, 0, 0, 2),
            )
        )
        start = fence.end()
    rest = text[start:].strip("\n")
    if rest.strip():
        parts.append(Text.from_markup(markup(rest)))
    return parts


def _spaced(sections: list[tuple[RenderableType, bool]]) -> list[RenderableType]:
    """A blank line between blocks; none before a block marked as following on."""
    spaced: list[RenderableType] = []
    for part, follows_on in sections:
        if spaced and not follows_on:
            spaced.append(Text(""))
        spaced.append(part)
    return spaced


def render(card: Card, *, header: str, width: int = 80) -> Panel:
    """The card as a panel ``width`` cells wide at most; ``header`` goes on its lower border."""
    sections: list[tuple[RenderableType, bool]] = []
    for i, part in enumerate(blocks(card.body)):
        sections.append((part, i > 0))  # a code block sits right under its prose
    for f in card.fields:
        sections.append((Text.from_markup(f"[bold]{markup(f.name)}[/bold]"), False))
        for part in blocks(f.value):
            sections.append((Padding(part, (0, 0, 0, 2)), True))
    if card.buttons:
        labels = "  ".join(
            f"[reverse] {i} [/reverse] {escape(b.label)}" for i, b in enumerate(card.buttons, 1)
        )
        sections.append((Text.from_markup(labels), False))
    if card.footer:
        sections.append((Text.from_markup(f"[dim]{markup(card.footer)}[/dim]"), False))
    spaced = _spaced(sections)
    title = None
    if card.title:
        title = f"[bold]{markup(shorten(card.title, max(width - TITLE_MARGIN, 10)))}[/bold]"
    return Panel(
        Group(*spaced) if spaced else Text(" "),
        title=title,
        title_align="left",
        subtitle=escape(header),
        subtitle_align="right",
        border_style=COLOURS[card.tone],
    )
