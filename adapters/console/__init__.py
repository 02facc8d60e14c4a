"""The console adapter: a terminal chat to try the bot in seconds and to script sessions.

One line at a time from standard input, piped (a script, echoed as it runs) or typed at a
terminal (``adapters.console.prompt``: editing, history, Tab completion): ``/command options…``,
``as NAME`` (switch member; only ``as admin`` is an admin), ``press N [MESSAGE]`` (a button of
the newest card with buttons, or of that card), ``react EMOJI [MESSAGE]`` (without a message:
a vote for the newest answer one can vote on), ``advance 2h`` (simulated time), ``quit``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from adapters.console.complete import Hints, resolve
from adapters.console.lines import MAX_LINE, LineReader, PipedLines, TooLong
from adapters.console.render import markup, render, shorten
from bot.app import App
from bot.chat import (
    Action,
    Attachment,
    Card,
    Command,
    Form,
    FormField,
    FormSubmit,
    Member,
    MemberRef,
    Place,
    Reaction,
    Reply,
)
from bot.handlers import Kind
from bot.scheduler import ManualDriver

PLATFORM = "console"
WORKSPACE = "console"
CHANNEL = "general"
ADMIN = "admin"  # the console's one admin identity: `as admin`, exactly
MAX_NAME = 32
NAME = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_NAME}}}")
HELP = (
    "Console: `as NAME` switches member (`as admin` is an admin), `/help` lists commands, "
    "`press N` presses button N of the newest card with buttons (`press N m7`: of card m7), "
    "`react 👍` votes for the newest answer you can vote on (`react EMOJI m7`: reacts to "
    "message m7), `quit` leaves."
)
SIM_HELP = (
    " Simulated time: `advance 2h` (or 30m, 7d, 1d2h; 1 minute to 31 days) runs what falls "
    "due, in order; `advance next` jumps to the next timed job."
)
KEYS = (
    "Tab completes commands, options and values; ↑ and ↓ go through earlier lines; Ctrl-C "
    "drops the line; Ctrl-D or `quit` leaves."
)
ADVANCE_MAX_DAYS = 31
_STEP = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?")
PACK_SUFFIXES = (".yaml", ".yml", ".csv")
MAX_PACK_BYTES = 16 * 1024 * 1024  # read no more than this into memory; the core has its own limit


def member(name: str) -> Member:
    """The console member called ``name`` (a NAME): ids are the lower-cased name, and only
    the ADMIN identity itself is an admin."""
    user_id = name.lower()
    return Member(MemberRef(PLATFORM, WORKSPACE, user_id), name, is_admin=user_id == ADMIN)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def describe(card: Card) -> str:
    """A card named in a sentence: its title (or first words), cut at a word."""
    return f"“{shorten(card.title or card.body or 'a card', 60)}”"


def advance_step(text: str) -> timedelta:
    """How far ``advance`` moves time: ``30m``, ``2h``, ``1d2h``…, 1 minute to 31 days.
    ValueError says what was wrong and the range."""
    allowed = (
        f"advance by 1 minute to {ADVANCE_MAX_DAYS} days at a time, in days, hours and "
        "minutes (`advance 30m`, `advance 2h`, `advance 1d2h`), or jump with `advance next`"
    )
    match = _STEP.fullmatch(text.replace(" ", "").lower())
    if not text.strip() or match is None:
        raise ValueError(f"`{shorten(text, 40)}` is not a time step: {allowed}.")
    if any(len(group) > 9 for group in match.groups() if group):
        raise ValueError(f"`{shorten(text, 40)}` is too far: {allowed}.")
    days, hours, minutes = (int(group or 0) for group in match.groups())
    total = (days * 24 + hours) * 60 + minutes
    if total < 1:
        raise ValueError(f"`{text}` does not move time: {allowed}.")
    if total > ADVANCE_MAX_DAYS * 24 * 60:
        raise ValueError(f"`{shorten(text, 40)}` is too far: {allowed}; repeat it to go further.")
    return timedelta(minutes=total)


def is_emoji(text: str) -> bool:
    """An emoji as members type one: a symbol such as 👍 (no letters or digits), or a name
    in colons such as :thumbsup:."""
    if re.fullmatch(r":[a-z0-9_+-]{1,30}:", text):
        return True
    return 0 < len(text) <= 16 and not re.search(r"[A-Za-z0-9]", text)


class PackPathError(Exception):
    """A path given for a pack that cannot be read; the message says why and what works."""


def read_pack(text: str) -> Attachment:
    """The file at ``text`` as an upload, if it is a readable pack (.yaml, .yml or .csv)."""
    if not text.lower().endswith(PACK_SUFFIXES):
        raise PackPathError(
            f"`{shorten(text, 240)}` is not a pack: packs are .yaml, .yml or .csv files, "
            "e.g. `/questions import ./pack.yaml`."
        )
    try:
        path = Path(text).expanduser()
        if not path.is_file():
            raise PackPathError(f"`{shorten(text, 240)}`: no such file. Check the path.")
        if path.stat().st_size > MAX_PACK_BYTES:
            raise PackPathError(
                f"`{shorten(text, 240)}` is larger than {MAX_PACK_BYTES // 1024 // 1024} MB; "
                "split it into smaller packs."
            )
        return Attachment(path.name, path.read_bytes())
    except (OSError, RuntimeError) as exc:  # unreadable, a name too long, an unknown ~user
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PackPathError(f"Cannot read `{shorten(text, 240)}`: {reason}.") from None


def _again(interactive: bool) -> str:
    cancel = "Ctrl-C" if interactive else "the end of input"
    return f"Type it again ({cancel} cancels the form)."


def too_long(f: FormField, length: int, *, interactive: bool) -> str:
    limit = f"“{f.label}” takes at most {f.max_length:,} characters; that was {length:,}."
    return f"{limit} {_again(interactive)}"


def field_problem(f: FormField, value: str, *, interactive: bool) -> str | None:
    """What is wrong with an answer to a form field, as a platform's form would check it;
    None if it fits."""
    again = _again(interactive)
    if len(value) > f.max_length:
        return too_long(f, len(value), interactive=interactive)
    if f.required and not value.strip():
        return f"“{f.label}” needs an answer. {again}"
    if value.strip() and len(value.strip()) < f.min_length:
        return f"“{f.label}” needs at least {f.min_length} characters. {again}"
    return None


@dataclass
class Shown:
    message_id: str
    place: Place
    card: Card
    visible_to: str | None = None  # a user id for private replies and DMs


@dataclass
class ConsolePlatform:
    """The Platform port printed to a terminal; it remembers messages for press/react."""

    console: Console
    files_dir: Path = field(default_factory=lambda: Path("data") / "files")
    shown: list[Shown] = field(default_factory=list)
    # Messages studybot reacted to itself: the open answers of a reveal, seeded with a vote.
    seeded: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _show(self, place: Place, card: Card, *, visible_to: str | None, header: str) -> str:
        message_id = f"m{next(self._ids)}"
        self.shown.append(Shown(message_id, place, card, visible_to))
        panel = render(card, header=f"{header} · {message_id}", width=self.console.width)
        self.console.print(panel)
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
        ids = [m.user_id for m in members]
        channel = "group-" + "-".join(sorted(ids))
        self.console.print(
            f"[dim](private group for {escape(', '.join(ids))}: {escape(title)}, "
            f"channel #{escape(channel)})[/dim]"
        )
        return Place(PLATFORM, members[0].workspace_id, channel)

    async def add_reaction(self, place: Place, message_id: str, emoji: str) -> None:
        self.seeded.add(message_id)
        self.console.print(f"[dim](studybot reacted {escape(emoji)} to {message_id})[/dim]")

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

    def visible(self, user_id: str) -> list[Shown]:
        """The messages ``user_id`` can see, newest first."""
        return [s for s in reversed(self.shown) if s.visible_to in (None, user_id)]

    def with_buttons(self, user_id: str) -> list[Shown]:
        """The cards with buttons ``user_id`` can see, newest first."""
        return [s for s in self.visible(user_id) if s.card.buttons]

    def answers_to_vote_on(self, member: Member) -> list[Shown]:
        """Open answers (studybot seeds each with its vote emoji) ``member`` can vote on,
        newest first: not their own, whose card is titled with their mention."""
        mine = re.compile(rf"{re.escape(member.mention)}(?![\w.-])", re.IGNORECASE)
        return [
            s
            for s in self.visible(member.ref.user_id)
            if s.message_id in self.seeded and not mine.search(s.card.title)
        ]

    def find(self, message_id: str, user_id: str) -> Shown | None:
        """Message ``message_id`` if ``user_id`` can see it."""
        return next((s for s in self.visible(user_id) if s.message_id == message_id), None)


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
    lines: LineReader | None = None  # default: ``input`` line by line (a terminal: prompt.py)
    names: list[str] = field(default_factory=lambda: [ADMIN])  # who this session has been
    note: str = ""  # said after the greeting, e.g. where the history is kept

    def __post_init__(self) -> None:
        self.me = member(ADMIN)

    @property
    def console(self) -> Console:
        return self.platform.console

    @property
    def reader(self) -> LineReader:
        if self.lines is None:
            self.lines = PipedLines(self.input, self.console, echo=self.echo)
        return self.lines

    def _intro(self) -> None:
        text = HELP + (SIM_HELP if self.sim is not None else "")
        if self.reader.interactive:
            text += " " + KEYS
        self.console.print(
            f"[bold]studybot console[/bold] · #{CHANNEL} · you are "
            f"[bold]{escape(self.me.display_name)}[/bold]\n{markup(text)}"
        )
        if self.note:
            self._say(self.note)

    async def run(self) -> int:
        self._intro()
        while True:
            try:
                line = await self.reader.read(f"{self.me.display_name}> ")
            except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the line, ask again
                continue
            except TooLong as exc:
                self._say(exc.message)
                continue
            if line is None or not await self.handle_line(line.strip()):
                self.console.print("[dim]bye[/dim]")
                return 0

    async def handle_line(self, line: str) -> bool:
        """Process one line; return False to stop."""
        if len(line) > MAX_LINE:
            self._say(TooLong(len(line)).message)
            return True
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        verb = word.lower()
        if verb in ("quit", "exit"):
            return False
        if verb == "as":
            self._become(rest.strip())
        elif verb == "press":
            await self._press(rest.split())
        elif verb == "react":
            await self._react(rest.split())
        elif verb == "advance":
            await self._advance(rest.strip())
        elif line.startswith("/"):
            await self._command(line)
        else:
            self._say(HELP)
        return True

    def hints(self) -> Hints:
        """What Tab can offer for the console's verbs, from what is on screen now."""
        user_id = self.me.ref.user_id
        cards = self.platform.with_buttons(user_id)
        buttons = cards[0].card.buttons if cards else ()
        return Hints(
            names=tuple(self.names),
            buttons=tuple((str(i), b.label) for i, b in enumerate(buttons, 1)),
            cards=tuple((s.message_id, describe(s.card)) for s in cards),
            messages=tuple(
                (s.message_id, describe(s.card)) for s in self.platform.visible(user_id)
            ),
        )

    def _become(self, name: str) -> None:
        if not name:
            self._say("Say who: `as alice`.")
            return
        if not NAME.fullmatch(name):
            self._say(
                f"`{name}` cannot be a member's name here: use one word of letters, digits, "
                f"`_`, `.` or `-` (at most {MAX_NAME} characters), e.g. `as alice`. "
                f"Only `as {ADMIN}` is an admin."
            )
            return
        self.me = member(name)
        if name.lower() not in (n.lower() for n in self.names):
            self.names.append(name)
        admin = " (admin)." if self.me.is_admin else "."
        self._say(f"You are now {self.me.display_name}{admin}")

    async def _command(self, line: str) -> None:
        files, problem = self._files(line)
        if problem:
            self._say(problem)
            return
        command = Command(self.me, self.place, text=line, files=files)
        await self._show(await self.app.handle(command))

    def _files(self, line: str) -> tuple[tuple[Attachment, ...], str | None]:
        """The console's upload: for a command taking a file, the paths named after it."""
        words = line.split()
        spec, used = resolve(self.app.ctx.commands, words)
        if spec is None or not any(o.kind is Kind.FILE for o in spec.options):
            return (), None
        files = []
        for word in words[used:]:
            path_text = word.removeprefix("file:")
            try:
                files.append(read_pack(path_text))
            except PackPathError as exc:
                return (), str(exc)
        return tuple(files), None

    def _now(self) -> str:
        return self.app.ctx.clock.now().strftime("%a %d %b %Y %H:%M UTC")

    async def _advance(self, arg: str) -> None:
        if self.sim is None:
            self._say("Time only moves by hand with `studybot run --sim-clock`.")
            return
        if arg.lower() == "next":
            until = self.sim.next_due()
            if until is None:
                self._say("Nothing is scheduled yet.")
                return
        else:
            try:
                until = self.app.ctx.clock.now() + advance_step(arg)
            except ValueError as exc:
                self._say(str(exc))
                return
        ran = await self.sim.advance_to(until)
        self._say(f"⏩ {plural(len(ran), 'timed job')} ran; now {self._now()}.")

    def _say(self, text: str) -> None:
        self.console.print(f"[dim]{markup(text)}[/dim]")

    async def _press(self, args: list[str]) -> None:
        cards = self.platform.with_buttons(self.me.ref.user_id)
        if not cards:
            self._say("No card with buttons yet. Try `/quiz`.")
            return
        if len(args) > 2:
            self._say("Press one button: `press 1`, or on another card: `press 1 m7`.")
            return
        shown = cards[0]
        if len(args) == 2:
            found = next((s for s in cards if s.message_id == args[1].lower()), None)
            if found is None:
                ids = ", ".join(s.message_id for s in cards[:10])
                self._say(f"`{args[1]}` is not a card with buttons you can see; those are {ids}.")
                return
            shown = found
        count = len(shown.card.buttons)
        number = args[0] if args else ""
        if not re.fullmatch(r"[0-9]{1,4}", number) or not 1 <= int(number) <= count:
            which = "its one button" if count == 1 else f"a button by number, 1 to {count}"
            self._say(f"Press {which}: `press 1` (on {shown.message_id}, {describe(shown.card)}).")
            return
        button = shown.card.buttons[int(number) - 1]
        note = f"You pressed {number} ({button.label}) on {shown.message_id}, "
        note += f"{describe(shown.card)}."
        if len(args) == 1 and len(cards) > 1:
            note += (
                f" That is the newest of {len(cards)} cards with buttons; "
                f"`press {number} {cards[1].message_id}` presses the one before it."
            )
        self._say(note)
        reply = await self.app.handle(
            Action(self.me, shown.place, button.action_id, shown.message_id)
        )
        await self._show(reply)

    async def _react(self, args: list[str]) -> None:
        if not args or len(args) > 2:
            self._say(
                "React with an emoji: `react 👍` votes for the newest answer you can vote on; "
                "`react 👍 m7` reacts to message m7 (each card shows its id)."
            )
            return
        emoji = args[0]
        if not is_emoji(emoji):
            self._say(f"`{emoji}` is not an emoji. React with one: `react 👍` or `react 👎 m7`.")
            return
        target = self._react_target(args[1] if len(args) > 1 else None)
        if target is None:
            return
        await self.app.handle(Reaction(self.me, target.place, target.message_id, emoji))
        self._say(
            f"{self.me.display_name} reacted {emoji} to {target.message_id}, "
            f"{describe(target.card)}."
        )

    def _react_target(self, message_id: str | None) -> Shown | None:
        user_id = self.me.ref.user_id
        if message_id is not None:
            target = self.platform.find(message_id.lower(), user_id)
            if target is None:
                self._say(
                    f"There is no message `{message_id}` that you can see. Each card shows its "
                    "id at the bottom right, e.g. `react 👍 m7`."
                )
            return target
        answers = self.platform.answers_to_vote_on(self.me)
        if answers:
            return answers[0]
        seeded = [s for s in self.platform.visible(user_id) if s.message_id in self.platform.seeded]
        why = (
            "The only answers here are your own, and a vote for yourself does not count."
            if seeded
            else "There is no answer you can vote on yet (a reveal posts the open answers)."
        )
        self._say(f"{why} To react to another message, give its id: `react 👍 m7`.")
        return None

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
        """Ask for each field in turn, as a platform's form would check it; the end of input
        or Ctrl-C cancels the form."""
        self.console.print(
            f"[bold]{escape(form.title)}[/bold] (form; "
            + ("Ctrl-C cancels)" if self.reader.interactive else "end of input cancels)")
        )
        values: dict[str, str] = {}
        for f in form.fields:
            value = await self._field(f)
            if value is None:
                self._say("Form cancelled.")
                return
            values[f.id] = value
        await self._show(
            await self.app.handle(FormSubmit(self.me, self.place, form.form_id, values))
        )

    async def _field(self, f: FormField) -> str | None:
        """One field's answer, asked again until it fits; None when cancelled."""
        while True:
            try:
                value = await self.reader.read(
                    f"{f.label}: ", field=True, placeholder=f.placeholder, default=f.value
                )
            except KeyboardInterrupt:
                return None
            except TooLong as exc:
                self._say(too_long(f, exc.length, interactive=self.reader.interactive))
                continue
            if value is None:
                return None
            problem = field_problem(f, value, interactive=self.reader.interactive)
            if problem is None:
                return value
            self._say(problem)
