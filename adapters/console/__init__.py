"""The console adapter: a terminal chat to try the bot in seconds and to script sessions.

One line at a time from standard input (interactive or piped):
``as NAME`` switch member (``as admin`` is an admin), ``/command options…``, ``press N``
(button N of the latest card you can see), ``react EMOJI [MESSAGE]``, ``quit``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from bot.app import App
from bot.chat import (
    Action,
    Attachment,
    Card,
    Command,
    Form,
    FormSubmit,
    Member,
    MemberRef,
    Place,
    Reaction,
    Reply,
    Tone,
)
from bot.scheduler import ManualDriver
from bot.timespec import SpecError, parse_duration

PLATFORM = "console"
WORKSPACE = "console"
CHANNEL = "general"
COLOURS = {
    Tone.NEUTRAL: "white",
    Tone.QUESTION: "cyan",
    Tone.GOOD: "green",
    Tone.BAD: "red",
    Tone.INFO: "blue",
}
HELP = (
    "Console: `as NAME` switches member (`as admin` is an admin), `/help` lists commands, "
    "`press N` presses button N of the latest card, `react EMOJI [m7]` reacts to the latest "
    "(or a given) message, `quit` leaves."
)
SIM_HELP = (
    " Simulated time: `advance 2h` (or 30m, 7d, 1d2h) runs what falls due, in order; "
    "`advance next` jumps to the next timed job."
)


def _attachments(line: str) -> tuple[Attachment, ...]:
    """The console's file upload: words naming readable pack files go with the command."""
    files = []
    for word in line.split()[1:]:
        path = Path(word).expanduser()
        if path.suffix.lower() in (".yaml", ".yml", ".csv") and path.is_file():
            files.append(Attachment(path.name, path.read_bytes()))
    return tuple(files)


@dataclass
class Shown:
    message_id: str
    place: Place
    card: Card
    visible_to: str | None = None  # a user id for private replies and DMs


def markup(text: str) -> str:
    """Our cards' light markdown (**bold**, `code`) as rich markup."""
    text = re.sub(r"<([#@])([^>|]+)(?:\|[^>]*)?>", r"\1\2", text)  # channel and member links
    text = escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"[bold]\1[/bold]", text)
    return re.sub(r"`([^`]+)`", r"[bold magenta]\1[/bold magenta]", text)


def render(card: Card, *, header: str) -> Panel:
    parts: list[RenderableType] = []
    if card.body:
        parts.append(Text.from_markup(markup(card.body)))
    for f in card.fields:
        parts.append(Text.from_markup(f"[bold]{markup(f.name)}[/bold]"))
        parts.append(Padding(Text.from_markup(markup(f.value)), (0, 0, 0, 2)))
    if card.buttons:
        parts.append(
            Text.from_markup(
                "  ".join(
                    f"[reverse] {i} [/reverse] {escape(b.label)}"
                    for i, b in enumerate(card.buttons, 1)
                )
            )
        )
    if card.footer:
        parts.append(Text.from_markup(f"[dim]{markup(card.footer)}[/dim]"))
    spaced: list[RenderableType] = []
    for part in parts:  # a blank line between blocks, none between a field and its value
        if spaced and not isinstance(part, Padding):
            spaced.append(Text(""))
        spaced.append(part)
    title = f"[bold]{markup(card.title)}[/bold]" if card.title else None
    return Panel(
        Group(*spaced) if spaced else Text(" "),
        title=title,
        title_align="left",
        subtitle=escape(header),
        subtitle_align="right",
        border_style=COLOURS[card.tone],
    )


