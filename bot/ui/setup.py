"""Embeds for /steward settings and /steward setup."""

from __future__ import annotations

from typing import Any

import discord
from pydantic import BaseModel

from bot.domain.text import truncate
from bot.i18n import N_, on_off, tr, trn
from bot.services.config_io import is_server_field
from config.guild import GuildConfig

VALUE_LIMIT = 120
INTEGRATIONS_HINT = (
    N_("**Who sees moderator commands:** Discord shows Steward's moderator commands to people "
    "with Manage Messages and `/steward` to people with Manage Server. To narrow that, open "
    "**Server Settings → Integrations → Steward**: there you can allow or deny each command "
    "for chosen roles, members and channels. Steward still checks every action itself.")
)


def _default(section: type[BaseModel], name: str) -> Any:
    info = section.model_fields[name]
    return info.get_default(call_default_factory=True)


def _show(section: type[BaseModel], name: str, value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if is_server_field(section, name):
        mention = "<@&{}>" if "role" in name else "<#{}>"
        if isinstance(value, dict):
            return ", ".join(f"{mention.format(k)}: {v}" for k, v in value.items())
        if isinstance(value, list):
            return ", ".join(mention.format(v) for v in value)
        return mention.format(value)
    if isinstance(value, bool):
        return on_off(value)
    if isinstance(value, str):
        return "`" + truncate(" ".join(value.split()), VALUE_LIMIT).replace("`", "'") + "`"
    return truncate(str(value), VALUE_LIMIT)


# What each settings page is about (the sections of config.guild.GuildConfig).
SECTION_DESCRIPTIONS: dict[str, str] = {
    "core": N_("Who moderates, where the bot reports, and the server's time zone and language."),
    "linkhold": N_("New-member link holds."),
    "repost": N_("Reposting on a member's behalf."),
    "followup": N_("Follow-ups that tag the original poster."),
    "welcome": N_("Welcomes and support-group suggestions."),
    "care": N_("Distress comes first: no automated reply to a member in distress; moderators "
               "alerted."),
}


def settings_pages(config: GuildConfig) -> list[discord.Embed]:
    """One embed per settings section: every setting, its value, and its default."""
    pages = []
    names = list(GuildConfig.model_fields)
    for index, section_name in enumerate(names, start=1):
        section = getattr(config, section_name)
        kind = type(section)
        lines = []
        for name in kind.model_fields:
            value = getattr(section, name)
            default = _default(kind, name)
            if value == default:
                lines.append(tr("**{name}:** {show} *(default)*",
                                name=name, show=_show(kind, name, value)))
            else:
                lines.append(tr("**{name}:** {show} *(default: {show2})*",
                                name=name, show=_show(kind, name, value),
                                                      show2=_show(kind, name, default)))
        doc = (tr(SECTION_DESCRIPTIONS[section_name]) if section_name in SECTION_DESCRIPTIONS
               else "")
        embed = discord.Embed(title=tr("Settings: {section_name}",
                                       section_name=section_name), description=doc + "\n\n"
                              + "\n".join(lines), colour=discord.Colour.blurple())
        embed.set_footer(text=tr("Page {index} of {len} · change them with the feature's commands "
                                 "or steward config import", index=index, len=len(names)))
        pages.append(embed)
    return pages


def setup_summary(config: GuildConfig, created: list[str], missing: list[str],
                  problems: int, warnings: int, *, hidden_warning: str | None = None
                  ) -> discord.Embed:
    """What /steward setup set, what it created, what is still missing, and what is next.

    `hidden_warning`: moderators can't see the moderators-only channels (no moderator role).
    """
    core, hold, welcome = config.core, config.linkhold, config.welcome

    def channel(value: int | None) -> str:
        return f"<#{value}>" if value else tr("not set")

    roles = ", ".join(f"<@&{r}>" for r in core.moderator_roles) or \
        tr("none (only people with Manage Messages moderate)")
    lines = [
        tr("**Moderator roles:** {roles}", roles=roles),
        tr("**Queue channel:** {channel}", channel=channel(hold.queue_channel)),
        tr("**Mod-log channel:** {channel}", channel=channel(core.mod_log_channel)),
        tr("**Welcome channel:** {channel}", channel=channel(welcome.channel)),
        tr("**Rules channel:** {channel}", channel=channel(core.rules_channel)),
    ]
    if created:
        lines += ["", tr("**Created** (visible to moderators and Steward only): ")
                  + ", ".join(created)]
    if hidden_warning:
        lines += ["", hidden_warning]
    if missing:
        can_create = {tr("queue channel"), tr("mod-log channel")} & set(missing)
        lines += ["", tr("**Still missing:** ") + ", ".join(missing) + tr(". Run `/steward setup` "
                  "again with them") + (tr(", or with `create_missing: True` to create ")
                  + " and ".join(sorted(can_create)) + tr(" for moderators only")
                  if can_create else "") + "."]
    lines += ["", tr("**Check-up:** ") + (tr("all clear.") if not problems and not warnings else
              tr("{problems}, {warnings}: run `/steward doctor` for the fixes.",
                 problems=trn("{count} problem", "{count} problems", problems, count=problems),
                 warnings=trn("{count} warning", "{count} warnings", warnings,
                              count=warnings)))]
    lines += ["", tr(INTEGRATIONS_HINT)]
    return discord.Embed(title=tr("Steward setup"), description="\n".join(lines),
                         colour=discord.Colour.green() if not problems and not hidden_warning
                         else discord.Colour.orange())


def hidden_channels_warning(message: str, fix: str) -> str:
    """The setup reply's warning that moderators can't see the moderators-only channels."""
    return tr("⚠️ **Moderators can't see these channels.** {message}\n**Fix:** {fix}",
              message=message, fix=fix)


def created_hidden_message(channels: list[str]) -> tuple[str, str]:
    """(message, fix) when setup created staff channels and no moderator role is set."""
    listed = ", ".join(channels)
    return (tr("No moderator role is set, so only Steward and server admins can see {listed}; "
               "moderators who rely on Manage Messages alone won't see held posts or the mod log.",
               listed=listed),
            tr("Open {listed} → Edit Channel → Permissions → add the role that has Manage Messages "
               "and allow View Channel, and set your moderators' role with `/steward setup "
               "moderator_role:` (setup doesn't change the permissions of channels that already "
               "exist).", listed=listed))


def describe_core(config: GuildConfig) -> str:
    """The shared settings /steward settings changes: moderator roles and the mod log."""
    roles = ", ".join(f"<@&{r}>" for r in config.core.moderator_roles) or tr("none (Manage "
                                                                             "Messages)")
    log_channel = (f"<#{config.core.mod_log_channel}>" if config.core.mod_log_channel
                   else tr("not set"))
    language = (f"`{config.core.language}`" if config.core.language
                else tr("the server's primary language"))
    return (tr("**Moderator roles:** {roles}\n**Mod log:** {log_channel}",
               roles=roles, log_channel=log_channel)
            + "\n" + tr("**Language:** {language}", language=language))
