"""`/linkhold ...`: moderator and admin commands for new-member link holds.

One top-level group can carry only one `default_permissions`, so the group is visible to
moderators (Manage Messages) and the admin subcommands (settings, exempt, unexempt, ignore,
unignore) check Manage Server when they run. Every reply is ephemeral.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.linkhold import LinkHoldAdapter
from bot.domain.links import is_valid_domain
from bot.errors import InvalidInput
from bot.i18n import on_off, tr, trn
from bot.messaging import reply_ephemeral
from bot.permissions import (
    MODERATOR_DEFAULT,
    refuse_power_role,
    require_admin,
    require_moderator,
)
from bot.services.linkhold import LinkHoldService
from bot.ui.linkhold import describe_history
from config.guild import GuildConfig, LinkHoldSettings

if TYPE_CHECKING:
    from bot.app import StewardBot

IgnorableChannel = discord.TextChannel | discord.ForumChannel | discord.CategoryChannel


def describe_settings(settings: LinkHoldSettings) -> str:
    """The link-hold settings in a few lines."""
    def channel(cid: int | None) -> str:
        return f"<#{cid}>" if cid else tr("not set")

    lines = [
        tr("**Holds:** {state}", state=on_off(settings.enabled)),
        tr("**New for:** {hold_days} days after joining", hold_days=settings.hold_days),
        tr("**Minimum posts:** {value}", value=settings.min_posts or tr("not required")),
        tr("**Minimum account age:** {value}",
           value=trn("{count} day", "{count} days", settings.min_account_age_days,
                     count=settings.min_account_age_days)
           if settings.min_account_age_days else tr("any")),
        tr("**Tell members by:** {notify}", notify="`" + settings.notify + "`"),
        tr("**Queue channel:** {channel}", channel=channel(settings.queue_channel)),
        tr("**Notice channel (forum posts):** {channel}", channel=channel(settings.notice_channel)),
        tr("**Notice stays:** {seconds} seconds (when DMs are closed)",
           seconds=settings.notice_seconds),
        tr("**Members ask about rejections in:** {channel}",
           channel=channel(settings.contact_channel)),
        tr("**Reviewer ping:** {ping}", ping=tr("<@&{role}> after {minutes} minutes",
                                                 role=settings.reviewer_role,
                                                 minutes=settings.queue_ping_minutes)
           if settings.queue_ping_minutes and settings.reviewer_role
           else tr("off (set a reviewer role and minutes)")),
        tr("**Exempt roles:** {value}",
           value=", ".join(f"<@&{r}>" for r in settings.exempt_roles) or tr("none")),
        tr("**Ignored channels:** {value}",
           value=", ".join(f"<#{c}>" for c in settings.ignored_channels) or tr("none")),
        tr("**Allowlist:** {sites}",
           sites=", ".join(f"`{d}`" for d in settings.allowlist) or tr("empty")),
        tr("**Trusted role** (given after the hold period): {role}; **AutoMod blocks new "
           "members' links:** {automod}",
           role=("<@&" + str(settings.trusted_role) + ">") if settings.trusted_role
           else tr("not set"),
           automod=on_off(settings.automod)),
        tr("**Reminders after:** {review_reminder_hours} hours; **held content kept:** "
           "{retention_days} days after a decision",
           review_reminder_hours=settings.review_reminder_hours,
           retention_days=settings.retention_days),
    ]
    return "\n".join(lines)


def _can_post(channel: discord.abc.GuildChannel, me: discord.Member) -> bool:
    perms = channel.permissions_for(me)
    return perms.view_channel and perms.send_messages and perms.embed_links


class LinkHoldCommands(commands.Cog):
    """`/linkhold` commands."""

    linkhold = app_commands.Group(
        name="linkhold",
        description="New-member link holds (moderators; some subcommands need Manage Server)",
        guild_only=True,
        default_permissions=MODERATOR_DEFAULT,
    )

    def __init__(self, bot: StewardBot, service: LinkHoldService,
                 adapter: LinkHoldAdapter) -> None:
        self.bot = bot
        self.service = service
        self.adapter = adapter
        self.automod = bot.services.automod
        self.automod_discord = bot.services.automod_adapter

    # --- helpers ------------------------------------------------------------------------------

    def _moderator(self, interaction: discord.Interaction) -> discord.Member:
        assert interaction.guild_id is not None
        core = self.bot.guild_settings.get(interaction.guild_id).core
        return require_moderator(interaction, core)

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        assert interaction.guild_id is not None
        hint = self.service.setup_hint(interaction.guild_id)
        await reply_ephemeral(interaction, f"{text}\n\n{hint}" if hint else text)

    async def _change(
        self,
        interaction: discord.Interaction,
        actor: discord.Member,
        mutate: object,
    ) -> GuildConfig:
        assert interaction.guild_id is not None
        _, new, _ = await self.bot.guild_settings.update(
            interaction.guild_id, mutate, actor_id=actor.id  # type: ignore[arg-type]
        )
        return new

    # --- moderators -----------------------------------------------------------------------------

    @linkhold.command(name="allow", description="Let links to a site through for new members")
    @app_commands.describe(domain="A website, e.g. cancer.gov (its subdomains pass too)")
    async def allow(self, interaction: discord.Interaction, domain: str) -> None:
        """Add a domain to the allowlist."""
        moderator = self._moderator(interaction)
        normalized = is_valid_domain(domain)
        if normalized is None:
            raise InvalidInput(tr("`{item}` isn't a website address I can use. Try something like "
                                  "`cancer.gov` or `mayoclinic.org`.", item=domain[:100]))

        def mutate(config: GuildConfig) -> None:
            if normalized not in config.linkhold.allowlist:
                config.linkhold.allowlist = [*config.linkhold.allowlist, normalized]

        await self._change(interaction, moderator, mutate)
        await self._reply(interaction, tr("Links to `{normalized}` (and its subdomains) now pass "
                                          "for new members.", normalized=normalized))

    @linkhold.command(name="disallow", description="Remove a site from the allowlist")
    @app_commands.describe(domain="A website on the allowlist")
    async def disallow(self, interaction: discord.Interaction, domain: str) -> None:
        """Remove a domain from the allowlist."""
        moderator = self._moderator(interaction)
        assert interaction.guild_id is not None
        normalized = is_valid_domain(domain) or domain.strip().lower()
        current = self.bot.guild_settings.get(interaction.guild_id).linkhold.allowlist
        if normalized not in current:
            raise InvalidInput(tr("`{item}` isn't on the allowlist. See it with `/linkhold "
                                  "allowlist`.", item=normalized[:100]))

        def mutate(config: GuildConfig) -> None:
            config.linkhold.allowlist = [d for d in config.linkhold.allowlist if d != normalized]

        await self._change(interaction, moderator, mutate)
        await self._reply(interaction, tr("`{normalized}` is off the allowlist: new members' links "
                                          "there are held again.", normalized=normalized))

    @linkhold.command(name="allowlist", description="Show the sites new members may link to")
    async def allowlist(self, interaction: discord.Interaction) -> None:
        """Show the allowlist."""
        self._moderator(interaction)
        assert interaction.guild_id is not None
        domains = self.bot.guild_settings.get(interaction.guild_id).linkhold.allowlist
        text = (tr("New members' links to these sites (and their subdomains) pass:\n")
                + "\n".join(f"• `{d}`" for d in domains)) if domains else (
            tr("The allowlist is empty: every link from a new member is held. "
            "Add a site with `/linkhold allow domain:cancer.gov`."))
        await self._reply(interaction, text)

    @linkhold.command(name="trust", description="Never hold this member's links again")
    @app_commands.describe(member="The member to trust")
    async def trust(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Trust a member."""
        moderator = self._moderator(interaction)
        added = await self.service.trust(member.guild.id, member.id, moderator.id)
        await self._reply(interaction, tr("{mention} is trusted: their links won't be held.",
                                          mention=member.mention)
                          if added else tr("{mention} was already trusted.",
                                           mention=member.mention))

    @linkhold.command(name="untrust", description="Apply the new-member rules to them again")
    @app_commands.describe(member="The member to stop trusting")
    async def untrust(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Stop trusting a member."""
        moderator = self._moderator(interaction)
        removed = await self.service.untrust(member.guild.id, member.id, moderator.id)
        await self._reply(interaction, tr("{mention} is no longer trusted; the new-member rules "
                                          "apply to them again.", mention=member.mention) if removed
                          else tr("{mention} wasn't trusted.", mention=member.mention))

    @linkhold.command(name="queue", description="Held posts waiting for review")
    async def queue(self, interaction: discord.Interaction) -> None:
        """List pending holds with jump links."""
        self._moderator(interaction)
        assert interaction.guild_id is not None
        pending = await self.service.pending(interaction.guild_id, limit=26)
        if not pending:
            await self._reply(interaction, tr("No held posts are waiting. 🌱"))
            return
        lines = []
        for hold in pending[:25]:
            shown = hold.parent_id if hold.is_forum_post and hold.parent_id else hold.channel_id
            where = f"<#{shown}>"
            if hold.queue_channel_id and hold.queue_message_id:
                url = (f"https://discord.com/channels/{hold.guild_id}/{hold.queue_channel_id}/"
                       f"{hold.queue_message_id}")
                label = tr("[Hold #{id}]({url})", id=hold.id, url=url)
            else:
                label = tr("Hold #{id}", id=hold.id)
            lines.append(tr("• {label}: <@{member_id}> in {where}, held <t:{int}:R>",
                            label=label, member_id=hold.member_id, where=where,
                            int=int(hold.created_at.timestamp())))
        more = tr("\n…and more; decide these first.") if len(pending) > 25 else ""
        await self._reply(interaction, tr("**{len} held posts waiting:**\n", len=len(pending[:25]))
                          + "\n".join(lines) + more)

    @linkhold.command(name="status", description="Is this member's posting held, and why")
    @app_commands.describe(member="The member to look up")
    async def status(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Explain whether a member is held, until when, and why."""
        self._moderator(interaction)
        status = await self.service.status(
            member.guild.id, self.adapter.someone(member.guild, member.id, member))
        if status.exempt is not None:
            text = tr("{mention}'s links are never held ({exempt}).",
                      mention=member.mention, exempt=status.exempt)
        elif not status.held:
            text = tr("{mention}'s links are not held (established member).",
                      mention=member.mention)
        else:
            text = (tr("{mention}'s links are held for review: {join}. They can post links "
                       "{clearance}.",
                       mention=member.mention, join='; '.join(status.reasons),
                       clearance=status.clearance))
        if status.history:
            text += tr("\nHolds so far: ") + describe_history(status.history)
        await self._reply(interaction, text)

    # --- admins (checked at run time) -----------------------------------------------------------

    @linkhold.command(name="settings", description="Show or change link-hold settings (admins)")
    @app_commands.describe(
        hold_days="Days after joining that links are held (0-365)",
        min_posts="Also hold until this many accepted posts (0: off)",
        min_account_age_days="Also hold Discord accounts younger than this (0: off)",
        queue_channel="Where held posts go for review",
        notify="How to tell members their post was held",
        notice_channel="Where to tell members about held forum posts if their DMs are closed",
        trusted_role="Given to members once they pass the hold period (AutoMod exempts it)",
        contact_channel="Where members can ask a moderator about a rejected post",
        reviewer_role="The role pinged once when a held post waits (unset: no ping)",
        queue_ping_minutes="Ping the reviewer role after a post waits this long (0: never)",
        notice_seconds="How long the in-channel notice stays when DMs are closed (10-3600)",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        hold_days: int | None = None,
        min_posts: int | None = None,
        min_account_age_days: int | None = None,
        queue_channel: discord.TextChannel | None = None,
        notify: Literal["dm", "channel", "both"] | None = None,
        notice_channel: discord.TextChannel | None = None,
        trusted_role: discord.Role | None = None,
        contact_channel: discord.TextChannel | None = None,
        reviewer_role: discord.Role | None = None,
        queue_ping_minutes: app_commands.Range[int, 0, 10080] | None = None,
        notice_seconds: app_commands.Range[int, 10, 3600] | None = None,
    ) -> None:
        """Change the settings (or show them when no option is given)."""
        admin = require_admin(interaction)
        guild = admin.guild
        for chosen in (queue_channel, notice_channel):
            if chosen is not None:
                real = guild.get_channel(chosen.id)
                if not isinstance(real, discord.TextChannel) or not _can_post(real, guild.me):
                    raise InvalidInput(
                        tr("I can't post in {mention}: I need View Channel, Send Messages and "
                           "Embed Links there. Nothing was changed.", mention=chosen.mention))
        if trusted_role is not None:
            await refuse_power_role(self.bot, guild.id, trusted_role)
            if trusted_role >= guild.me.top_role:
                raise InvalidInput(
                    tr("{mention} is above my highest role, so I couldn't give it. Drag the "
                       "Steward role above it (Server Settings → Roles), then try again. Nothing "
                       "was changed.", mention=trusted_role.mention))
        if reviewer_role is not None and reviewer_role.is_default():
            raise InvalidInput(tr("I never ping @everyone. Pick a role for your reviewers."))
        options = (hold_days, min_posts, min_account_age_days, queue_channel, notify,
                   notice_channel, trusted_role, contact_channel, reviewer_role,
                   queue_ping_minutes, notice_seconds)
        if all(o is None for o in options):
            await self._reply(interaction, describe_settings(
                self.bot.guild_settings.get(guild.id).linkhold))
            return

        def mutate(config: GuildConfig) -> None:
            section = config.linkhold
            if hold_days is not None:
                section.hold_days = hold_days
            if min_posts is not None:
                section.min_posts = min_posts
            if min_account_age_days is not None:
                section.min_account_age_days = min_account_age_days
            if queue_channel is not None:
                section.queue_channel = queue_channel.id
            if notify is not None:
                section.notify = notify
            if notice_channel is not None:
                section.notice_channel = notice_channel.id
            if trusted_role is not None:
                section.trusted_role = trusted_role.id
            if contact_channel is not None:
                section.contact_channel = contact_channel.id
            if reviewer_role is not None:
                section.reviewer_role = reviewer_role.id
            if queue_ping_minutes is not None:
                section.queue_ping_minutes = queue_ping_minutes
            if notice_seconds is not None:
                section.notice_seconds = notice_seconds

        new = await self._change(interaction, admin, mutate)
        await reply_ephemeral(interaction, tr("Saved.") + "\n" + describe_settings(new.linkhold))

    @linkhold.command(name="exempt", description="Never hold links from members with this role")
    @app_commands.describe(role="The role whose members are never held")
    async def exempt(self, interaction: discord.Interaction, role: discord.Role) -> None:
        """Exempt a role (admins)."""
        admin = require_admin(interaction)
        assert interaction.guild_id is not None
        await refuse_power_role(self.bot, interaction.guild_id, role)

        def mutate(config: GuildConfig) -> None:
            if role.id not in config.linkhold.exempt_roles:
                config.linkhold.exempt_roles = [*config.linkhold.exempt_roles, role.id]

        await self._change(interaction, admin, mutate)
        await self._reply(interaction, tr("Members with {mention} are never held.",
                                          mention=role.mention))

    @linkhold.command(name="unexempt", description="Apply the rules to this role again")
    @app_commands.describe(role="An exempt role")
    async def unexempt(self, interaction: discord.Interaction, role: discord.Role) -> None:
        """Remove a role's exemption (admins)."""
        admin = require_admin(interaction)
        current = self.bot.guild_settings.get(admin.guild.id).linkhold.exempt_roles
        if role.id not in current:
            raise InvalidInput(tr("{mention} isn't exempt.", mention=role.mention))

        def mutate(config: GuildConfig) -> None:
            config.linkhold.exempt_roles = [r for r in config.linkhold.exempt_roles
                                            if r != role.id]

        await self._change(interaction, admin, mutate)
        await self._reply(interaction, tr("{mention} is no longer exempt.", mention=role.mention))

    @linkhold.command(name="ignore", description="Don't check links in this channel")
    @app_commands.describe(channel="A channel, forum or category (e.g. #resources)")
    async def ignore(self, interaction: discord.Interaction, channel: IgnorableChannel) -> None:
        """Ignore a channel, forum or category (admins)."""
        admin = require_admin(interaction)

        def mutate(config: GuildConfig) -> None:
            if channel.id not in config.linkhold.ignored_channels:
                config.linkhold.ignored_channels = [*config.linkhold.ignored_channels,
                                                    channel.id]

        await self._change(interaction, admin, mutate)
        await self._reply(interaction, tr("New members' links in {mention} pass without review.",
                                          mention=channel.mention))

    @linkhold.command(name="unignore", description="Check links in this channel again")
    @app_commands.describe(channel="An ignored channel")
    async def unignore(self, interaction: discord.Interaction, channel: IgnorableChannel) -> None:
        """Stop ignoring a channel (admins)."""
        admin = require_admin(interaction)
        current = self.bot.guild_settings.get(admin.guild.id).linkhold.ignored_channels
        if channel.id not in current:
            raise InvalidInput(tr("{mention} isn't ignored.", mention=channel.mention))

        def mutate(config: GuildConfig) -> None:
            config.linkhold.ignored_channels = [c for c in config.linkhold.ignored_channels
                                                if c != channel.id]

        await self._change(interaction, admin, mutate)
        await self._reply(interaction, tr("New members' links in {mention} are checked again.",
                                          mention=channel.mention))

    @linkhold.command(name="automod",
                      description="Let Discord's AutoMod block new members' links (admins)")
    @app_commands.describe(state="on: Steward keeps one AutoMod rule; off: it removes it")
    async def automod_switch(self, interaction: discord.Interaction,
                             state: Literal["on", "off"]) -> None:
        """Turn Steward's AutoMod rule on or off (admins)."""
        admin = require_admin(interaction)
        guild = admin.guild
        wanted = state == "on"

        def mutate(config: GuildConfig) -> None:
            config.linkhold.automod = wanted

        _, _, changes = await self.bot.guild_settings.update(guild.id, mutate,
                                                             actor_id=admin.id)
        outcome = (self.automod.state(guild.id).sync if changes
                   else await self.automod.sync_rule(guild.id))
        await reply_ephemeral(interaction, describe_automod(
            outcome, self.automod.state(guild.id).truncated,
            self.bot.guild_settings.get(guild.id).linkhold))


def describe_automod(outcome: str | None, truncated: list[str],
                     settings: LinkHoldSettings) -> str:
    """The reply to `/linkhold automod`: what happened, why it matters, what next."""
    if outcome in ("created", "updated", "unchanged"):
        text = (tr("AutoMod now blocks new members' links before anyone sees them, and each "
                "block becomes a held post in the queue."))
        if settings.trusted_role is None:
            text += (tr(" No trusted role is set yet, so AutoMod blocks everyone without a "
                     "moderator or exempt role: set one with `/linkhold settings trusted_role:`."))
        return "\n".join([text, *truncated])
    if outcome in ("deleted", "off"):
        return (tr("AutoMod is off for links: Steward's rule is removed, and Steward holds new "
                "members' links itself as before."))
    if outcome == "forbidden":
        return (tr("I need the Manage Server permission to keep an AutoMod rule. Until then I "
                "hold new members' links myself. Server Settings → Roles → Steward → allow "
                "Manage Server, then run this again."))
    return (tr("Discord didn't accept the AutoMod rule right now, so I hold new members' links "
            "myself. `/steward doctor` shows why."))