@dataclass
class ConsolePlatform:
    """The Platform port printed to a terminal; it remembers messages for press/react."""

    console: Console
    files_dir: Path = field(default_factory=lambda: Path("data") / "files")
    shown: list[Shown] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _show(self, place: Place, card: Card, *, visible_to: str | None, header: str) -> str:
        message_id = f"m{next(self._ids)}"
        self.shown.append(Shown(message_id, place, card, visible_to))
        self.console.print(render(card, header=f"{header} · {message_id}"))
        return message_id

    async def post(self, place: Place, card: Card, *, key: str | None = None) -> str:
        # The console never fails after printing, so a key has nothing to deduplicate.
        where = f"#{place.channel_id}" + (f" › thread {place.thread_id}" if place.thread_id else "")
        return self._show(place, card, visible_to=None, header=where)

    async def find_post(self, place: Place, key: str) -> str | None:
        return None  # a terminal cannot be read back; the console runs as one process

    async def edit(self, place: Place, message_id: str, card: Card) -> None:
        for i, shown in enumerate(self.shown):
            if shown.message_id == message_id:
                self.shown[i] = Shown(message_id, shown.place, card, shown.visible_to)
        self.console.print(f"[dim]({message_id} was updated: {escape(card.footer)})[/dim]")

    async def dm(self, member: MemberRef, card: Card) -> str:
        place = Place(PLATFORM, member.workspace_id, f"dm-{member.user_id}")
        return self._show(place, card, visible_to=member.user_id, header=f"DM to {member.user_id}")

    async def open_thread(self, place: Place, message_id: str, name: str) -> Place:
        self.console.print(f"[dim](thread started on {message_id}: {escape(name)})[/dim]")
        return place.in_thread(message_id)

    async def open_group(
        self, members: Sequence[MemberRef], title: str, *, near: Place | None = None
    ) -> Place:
        names = ", ".join(m.user_id for m in members)
        self.console.print(f"[dim](private group for {escape(names)}: {escape(title)})[/dim]")
        return Place(PLATFORM, members[0].workspace_id, "group-" + "-".join(sorted(names)))

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        self.console.print(f"[dim](studybot reacted {emoji} to {message_id})[/dim]")

    async def check_channel(self, place: Place) -> str | None:
        return None  # every console channel is open

    async def award_role(
        self, place: Place, role_id: str, *, add: Sequence[str], remove: Sequence[str]
    ) -> bool:
        return False  # the console has no roles

    def save(self, files: Sequence[Attachment]) -> list[Path]:
        """Files that come with a reply are written next to the database; print where."""
        self.files_dir.mkdir(parents=True, exist_ok=True)
        saved = []
        for file in files:
            path = self.files_dir / file.name
            stem, n = path.stem, 1
            while path.exists():
                n += 1
                path = path.with_name(f"{stem}-{n}{path.suffix}")
            path.write_bytes(file.content)
            saved.append(path)
            self.console.print(f"[dim]📎 {escape(file.name)} saved to {escape(str(path))}[/dim]")
        return saved

    def private(self, place: Place, card: Card, user_id: str) -> str:
        return self._show(place, card, visible_to=user_id, header=f"only {user_id} sees this")

    def latest(self, user_id: str, *, with_buttons: bool = False) -> Shown | None:
        for shown in reversed(self.shown):
            if shown.visible_to not in (None, user_id):
                continue
            if not with_buttons or shown.card.buttons:
                return shown
        return None

    def find(self, message_id: str) -> Shown | None:
        return next((s for s in self.shown if s.message_id == message_id), None)


