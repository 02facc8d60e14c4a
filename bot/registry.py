"""The tables the core dispatches through, built once from the ordered list of features.

Two features claiming one command name, id prefix, timer kind or suggestion source is a
wiring mistake: it fails at start-up with a message naming both, never at a member's press.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from bot.features import FEATURES
from bot.handlers import (
    ActionHandler,
    CommandSpec,
    EventHandler,
    Feature,
    FormHandler,
    JobSource,
    SuggestHandler,
    SyncHook,
    TimerHandler,
    prefix_of,
)

H = TypeVar("H")


class WiringError(Exception):
    """Two features claim the same entry point."""


def _merge(what: str, entries: Iterable[tuple[str, Feature, H]]) -> dict[str, H]:
    table: dict[str, H] = {}
    owner: dict[str, str] = {}
    for key, feature, handler in entries:
        if key in table:
            raise WiringError(
                f"{what} {key!r} is declared by both the {owner[key]!r} and the "
                f"{feature.name!r} features; give one of them another {what}."
            )
        table[key] = handler
        owner[key] = feature.name
    return table


@dataclass(frozen=True)
class Registry:
    features: tuple[Feature, ...]
    commands: tuple[CommandSpec, ...]
    actions: Mapping[str, ActionHandler]
    forms: Mapping[str, FormHandler]
    timers: Mapping[str, TimerHandler]
    suggestions: Mapping[str, SuggestHandler]
    events: Mapping[type, tuple[EventHandler, ...]]
    jobs: tuple[JobSource, ...]
    on_sync: tuple[SyncHook, ...]

    @classmethod
    def of(cls, features: Sequence[Feature]) -> Registry:
        _merge("feature name", ((f.name, f, f) for f in features))
        commands = _merge(
            "command name", ((spec.name, f, spec) for f in features for spec in f.commands)
        )
        events: dict[type, tuple[EventHandler, ...]] = {}
        for feature in features:
            for kind, handler in feature.events.items():
                events[kind] = (*events.get(kind, ()), handler)
        return cls(
            features=tuple(features),
            commands=tuple(commands.values()),
            actions=_merge(
                "button prefix", ((p, f, h) for f in features for p, h in f.actions.items())
            ),
            forms=_merge("form prefix", ((p, f, h) for f in features for p, h in f.forms.items())),
            timers=_merge("timer kind", ((k, f, h) for f in features for k, h in f.timers.items())),
            suggestions=_merge(
                "suggestion source", ((k, f, h) for f in features for k, h in f.suggestions.items())
            ),
            events=events,
            jobs=tuple(source for f in features for source in f.jobs),
            on_sync=tuple(hook for f in features for hook in f.on_sync),
        )

    def find(self, name: str) -> CommandSpec | None:
        return next((c for c in self.commands if c.name == name), None)

    def action(self, action_id: str) -> ActionHandler | None:
        return self.actions.get(prefix_of(action_id))

    def form(self, form_id: str) -> FormHandler | None:
        return self.forms.get(prefix_of(form_id))


@cache
def default() -> Registry:
    """The registry of the shipped features, in /help order."""
    return Registry.of(FEATURES)
