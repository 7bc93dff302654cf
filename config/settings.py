"""Deploy-time settings, read from the environment and `.env` (pydantic-settings).

Built once at startup by the CLI and passed in; never instantiated at import time.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


class LogFormat(StrEnum):
    """How log records are written."""

    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    """Everything a self-hoster sets in the environment or `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    discord_api_base: str = Field(default=DISCORD_API_BASE, validation_alias="DISCORD_API_BASE")
    discord_gateway_url: str = Field(
        default=DISCORD_GATEWAY_URL, validation_alias="DISCORD_GATEWAY_URL"
    )
    # A file path or sqlite:///path (embedded SQLite), or a postgresql:// URL.
    database: Path | str = Field(
        default=Path("data/steward.sqlite3"), validation_alias="STEWARD_DATABASE"
    )
    log_level: str = Field(default="INFO", validation_alias="STEWARD_LOG_LEVEL")
    log_format: LogFormat = Field(default=LogFormat.TEXT, validation_alias="STEWARD_LOG_FORMAT")
    dev_guild: int | None = Field(default=None, validation_alias="STEWARD_DEV_GUILD")
    metrics_port: int | None = Field(default=None, validation_alias="STEWARD_METRICS_PORT")
    metrics_host: str = Field(default="127.0.0.1", validation_alias="STEWARD_METRICS_HOST")
    # Requests per second this process may make to Discord's REST API (all processes share
    # Discord's 50/s per token). Default: 50 times the share of shards this process runs.
    rest_budget: float | None = Field(default=None, gt=0, le=50,
                                      validation_alias="STEWARD_REST_BUDGET")
    # Sharded processes: how long a claim on scheduled work holds before another process
    # owning the server may take it back (the longest a dead process's work waits).
    claim_lease_seconds: float = Field(default=120.0, gt=0, le=3600,
                                       validation_alias="STEWARD_CLAIM_LEASE")
    # The privacy HMAC key (opt-out fingerprints). Default: beside the SQLite file, or
    # data/steward.postgresql.key for PostgreSQL. Every process of one installation needs
    # the same key, so sharded processes on several hosts point this at a shared copy.
    key_file: Path | None = Field(default=None, validation_alias="STEWARD_KEY_FILE")
    # The language of the command line's messages (`steward config import`), e.g. es; unset:
    # the server's language setting, else English.
    language: str | None = Field(default=None, validation_alias="STEWARD_LANGUAGE")

    @field_validator("discord_api_base", "discord_gateway_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return value.rstrip("/") if "/api/" in value else value

    @field_validator("database", mode="before")
    @classmethod
    def _database_target(cls, value: object) -> Path | str:
        return database_target(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    def token(self) -> str:
        """The bot token; raises MissingToken when it is not set."""
        if self.discord_token is None or not self.discord_token.get_secret_value().strip():
            raise MissingTokenError
        return self.discord_token.get_secret_value().strip()


def database_target(value: object) -> Path | str:
    """STEWARD_DATABASE as a Path (SQLite) or a postgresql:// URL string.

    `sqlite:///data/x.sqlite3` is relative, `sqlite:////srv/x.sqlite3` absolute (as in
    SQLAlchemy); a plain path is a file too.
    """
    if isinstance(value, Path):
        return value
    text = str(value).strip()
    if not text:
        raise ValueError("must be a file path, sqlite:///path or postgresql://...")
    if text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        if not (parts.hostname or parts.path.strip("/") or parts.query):
            raise ValueError("a postgresql:// URL needs a host or a database name")
        return text
    if text.startswith("sqlite://"):
        rest = text[len("sqlite://"):]
        if rest and not rest.startswith("/"):
            raise ValueError("write sqlite:///relative/path or sqlite:////absolute/path")
        return Path(rest[1:] or ":memory:")
    if re.match(r"^[a-z][a-z0-9+.-]*://", text):
        raise ValueError("must be a file path, sqlite:///path or postgresql://...")
    return Path(text)


class MissingTokenError(Exception):
    """DISCORD_TOKEN is not set."""


class SettingsError(Exception):
    """Settings could not be loaded; the message names the variable and never its value."""


_ENV_NAMES = {
    "discord_token": "DISCORD_TOKEN",
    "discord_api_base": "DISCORD_API_BASE",
    "discord_gateway_url": "DISCORD_GATEWAY_URL",
    "database": "STEWARD_DATABASE",
    "log_level": "STEWARD_LOG_LEVEL",
    "log_format": "STEWARD_LOG_FORMAT",
    "dev_guild": "STEWARD_DEV_GUILD",
    "metrics_port": "STEWARD_METRICS_PORT",
    "metrics_host": "STEWARD_METRICS_HOST",
    "rest_budget": "STEWARD_REST_BUDGET",
    "claim_lease_seconds": "STEWARD_CLAIM_LEASE",
    "key_file": "STEWARD_KEY_FILE",
}


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Load settings, turning validation errors into one line per bad variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "?"
            name = _ENV_NAMES.get(field, field.upper())
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("; ".join(problems)) from None
