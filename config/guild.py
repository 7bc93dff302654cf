"""Per-guild runtime settings: one validated model, stored as JSON per guild.

The same models validate slash-command input and `steward config import`. Fields are split into
a portable *policy* (no server-specific ids) and *server* fields (channel and role ids); the
`server_field` marker says which is which, so config export/import can keep them apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.domain.audit import DEFAULT_MOD_LOG_EVENTS, EVENT_FAMILIES
from bot.domain.holds import TEMPLATE_NAMES
from bot.domain.templates import validate
from bot.i18n import tr

SERVER = {"server": True}


def server_field(**kwargs: Any) -> Any:
    """A field holding a channel or role id: belongs to the `[server]` part of an export."""
    if "default_factory" not in kwargs:
        kwargs.setdefault("default", None)
    return Field(json_schema_extra=SERVER, **kwargs)


class Section(BaseModel):
    """Base for a settings section: strict about unknown keys, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CoreSettings(Section):
    """Who moderates and where the bot reports."""

    moderator_roles: list[int] = server_field(default_factory=list)
    mod_log_channel: int | None = server_field()
    rules_channel: int | None = server_field()
    timezone: str = "UTC"
    language: str | None = None  # public posts, cards, mod log; None: the server's own locale
    # Which events the mod log shows (bot.domain.audit.EVENT_FAMILIES); problems always go.
    mod_log_events: list[str] = Field(default_factory=lambda: list(DEFAULT_MOD_LOG_EVENTS))

    @field_validator("language")
    @classmethod
    def _shipped_language(cls, value: str | None) -> str | None:
        from bot.i18n import PSEUDO, negotiate, shipped

        if value is None:
            return None
        if value != PSEUDO and value not in shipped():
            raise ValueError(tr("unknown language {value} (Steward speaks {languages})",
                                value=repr(value), languages=", ".join(shipped())))
        return negotiate(value)

    @field_validator("mod_log_events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in EVENT_FAMILIES]
        if unknown:
            raise ValueError(tr("unknown mod-log events {unknown} (known: {known})",
                                unknown=", ".join(unknown), known=", ".join(EVENT_FAMILIES)))
        return list(dict.fromkeys(value))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(tr("unknown time zone {value} (use an IANA name like "
                                "Europe/London)", value=repr(value))) from None
        return value


class LinkHoldSettings(Section):
    """New-member link holds."""

    enabled: bool = True
    hold_days: int = Field(default=3, ge=0, le=365)
    min_posts: int = Field(default=0, ge=0, le=1000)
    min_account_age_days: int = Field(default=0, ge=0, le=3650)
    notify: Literal["dm", "channel", "both"] = "dm"
    allowlist: list[str] = Field(default_factory=list)
    review_reminder_hours: int = Field(default=24, ge=1, le=24 * 30)
    retention_days: int = Field(default=30, ge=1, le=3650)
    attachment_max_bytes: int = Field(default=8 * 1024 * 1024, ge=0, le=500 * 1024 * 1024)
    held_template: str | None = None  # the DM; names: member server channel when domains
    notice_template: str | None = None  # the in-channel notice when DMs are closed (same names)
    approved_template: str | None = None  # the one approval notice; names: member channel link
    rejected_template: str | None = None  # the rejection DM; names: member server reason ask
    notice_seconds: int = Field(default=120, ge=10, le=3600)  # the channel notice stays this long
    queue_ping_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)  # 0: no reviewer ping
    queue_channel: int | None = server_field()
    notice_channel: int | None = server_field()
    contact_channel: int | None = server_field()  # where members may ask about a rejection
    reviewer_role: int | None = server_field()  # pinged once when a hold waits (unset: none)
    exempt_roles: list[int] = server_field(default_factory=list)
    ignored_channels: list[int] = server_field(default_factory=list)
    # Issue 14: given to members once they pass the hold period; Steward's AutoMod rule
    # (`automod`, needs Manage Server) exempts it and blocks everyone else's links.
    trusted_role: int | None = server_field()
    automod: bool = False

    @field_validator("held_template", "notice_template", "approved_template",
                     "rejected_template")
    @classmethod
    def _valid_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            validate(value, TEMPLATE_NAMES[str(info.field_name)])
        return value