@dataclass
class ConsoleSession:
    """Reads lines, turns them into neutral events, and shows what the core replies."""

    app: App
    platform: ConsolePlatform
    input: TextIO
    echo: bool = False
    me: Member = field(init=False)
    place: Place = field(default_factory=lambda: Place(PLATFORM, WORKSPACE, CHANNEL))
    sim: ManualDriver | None = None  # set when time is simulated (--sim-clock)

    def __post_init__(self) -> None:
        self.me = self._member("admin")

    @property
    def console(self) -> Console:
        return self.platform.console

    @staticmethod
    def _member(name: str) -> Member:
        user_id = re.sub(r"[^a-z0-9_.-]", "", name.lower()) or "member"
        return Member(MemberRef(PLATFORM, WORKSPACE, user_id), name, is_admin=user_id == "admin")

    async def _readline(self) -> str | None:
        line = await asyncio.get_running_loop().run_in_executor(None, self.input.readline)
        return None if line == "" else line.rstrip("\r\n")

    async def run(self) -> int:
        self.console.print(
            f"[bold]studybot console[/bold] · #{CHANNEL} · you are "
            f"[bold]{self.me.display_name}[/bold]\n{markup(HELP)}"
        )
        while True:
            if not self.echo:
                self.console.print(f"[bold]{escape(self.me.display_name)}>[/bold] ", end="")
            line = await self._readline()
            if line is None:
                self.console.print("[dim]bye[/dim]")
                return 0
            if self.echo and line.strip():
                self.console.print(f"[bold]{escape(self.me.display_name)}>[/bold] {escape(line)}")
            if not await self.handle_line(line.strip()):
                return 0

    async def handle_line(self, line: str) -> bool:
        """Process one line; return False to stop."""
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        if word in ("quit", "exit"):
            return False
        if word == "as":
            if not rest.strip():
                self._say("Say who: `as alice`.")
            else:
                self.me = self._member(rest.strip())
                self._say(
                    f"You are now {self.me.display_name}"
                    + (" (admin)." if self.me.is_admin else ".")
                )
            return True
        if word == "press":
            await self._press(rest.strip())
            return True
        if word == "react":
            await self._react(rest.split())
            return True
        if word == "advance":
            await self._advance(rest.strip())
            return True
        if line.startswith("/"):
            command = Command(self.me, self.place, text=line, files=_attachments(line))
            await self._show(await self.app.handle(command))
            return True
        self._say(HELP)
        return True

    def _now(self) -> str:
        return self.app.ctx.clock.now().strftime("%a %d %b %Y %H:%M UTC")

    async def _advance(self, arg: str) -> None:
        if self.sim is None:
            self._say("Time only moves by hand with `studybot run --sim-clock`.")
            return
        now = self.app.ctx.clock.now()
        try:
            until = self.sim.next_due() if arg == "next" else now + parse_duration(arg)
        except SpecError:
            until = None
        if until is None:
            self._say(
                "Say how far: `advance 2h`, `advance 30m`, `advance 7d`, or `advance next`."
                if arg != "next"
                else "Nothing is scheduled yet."
            )
            return
        ran = await self.sim.advance_to(until)
        self._say(f"⏩ {len(ran)} timed job(s) ran; now {self._now()}.")

    def _say(self, text: str) -> None:
        self.console.print(f"[dim]{markup(text)}[/dim]")

    async def _press(self, arg: str) -> None:
        shown = self.platform.latest(self.me.ref.user_id, with_buttons=True)
        if shown is None:
            self._say("No card with buttons yet. Try `/quiz`.")
            return
        if not arg.isdigit() or not 1 <= int(arg) <= len(shown.card.buttons):
            self._say(f"Press a button by number, 1 to {len(shown.card.buttons)}: `press 1`.")
            return
        button = shown.card.buttons[int(arg) - 1]
        reply = await self.app.handle(
            Action(self.me, shown.place, button.action_id, shown.message_id)
        )
        await self._show(reply)

    async def _react(self, args: list[str]) -> None:
        if not args:
            self._say("React with an emoji: `react 👍`, or to a message: `react 👍 m7`.")
            return
        target = (
            self.platform.find(args[1])
            if len(args) > 1
            else self.platform.latest(self.me.ref.user_id)
        )
        if target is None or target.visible_to not in (None, self.me.ref.user_id):
            self._say("No such message to react to.")
            return
        await self.app.handle(Reaction(self.me, target.place, target.message_id, args[0]))
        self._say(f"{self.me.display_name} reacted {args[0]} to {target.message_id}.")

    async def _show(self, reply: Reply | None) -> None:
        if reply is None:
            return
        if reply.form is not None:
            await self._fill(reply.form)
        elif reply.card is not None:
            if reply.private:
                self.platform.private(self.place, reply.card, self.me.ref.user_id)
            else:
                await self.platform.post(self.place, reply.card)
        if reply.files:
            self.platform.save(reply.files)
        for note in reply.notes:  # the core's one first-contact welcome
            self.platform.private(self.place, note, self.me.ref.user_id)

    async def _fill(self, form: Form) -> None:
        """Ask for each field in turn; end of input cancels the form."""
        self.console.print(f"[bold]{escape(form.title)}[/bold] (form; end of input cancels)")
        values: dict[str, str] = {}
        for f in form.fields:
            self.console.print(f"[bold]{escape(f.label)}:[/bold] ", end="")
            line = await self._readline()
            if line is None:
                self._say("Form cancelled.")
                return
            if self.echo:
                self.console.print(escape(line))
            values[f.id] = line
        await self._show(
            await self.app.handle(FormSubmit(self.me, self.place, form.form_id, values))
        )
