"""The console on a terminal: prompt_toolkit line editing, history and Tab completion.

Imported only when standard input and output are a terminal; piped sessions never load it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import (
    CompleteEvent,
    Completer,
    Completion,
    get_common_complete_suffix,
)
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from adapters.console.complete import Hints, candidates
from adapters.console.lines import MAX_LINE, TooLong
from bot.handlers import CommandSpec

KEEP = 1000  # history entries loaded at start


class TableCompleter(Completer):
    """Completes a console line from the command table and the session's ``hints``."""

    def __init__(self, table: Sequence[CommandSpec], hints: Callable[[], Hints]) -> None:
        self.table = table
        self.hints = hints

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        current, found = candidates(self.table, document.text_before_cursor, self.hints())
        for candidate in found:
            yield Completion(
                candidate.text, start_position=-len(current), display_meta=candidate.meta
            )


def tab_keys(completer: Completer) -> KeyBindings:
    """Tab as in a shell: the one completion, or the part all completions share, is typed at
    once (before the next key is read); otherwise the menu of choices opens, and further
    presses go through it."""
    keys = KeyBindings()

    @keys.add("tab")
    def _tab(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state:
            buffer.complete_next()
            return
        request = CompleteEvent(completion_requested=True)
        found = list(completer.get_completions(buffer.document, request))
        if len(found) == 1:
            buffer.apply_completion(found[0])
        elif common := get_common_complete_suffix(buffer.document, found):
            buffer.insert_text(common)
        elif found:
            buffer.start_completion(select_first=False)

    return keys


class ConsoleHistory(FileHistory):
    """A history file that never stops the console: a file that cannot be read or written
    leaves the history in memory for this session only."""

    def load_history_strings(self) -> Iterable[str]:
        try:
            return list(itertools.islice(super().load_history_strings(), KEEP))
        except OSError:
            return []

    def store_string(self, string: str) -> None:
        with contextlib.suppress(OSError):  # History.append_string keeps it in memory
            super().store_string(string)


def history_path(setting: str) -> Path | None:
    """Where the history file goes: STUDYBOT_CONSOLE_HISTORY if set (``off`` keeps it in
    memory), else ``studybot/console-history`` in the user's data folder."""
    if setting.strip().lower() == "off":
        return None
    if setting.strip():
        return Path(setting).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "studybot" / "console-history"


def open_history(setting: str) -> tuple[History, str]:
    """The history, and a line saying where it is kept."""
    path = history_path(setting)
    if path is None:
        return InMemoryHistory(), "History is kept for this session only."
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return InMemoryHistory(), (
            f"History is kept for this session only: cannot write {path} ({reason}). "
            "Set STUDYBOT_CONSOLE_HISTORY to another file, or to off."
        )
    return ConsoleHistory(str(path)), f"History is kept in {path}."


class PromptLines:
    """Lines typed at a terminal. Ctrl-C raises KeyboardInterrupt (the line is dropped),
    Ctrl-D on an empty line is the end of input. Form answers keep a history of their own,
    in memory only."""

    interactive = True

    def __init__(self, completer: Completer, history: History) -> None:
        self._commands: PromptSession[str] = PromptSession(
            history=history,
            completer=completer,
            complete_while_typing=False,
            auto_suggest=AutoSuggestFromHistory(),
            key_bindings=tab_keys(completer),
        )
        self._fields: PromptSession[str] = PromptSession(history=InMemoryHistory())

    async def read(
        self, prompt: str, *, field: bool = False, placeholder: str = "", default: str = ""
    ) -> str | None:
        session = self._fields if field else self._commands
        try:
            line = await session.prompt_async(
                [("bold", prompt)],
                placeholder=[("fg:ansibrightblack", placeholder)],
                default=default,
            )
        except EOFError:
            return None
        if len(line) > MAX_LINE:
            raise TooLong(len(line))
        return line
