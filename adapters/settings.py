"""Each platform adapter's own settings: tokens (as secrets), ids, addresses.

Kept apart from the adapters' packages so the command line can tell which platform to run
without importing its SDK; the core's ``Settings`` holds none of these.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from bot.config import EnvSettings, env, split_list


class DiscordSettings(EnvSettings):
    """DISCORD_TOKEN, DISCORD_GUILD_IDS, DISCORD_ADMIN_ROLE, DISCORD_SHARD_COUNT/_IDS."""

    token: SecretStr = Field(SecretStr(""), validation_alias=env("DISCORD_TOKEN"))
    guild_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        (), validation_alias=env("DISCORD_GUILD_IDS")
    )
    admin_role: str = Field("", validation_alias=env("DISCORD_ADMIN_ROLE"))
    shard_count: int | None = Field(None, validation_alias=env("DISCORD_SHARD_COUNT"))
    shard_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        (), validation_alias=env("DISCORD_SHARD_IDS")
    )

    @field_validator("guild_ids", "shard_ids", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        return split_list(value)


class SlackSettings(EnvSettings):
    """SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, SLACK_HTTP_*."""

    bot_token: SecretStr = Field(SecretStr(""), validation_alias=env("SLACK_BOT_TOKEN"))
    app_token: SecretStr = Field(SecretStr(""), validation_alias=env("SLACK_APP_TOKEN"))
    signing_secret: SecretStr = Field(SecretStr(""), validation_alias=env("SLACK_SIGNING_SECRET"))
    api_url: str = Field("https://slack.com/api/", validation_alias=env("SLACK_API_URL"))
    http_host: str = Field("0.0.0.0", validation_alias=env("SLACK_HTTP_HOST"))
    http_port: int = Field(3000, validation_alias=env("SLACK_HTTP_PORT"))


class ConsoleSettings(EnvSettings):
    """STUDYBOT_CONSOLE_HISTORY: the interactive console's history file, or ``off``."""

    history: str = Field("", validation_alias=env("STUDYBOT_CONSOLE_HISTORY"))
