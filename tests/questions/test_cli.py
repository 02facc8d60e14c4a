"""`studybot questions …` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from questions.schema import TOPICS
from tests.conftest import DATA


def _studybot(*args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
    if db is not None:
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{db}"
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_validate_passes_on_the_bank_and_fails_on_a_broken_pack() -> None:
    """validate: exit 0 on the shipped bank; exit 1 with file:line:field on a broken pack."""
    ok = _studybot("questions", "validate")
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.startswith("ok: ")
    bad = _studybot("questions", "validate", str(DATA / "packs" / "bad.yaml"))
    assert bad.returncode == 1
    assert "bad.yaml:19: items[1].difficulty:" in bad.stdout
    assert "bad.yaml:26: items[1].options[1].reason: missing; add this field" in bad.stdout


def test_stats_json_reports_the_counts() -> None:
    """stats --json gives counts per kind, difficulty and topic, and the key spread."""
    result = _studybot("questions", "stats", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["items"] >= 500
    assert report["by_kind"]["choice"] >= 250
    assert len(report["by_topic"]) == len(TOPICS)
    assert len(report["key_positions"]) == 4


def test_import_then_export_a_workspace_pack(tmp_path: Path) -> None:
    """import FILE --workspace W stores the pack; export --workspace W writes it back."""
    db = tmp_path / "cli.db"
    imported = _studybot(
        "questions",
        "import",
        str(DATA / "packs" / "good.csv"),
        "--workspace",
        "console:console",
        db=db,
    )
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 new, updated 0 into console:console" in imported.stdout
    refused = _studybot(
        "questions",
        "import",
        str(DATA / "packs" / "bad.csv"),
        "--workspace",
        "console:console",
        db=db,
    )
    assert refused.returncode == 1
    assert "bad.csv:3: answer:" in refused.stderr
    out = tmp_path / "pack.yaml"
    exported = _studybot(
        "questions", "export", "--workspace", "console:console", "--out", str(out), db=db
    )
    assert exported.returncode == 0, exported.stderr
    assert "acme-csv-median" in out.read_text() and "acme-csv-ok" not in out.read_text()
    stats = _studybot("questions", "stats", "--workspace", "console:console", db=db)
    assert stats.returncode == 0 and "item analysis for console:console" in stats.stdout
