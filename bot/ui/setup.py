"""Embeds for /steward settings and /steward setup."""

from __future__ import annotations

from typing import Any

import discord
from pydantic import BaseModel

from bot.domain.text import plural, truncate
from bot.services.config_io import is_server_field
from config.guild import GuildConfig

VALUE_LIMIT = 120
INTEGRATIONS_HINT = (
    "**Who sees moderator commands:** Discord shows Steward's moderator commands to people "
    "with Manage Messages and `/steward` to people with Manage Server. To narrow that, open "
    "**Server Settings → Integrations → Steward**: there you can allow or deny each command "
    "for chosen roles, members and channels. Steward still checks every action itself."
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
        return "on" if value else "off"
    if isinstance(value, str):
        return "`" + truncate(" ".join(value.split()), VALUE_LIMIT).replace("`", "'") + "`"
    return truncate(str(value), VALUE_LIMIT)


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
                lines.append(f"**{name}:** {_show(kind, name, value)} *(default)*")
            else:
                lines.append(f"**{name}:** {_show(kind, name, value)} "
                             f"*(default: {_show(kind, name, default)})*")
        doc = (kind.__doc__ or "").strip()
        embed = discord.Embed(title=f"Settings: {section_name}", description=doc + "\n\n"
                              + "\n".join(lines), colour=discord.Colour.blurple())
        embed.set_footer(text=f"Page {index} of {len(names)} · change them with the "
                              "feature's commands or steward config import")
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
        return f"<#{value}>" if value else "not set"

    roles = ", ".join(f"<@&{r}>" for r in core.moderator_roles) or \
        "none (only people with Manage Messages moderate)"
    lines = [
        f"**Moderator roles:** {roles}",
        f"**Queue channel:** {channel(hold.queue_channel)}",
        f"**Mod-log channel:** {channel(core.mod_log_channel)}",
        f"**Welcome channel:** {channel(welcome.channel)}",
        f"**Rules channel:** {channel(core.rules_channel)}",
    ]
    if created:
        lines += ["", "**Created** (visible to moderators and Steward only): "
                  + ", ".join(created)]
    if hidden_warning:
        lines += ["", hidden_warning]
    if missing:
        can_create = {"queue channel", "mod-log channel"} & set(missing)
        lines += ["", "**Still missing:** " + ", ".join(missing) + ". Run `/steward setup` "
                  "again with them" + (", or with `create_missing: True` to create "
                  + " and ".join(sorted(can_create)) + " for moderators only"
                  if can_create else "") + "."]
    lines += ["", "**Check-up:** " + ("all clear." if not problems and not warnings else
              f"{plural(problems, 'problem')}, {plural(warnings, 'warning')}: run "
              "`/steward doctor` for the "
              "fixes.")]
    lines += ["", INTEGRATIONS_HINT]
    return discord.Embed(title="Steward setup", description="\n".join(lines),
                         colour=discord.Colour.green() if not problems and not hidden_warning
                         else discord.Colour.orange())


def hidden_channels_warning(message: str, fix: str) -> str:
    """The setup reply's warning that moderators can't see the moderators-only channels."""
    return f"⚠️ **Moderators can't see these channels.** {message}\n**Fix:** {fix}"


def created_hidden_message(channels: list[str]) -> tuple[str, str]:
    """(message, fix) when setup created staff channels and no moderator role is set."""
    listed = ", ".join(channels)
    return (f"No moderator role is set, so only Steward and server admins can see {listed}; "
            "moderators who rely on Manage Messages alone won't see held posts or the mod log.",
            f"Open {listed} → Edit Channel → Permissions → add the role that has Manage "
            "Messages and allow View Channel, and set your moderators' role with "
            "`/steward setup moderator_role:` (setup doesn't change the permissions of "
            "channels that already exist).")


def describe_core(config: GuildConfig) -> str:
    """The shared settings /steward settings changes: moderator roles and the mod log."""
    roles = ", ".join(f"<@&{r}>" for r in config.core.moderator_roles) or "none (Manage Messages)"
    log_channel = f"<#{config.core.mod_log_channel}>" if config.core.mod_log_channel else "not set"
    return f"**Moderator roles:** {roles}\n**Mod log:** {log_channel}"
