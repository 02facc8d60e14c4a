"""Settings from environment variables, optionally from a TOML file named by STUDYBOT_CONFIG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/studybot.db"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class Settings(BaseSettings):
    """Every setting has an environment variable; README lists them all."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("DATABASE_URL"))
    timezone: str = Field("UTC", validation_alias=_env("STUDYBOT_TIMEZONE"))
    log_level: str = Field("WARNING", validation_alias=_env("STUDYBOT_LOG_LEVEL"))
    grace_minutes: int = Field(60, validation_alias=_env("STUDYBOT_GRACE_MINUTES"))
    admins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias=_env("STUDYBOT_ADMINS")
    )
    discord_token: str = Field("", validation_alias=_env("DISCORD_TOKEN"))
    slack_bot_token: str = Field("", validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_app_token: str = Field("", validation_alias=_env("SLACK_APP_TOKEN"))
    slack_signing_secret: str = Field("", validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    slack_http_host: str = Field("0.0.0.0", validation_alias=_env("SLACK_HTTP_HOST"))
    slack_http_port: int = Field(3000, validation_alias=_env("SLACK_HTTP_PORT"))
    discord_guild_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        (), validation_alias=_env("DISCORD_GUILD_IDS")
    )
    discord_admin_role: str = Field("", validation_alias=_env("DISCORD_ADMIN_ROLE"))
    discord_shard_count: int | None = Field(None, validation_alias=_env("DISCORD_SHARD_COUNT"))
    discord_shard_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        (), validation_alias=_env("DISCORD_SHARD_IDS")
    )

    @field_validator("admins", "discord_guild_ids", "discord_shard_ids", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

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
