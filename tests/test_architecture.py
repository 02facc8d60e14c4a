"""The structure newcomers rely on: no import cycle, and every entry point wired once."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx as nx
import pytest

from bot.features import FEATURES
from bot.handlers import CommandSpec, Feature
from bot.registry import Registry, WiringError

ROOT = Path(__file__).resolve().parent.parent


def _cycles(package: str) -> list[list[str]]:
    graph = grimp.build_graph(package)
    edges = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(package):
                edges.add_edge(module, imported)
    # A package imports its own submodules to re-export them; that is not a cycle of design.
    return [
        sorted(component)
        for component in nx.strongly_connected_components(edges)
        if len(component) > 1
        and not all(
            a.startswith(b + ".") or b.startswith(a + ".") or a == b
            for a in component
            for b in component
        )
    ]


@pytest.mark.parametrize("package", ["bot", "questions", "adapters"])
def test_no_import_cycle(package: str) -> None:
    """No group of modules imports one another in a circle, not even for type hints."""
    assert _cycles(package) == []


def test_every_entry_point_of_the_shipped_features_is_wired_once() -> None:
    """The shipped list builds: no command name, prefix or timer kind is claimed twice."""
    registry = Registry.of(FEATURES)
    assert [c.name for c in registry.commands][:1] == ["help"]
    assert {"drop", "practice", "me", "mock", "ping"} <= set(registry.actions)
    assert {"drop", "mock", "ping"} <= set(registry.forms)


async def _nothing(*_args: object) -> None:
    return None


def test_a_duplicate_command_fails_at_start_up_naming_both_features() -> None:
    """Two features declaring /quiz is a wiring error, with both names in the message."""
    quiz = next(c for f in FEATURES for c in f.commands if c.name == "quiz")
    copy = Feature("copycat", commands=(CommandSpec("quiz", "again", quiz.handler),))
    with pytest.raises(WiringError, match=r"'quiz'.*'drops'.*'copycat'"):
        Registry.of((*FEATURES, copy))


def test_a_duplicate_button_prefix_fails_at_start_up() -> None:
    """A second feature claiming the `drop` button prefix is refused."""
    thief = Feature("thief", actions={"drop": _nothing})  # type: ignore[dict-item]
    with pytest.raises(WiringError, match="button prefix 'drop'"):
        Registry.of((*FEATURES, thief))


def test_dispatch_knows_no_feature_by_name() -> None:
    """bot/core.py and bot/jobs.py hold no feature's id prefix, timer kind or job id."""
    registry = Registry.of(FEATURES)
    owned = {*registry.actions, *registry.forms, *registry.timers}
    owned |= {"schedule", "reveal", "digest", "mock-notice"}
    for path in (ROOT / "bot" / "core.py", ROOT / "bot" / "jobs.py"):
        source = path.read_text(encoding="utf-8")
        found = [p for p in sorted(owned) if f'"{p}:' in source or f'"{p}"' in source]
        assert found == [], f"{path.name} names {found}"


def test_no_function_in_bot_is_over_60_lines() -> None:
    """Functions read in one screen; the ported blossom algorithm alone is exempt."""
    long = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if "migrations" in path.parts or path.name == "blossom.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    assert long == []
