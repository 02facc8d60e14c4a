"""Where the console's lines come from: a pipe or file (scripts), or a terminal.

A piped line is read on a daemon thread, so Ctrl-C while the console waits for input ends the
process at once instead of waiting for a read that may never return. Every line is bounded:
one longer than ``MAX_LINE`` characters is refused (and read to its end in pieces, so a huge
line costs neither time nor memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Protocol, TextIO, TypeVar

from rich.console import Console
from rich.markup import escape

MAX_LINE = 4000
_CHUNK = 64 * 1024
T = TypeVar("T")


class TooLong(Exception):
    """A line longer than ``MAX_LINE``; ``length`` is how long it was."""

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    @property
    def message(self) -> str:
        return (
            f"That line has {self.length:,} characters; the console reads at most "
            f"{MAX_LINE:,} per line, so nothing was done. Shorten it (a question pack goes by "
            "its path: `/questions import ./pack.yaml`)."
        )


class LineReader(Protocol):
    """One line at a time. ``read`` returns None at the end of input, raises TooLong for an
    over-long line and KeyboardInterrupt when the member cancels the line (Ctrl-C); a
    ``field`` is a form's, whose ``placeholder`` a terminal shows greyed until one types; a
    ``default`` (a draft) is the line to edit in a terminal, and what an empty line keeps
    elsewhere."""

    @property
    def interactive(self) -> bool: ...

    async def read(
        self, prompt: str, *, field: bool = False, placeholder: str = "", default: str = ""
    ) -> str | None: ...


def read_bounded(stream: TextIO, limit: int = MAX_LINE) -> str | None:
    """The next line without its line break; None at the end; TooLong past ``limit``."""
    line = stream.readline(limit + 1)
    if line == "":
        return None
    if len(line) > limit and not line.endswith("\n"):
        length = len(line)
        while True:  # skip the rest of the line, a piece at a time
            piece = stream.readline(_CHUNK)
            length += len(piece.rstrip("\r\n"))
            if piece == "" or piece.endswith("\n"):
                break
        raise TooLong(length)
    line = line.rstrip("\r\n")
    if len(line) > limit:
        raise TooLong(len(line))
    return line


def _set_result(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _set_error(future: asyncio.Future[T], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """Run blocking ``work`` on a daemon thread: a process that is stopping never waits
    for it (the default executor's threads are waited for at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        settle: Callable[[], None]
        try:
            settle = functools.partial(_set_result, future, work())
        except Exception as exc:  # raised in the waiting coroutine instead
            settle = functools.partial(_set_error, future, exc)
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(settle)

    threading.Thread(target=run, name="console-input", daemon=True).start()
    return await future


class PipedLines:
    """Lines from a stream. With ``echo`` (a script) each line is shown after its prompt, as
    if typed; otherwise the prompt is printed and the terminal shows what is typed."""

    interactive = False

    def __init__(self, stream: TextIO, console: Console, *, echo: bool) -> None:
        self.stream = stream
        self.console = console
        self.echo = echo

    async def read(
        self, prompt: str, *, field: bool = False, placeholder: str = "", default: str = ""
    ) -> str | None:
        shown = f"[bold]{escape(prompt)}[/bold]"
        if default:
            self.console.print(f"[dim](an empty line keeps: {escape(default)})[/dim]")
        if field or not self.echo:
            self.console.print(shown, end="")
        try:
            line = await in_daemon_thread(lambda: read_bounded(self.stream))
        except TooLong as exc:
            if self.echo:
                head = "" if field else shown
                self.console.print(f"{head}[dim]<a line of {exc.length:,} characters>[/dim]")
            raise
        if line == "" and default:
            line = default
        if self.echo and line is not None and (field or line.strip()):
            self.console.print(escape(line) if field else f"{shown}{escape(line)}")
        return line
