"""Where the question files are, their digest, and the problems found in them: what start-up
needs to tell whether the shipped bank changed, without YAML or the schema's models
(questions/loader.py parses and validates, when something did change).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

BANK_DIR = Path(str(resources.files("questions") / "bank"))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a question file, located precisely enough to fix."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class BankError(Exception):
    """Raised with every problem found, so a file is fixed in one pass."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def bank_fingerprint(directory: Path = BANK_DIR) -> str:
    """A digest of the bank's files and of the schema that reads them (cheap: no parsing)."""
    digest = hashlib.sha256()
    for path in [*bank_files(directory), Path(__file__).with_name("schema.py")]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def bank_files(directory: Path = BANK_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))
