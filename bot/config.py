"""Settings from environment variables, optionally from a TOML file named by STUDYBOT_CONFIG."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/studybot.db"


def env(name: str) -> AliasChoices:
    """Read a setting from ``NAME`` (or ``name``) in the environment or the config file."""
    return AliasChoices(name, name.lower())


# A configured admin is a platform user id: letters, digits, ".", "_" and "-" (Slack U0123ABC,
# Discord 123456789012345678, the console's lower-case names). Anything else, a space, an @,
# a mention, is taken for a display name and refused: names can be changed by their owner.
ADMIN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FIND_AN_ID = (
    "only user ids make admins (a name can be taken by anyone who renames themselves). "
    "Slack: open the member's profile, More (⋮), Copy member ID (U0123ABC). Discord: turn on "
    "Developer Mode (User Settings, Advanced), right-click the member, Copy User ID "
    "(123456789012345678). Console: the name after `as`, in lower case"
)


def split_list(value: object) -> object:
    """``a,b,c`` from the environment as a tuple; anything else unchanged."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class EnvSettings(BaseSettings):
    """Settings read from the environment, then from the TOML file named by STUDYBOT_CONFIG.

    The core's ``Settings`` and each adapter's own settings (tokens, ids) derive from it.
    """

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("STUDYBOT_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


class Settings(EnvSettings):
    """The core's settings: the store, time, logging and configured admins. Platform
    tokens and ids live in each adapter's own settings class; README lists them all."""

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=env("DATABASE_URL"))
    timezone: str = Field("UTC", validation_alias=env("STUDYBOT_TIMEZONE"))
    log_level: str = Field("WARNING", validation_alias=env("STUDYBOT_LOG_LEVEL"))
    grace_minutes: int = Field(60, validation_alias=env("STUDYBOT_GRACE_MINUTES"))
    # How often each instance re-reads schedules, settings and pending fires from the
    # database, so changes made on another instance (or fires it left) take effect; 0: never.
    sync_seconds: int = Field(10, ge=0, validation_alias=env("STUDYBOT_SYNC_SECONDS"))
    admins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias=env("STUDYBOT_ADMINS")
    )
    # Simulated time on a platform, for rehearsals and fault tests: time runs ``sim_speed``
    # times faster than the wall clock, from ``sim_start`` at the Unix time ``sim_anchor``
    # (default: when the process starts). Instances given the same three agree on the time.
    sim_speed: float = Field(0.0, ge=0, validation_alias=env("STUDYBOT_SIM_SPEED"))
    sim_start: datetime | None = Field(None, validation_alias=env("STUDYBOT_SIM_START"))
    sim_anchor: float | None = Field(None, validation_alias=env("STUDYBOT_SIM_ANCHOR"))

    @field_validator("admins", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        """User ids only: a display name is refused, since its owner may change it."""
        value = split_list(value)
        if not isinstance(value, list | tuple):
            return value
        # A TOML list may give Discord ids as numbers.
        ids = tuple(str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value)
        ids = tuple(v.strip() if isinstance(v, str) else v for v in ids)
        named = [v for v in ids if not isinstance(v, str) or not ADMIN_ID.fullmatch(v)]
        if named:
            shown = [repr(str(n)[:70]) for n in named[:3]]
            what = (
                f"{shown[0]} looks like a name"
                if len(shown) == 1
                else f"{', '.join(shown[:-1])} and {shown[-1]} look like names"
            )
            raise PydanticCustomError(
                "admin_id", "{what}; {how}", {"what": what, "how": FIND_AN_ID}
            )
        return ids
