"""`/care ...`: admin commands for distress alerts (settings and the server's extra phrases)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.care import CareAdapter
from bot.domain.care import clean_phrase
from bot.domain.distress import normalize
from bot.errors import InvalidInput
from bot.i18n import on_off, tr, trn
from bot.messaging import reply_ephemeral
from bot.permissions import ADMIN_DEFAULT, require_admin, require_moderator
from bot.services.care import QUIET_REASON_TEXT, CareService
from config.guild import CareSettings, GuildConfig

if TYPE_CHECKING:
    from bot.app import StewardBot

RESET = "default"

QUIET_CHOICES = [
    app_commands.Choice(name="In memoriam (they have died)", value="in_memoriam"),
    app_commands.Choice(name="They asked for quiet", value="asked"),
]


def describe_settings(care: CareSettings, queue_channel: int | None) -> str:
    """The care settings in a few lines."""
    where = (f"<#{care.care_channel}>" if care.care_channel else
             tr("<#{queue_channel}> (the link-hold queue)",
                queue_channel=queue_channel) if queue_channel else
             tr("not set: alerts can't be posted until a care or queue channel is set"))
    phrases = ", ".join(f"`{p}`" for p in care.extra_phrases) or tr("none")
    return "\n".join([
        tr("**Distress alerts:** {state}", state=on_off(care.enabled)),
        tr("**Care channel:** {where}", where=where),
        tr("**Quiet window:** {hours} hours with no automated replies to the member",
           hours=care.quiet_hours),
        tr("**Support message:** {which} (change it with `support_message`; placeholders: "
           "{member} {server} {moderator})",
           which=tr("your own") if care.support_template else tr("the default")),
        tr("**Extra phrases:** {phrases}", phrases=phrases),
    ])


class CareCommands(commands.Cog):
    """`/care` commands."""

    care = app_commands.Group(
        name="care", description="Distress alerts to moderators (admins)", guild_only=True,
        default_permissions=ADMIN_DEFAULT)
    phrases = app_commands.Group(name="phrases", description="Extra phrases that raise an alert",
                                 parent=care)
    quiet = app_commands.Group(
        name="quiet", parent=care,
        description="Members Steward never tags, reminds, welcomes or suggests groups to")

    def __init__(self, bot: StewardBot, service: CareService, adapter: CareAdapter) -> None:
        self.bot = bot
        self.service = service
        self.adapter = adapter

    async def _change(self, interaction: discord.Interaction, actor: discord.Member,
                      mutate: Any) -> GuildConfig:
        _, new, changes = await self.bot.guild_settings.update(actor.guild.id, mutate)
        if changes:
            # The support message can be long: the audit notes that it changed, not the text.
            details = {k: "changed" if k.endswith("support_template") else f"{old} → {value}"
                       for k, (old, value) in changes.items()}
            await self.bot.audit.record(actor.guild.id, actor.id, "settings.changed",
                                        details=details)
        return new

    @care.command(name="settings", description="Show or change distress-alert settings")
    @app_commands.describe(
        enabled="Look for posts that read as distress",
        care_channel="Where moderators get the alerts (default: the link-hold queue channel)",
        quiet_hours="Hours with no automated replies to that member (0-336)",
        support_message="The support DM moderators review and send; 'default' restores ours",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        enabled: bool | None = None,
        care_channel: discord.TextChannel | None = None,
        quiet_hours: app_commands.Range[int, 0, 336] | None = None,
        support_message: str | None = None,
    ) -> None:
        """Change the settings (or show them when no option is given)."""
        admin = require_admin(interaction)
        guild = admin.guild
        if care_channel is not None:
            real = guild.get_channel(care_channel.id)
            perms = real.permissions_for(guild.me) if real is not None else None
            if perms is None or not (perms.view_channel and perms.send_messages
                                     and perms.embed_links):
                raise InvalidInput(tr("I can't post in {mention}: I need View Channel, Send "
                                      "Messages and Embed Links there. Nothing was changed.",
                                      mention=care_channel.mention))
        config = self.bot.guild_settings.get(guild.id)
        if all(o is None for o in (enabled, care_channel, quiet_hours, support_message)):
            await reply_ephemeral(interaction, describe_settings(
                config.care, config.linkhold.queue_channel))
            return

        def mutate(new: GuildConfig) -> None:
            section = new.care
            if enabled is not None:
                section.enabled = enabled
            if care_channel is not None:
                section.care_channel = care_channel.id
            if quiet_hours is not None:
                section.quiet_hours = quiet_hours
            if support_message is not None:
                text = support_message.replace("\\n", "\n").strip()
                section.support_template = None if text.lower() == RESET else text

        new = await self._change(interaction, admin, mutate)
        await reply_ephemeral(interaction, tr("Saved.") + "\n" + describe_settings(
            new.care, new.linkhold.queue_channel))

    @phrases.command(name="add", description="Also alert on this phrase (matched as whole words)")
    @app_commands.describe(phrase="e.g. 'ready to give up' (3-100 characters)")
    async def add(self, interaction: discord.Interaction, phrase: str) -> None:
        """Add a server phrase."""
        admin = require_admin(interaction)
        try:
            text = clean_phrase(phrase)
        except ValueError as exc:
            raise InvalidInput(tr("{exc}. Nothing was changed.", exc=exc)) from None

        def mutate(new: GuildConfig) -> None:
            new.care.extra_phrases = [*new.care.extra_phrases, text]

        await self._change(interaction, admin, mutate)
        await reply_ephemeral(interaction, tr("Posts with `{text}` now raise a care alert.",
                                              text=text))

    @phrases.command(name="remove", description="Stop alerting on one of the server's phrases")
    @app_commands.describe(phrase="One of the server's extra phrases")
    async def remove(self, interaction: discord.Interaction, phrase: str) -> None:
        """Remove a server phrase."""
        admin = require_admin(interaction)
        key = normalize(phrase)
        current = self.bot.guild_settings.get(admin.guild.id).care.extra_phrases
        if not any(normalize(p) == key for p in current):
            raise InvalidInput(tr("`{item}` isn't one of the server's phrases. See them with "
                                  "`/care settings`.", item=phrase[:100]))

        def mutate(new: GuildConfig) -> None:
            new.care.extra_phrases = [p for p in new.care.extra_phrases if normalize(p) != key]

        await self._change(interaction, admin, mutate)
        await reply_ephemeral(interaction, tr("`{item}` no longer raises an alert.",
                                              item=phrase[:100]))

    @quiet.command(name="add", description="Never tag, remind, welcome or suggest groups to "
                                          "this member")
    @app_commands.describe(member="The member (they may have left the server)",
                           reason="Why: shown to moderators only")
    @app_commands.choices(reason=QUIET_CHOICES)
    async def quiet_add(self, interaction: discord.Interaction, member: discord.User,
                        reason: app_commands.Choice[str]) -> None:
        """Mark a member do-not-tag; their open follow-ups close quietly."""
        moderator = require_moderator(interaction, self.bot.guild_settings.get(
            interaction.guild_id or 0).core)
        if member.bot:
            raise InvalidInput(tr("That's a bot; I never tag bots anyway."))
        new, closed = await self.service.mark_quiet(moderator.guild.id, member.id,
                                                    reason.value, moderator.id)
        closed_text = (trn(" I closed {count} follow-up item that would have tagged them, "
                           "without a check-in.",
                           " I closed {count} follow-up items that would have tagged them, "
                           "without a check-in.", closed, count=closed) if closed else "")
        if new:
            text = (tr("I won't tag, remind, welcome or suggest groups to {mention} any more "
                       "({item}).{closed_text} Undo it with `/care quiet remove`.",
                       mention=member.mention, item=tr(QUIET_REASON_TEXT[reason.value]),
                       closed_text=closed_text))
        else:
            text = (tr("{mention} was already marked; the reason is now {item}.{closed_text}",
                       mention=member.mention, item=tr(QUIET_REASON_TEXT[reason.value]),
                       closed_text=closed_text))
        await reply_ephemeral(interaction, text)

    @quiet.command(name="remove", description="Let Steward tag this member again")
    @app_commands.describe(member="A member marked with /care quiet add")
    async def quiet_remove(self, interaction: discord.Interaction,
                           member: discord.User) -> None:
        """Take the mark away."""
        moderator = require_moderator(interaction, self.bot.guild_settings.get(
            interaction.guild_id or 0).core)
        await self.service.unmark_quiet(moderator.guild.id, member.id, moderator.id)
        await reply_ephemeral(interaction, tr("Steward may tag {mention} again. Follow-ups I "
                                              "closed stay closed.", mention=member.mention))

    @quiet.command(name="list", description="Members Steward leaves be")
    async def quiet_list(self, interaction: discord.Interaction) -> None:
        """The marked members, newest first."""
        moderator = require_moderator(interaction, self.bot.guild_settings.get(
            interaction.guild_id or 0).core)
        marks = await self.service.quiet_marks(moderator.guild.id)
        if not marks:
            await reply_ephemeral(interaction, tr("Nobody is marked. Mark someone with "
                                  "`/care quiet add`."))
            return
        lines = [f"<@{m.member_id}>: {_quiet_reason(m.reason)}, "
                 f"<t:{int(m.marked_at.timestamp())}:D>"
                 + (tr(" by <@{marked_by}>",
                       marked_by=m.marked_by) if m.marked_by and m.marked_by > 0 else "")
                 for m in marks]
        await reply_ephemeral(interaction, tr("**Steward leaves these members be:**\n")
                              + "\n".join(lines))


def _quiet_reason(reason: str) -> str:
    return tr(QUIET_REASON_TEXT[reason]) if reason in QUIET_REASON_TEXT else reason