class RepostSettings(Section):
    """Reposting on a member's behalf."""

    mode: Literal["webhook", "bot"] = "webhook"
    attribution: str = "— shared for {member} by the moderators"

    @field_validator("attribution")
    @classmethod
    def _valid_attribution(cls, value: str) -> str:
        from bot.domain.repost import ATTRIBUTION_MAX, ATTRIBUTION_NAMES
        from bot.domain.templates import validate

        validate(value, ATTRIBUTION_NAMES, max_length=ATTRIBUTION_MAX)
        return value


class FollowupSettings(Section):
    """Follow-ups that tag the original poster."""

    default_days: int = Field(default=7, ge=1, le=365)
    ask_template: str | None = None
    checkin_template: str | None = None
    autocheck_forums: dict[int, int] = server_field(default_factory=dict)

    @field_validator("ask_template", "checkin_template")
    @classmethod
    def _valid_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        from bot.domain.followups import ASK_PLACEHOLDERS, CHECKIN_PLACEHOLDERS
        from bot.domain.templates import validate

        if value is not None:
            names = ASK_PLACEHOLDERS if info.field_name == "ask_template" else (
                CHECKIN_PLACEHOLDERS)
            validate(value, names)
        return value

    @field_validator("autocheck_forums")
    @classmethod
    def _forum_days(cls, value: dict[int, int]) -> dict[int, int]:
        for days in value.values():
            if not 1 <= days <= 365:
                raise ValueError(tr("check-in days must be between 1 and 365"))
        return value


class WelcomeSettings(Section):
    """Welcomes and support-group suggestions."""

    enabled: bool = True
    dm: bool = False
    template: str | None = None
    burst_template: str | None = None
    # One welcome per language (e.g. {"es": "..."}): used when Steward speaks that language.
    language_templates: dict[str, str] = Field(default_factory=dict)
    language_burst_templates: dict[str, str] = Field(default_factory=dict)
    suggestions: bool = True
    suggest_days: int = Field(default=14, ge=0, le=365)
    burst_threshold: int = Field(default=5, ge=1, le=1000)
    burst_window_seconds: int = Field(default=10, ge=1, le=3600)
    screening_timeout_minutes: int = Field(default=10, ge=1, le=24 * 60)
    channel: int | None = server_field()

    @field_validator("template", "burst_template")
    @classmethod
    def _valid_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        from bot.domain.welcome import validate_template

        if value is not None:
            validate_template(value, burst=info.field_name == "burst_template")
        return value

    @field_validator("language_templates", "language_burst_templates")
    @classmethod
    def _valid_language_templates(cls, value: dict[str, str],
                                  info: ValidationInfo) -> dict[str, str]:
        from bot.domain.welcome import validate_template
        from bot.i18n import shipped

        for language, template in value.items():
            if language not in shipped():
                raise ValueError(tr("unknown language {value} (Steward speaks {languages})",
                                    value=repr(language), languages=", ".join(shipped())))
            validate_template(template, burst=info.field_name == "language_burst_templates")
        return value


class CareSettings(Section):
    """Distress comes first: no automated reply to a member in distress; moderators alerted."""

    enabled: bool = True
    quiet_hours: int = Field(default=24, ge=0, le=24 * 14)
    support_template: str | None = None  # the support DM; names: member server moderator
    extra_phrases: list[str] = Field(default_factory=list)
    care_channel: int | None = server_field()  # default: the link-hold queue channel

    @field_validator("support_template")
    @classmethod
    def _valid_template(cls, value: str | None) -> str | None:
        from bot.domain.care import SUPPORT_NAMES
        from bot.domain.templates import validate

        if value is not None:
            validate(value, SUPPORT_NAMES, max_length=1800)
        return value

    @field_validator("extra_phrases")
    @classmethod
    def _valid_phrases(cls, value: list[str]) -> list[str]:
        from bot.domain.care import clean_phrases

        return clean_phrases(value)


class GuildConfig(Section):
    """Everything configurable for one guild."""

    core: CoreSettings = Field(default_factory=CoreSettings)
    linkhold: LinkHoldSettings = Field(default_factory=LinkHoldSettings)
    repost: RepostSettings = Field(default_factory=RepostSettings)
    followup: FollowupSettings = Field(default_factory=FollowupSettings)
    welcome: WelcomeSettings = Field(default_factory=WelcomeSettings)
    care: CareSettings = Field(default_factory=CareSettings)
