"""Follow-up commands: the "Ask original poster" menu, `/followup ...` and `/preferences`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters import followups as facts
from bot.adapters.followups import FollowupAdapter
from bot.app import StewardBot
from bot.domain import templates
from bot.domain.durations import DurationError, parse_when
from bot.domain.followups import ASK_PLACEHOLDERS, CHECKIN_PLACEHOLDERS
from bot.errors import InvalidInput
from bot.i18n import custom_or_default, tr
from bot.messaging import reply_ephemeral
from bot.permissions import (
    CANT_SEE_QUESTION,
    MODERATOR_DEFAULT,
    require_admin,
    require_may_post,
    require_moderator,
)
from bot.routing import PRIORITY_FOLLOWUPS
from bot.services.followups import AlreadyAsked, FollowupService
from bot.ui.followups import NotifyButton, StopButton, describe_reminder, notify_view, stamp
from config.guild import GuildConfig

log = logging.getLogger(__name__)

RESET = "default"


def _when(text: str, guild_id: int, bot: StewardBot) -> datetime:
    tz = bot.guild_settings.get(guild_id).core.timezone
    try:
        return parse_when(text, bot.clock.now(), tz)
    except DurationError as exc:
        raise InvalidInput(str(exc)) from None


class FollowupCog(commands.Cog, name="Follow-ups"):
    """Tag original posters, check in once, remind members."""

    followup = app_commands.Group(
        name="followup", description="Follow-ups and reminders that tag a member (moderators)",
        guild_only=True, default_permissions=MODERATOR_DEFAULT)

    def __init__(self, bot: StewardBot, service: FollowupService,
                 adapter: FollowupAdapter) -> None:
        self.bot = bot
        self.service = service
        self.adapter = adapter
        self.ask_menu = app_commands.ContextMenu(
            name="Ask original poster", callback=self.ask_from_menu)
        self.ask_menu.guild_only = True
        self.ask_menu.default_permissions = MODERATOR_DEFAULT

    async def cog_load(self) -> None:
        """Load open follow-ups, route messages, register buttons, start the scheduler."""
        await self.service.load()
        self.bot.router.add("followups", self._on_message, priority=PRIORITY_FOLLOWUPS)
        self.bot.add_dynamic_items(NotifyButton, StopButton)
        self.bot.tree.add_command(self.ask_menu)
        self.bot.background.spawn(self._start_when_ready(), name="followups-start", daemon=True)

    async def _on_message(self, message: discord.Message) -> bool:
        """Router handler: an answer in a watched channel, or a new post in an autocheck forum.

        Costs one set lookup for every other message. Never consumes the message.
        """
        if self.service.is_watched(message.channel.id):
            self.bot.background.spawn(self.service.check_answer(facts.seen_message(message)),
                                      name="followup-answer")
        elif (post := facts.forum_post(message)) is not None:
            days = self.service.autocheck_days(post)
            if days is not None:
                self.bot.background.spawn(self.service.schedule_autocheck(post, days),
                                          name="followup-autocheck")
        return False

    async def _start_when_ready(self) -> None:
        await self.bot.wait_until_ready()
        await self.service.start()

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """A member left (raw, so uncached members count): close what would tag them."""
        try:
            await self.service.member_left(payload.guild_id, payload.user.id)
        except Exception:
            log.exception("could not close the follow-ups of member %s who left guild %s",
                          payload.user.id, payload.guild_id)

    async def cog_unload(self) -> None:
        """Undo cog_load (the scheduler's rows are recovered on the next start)."""
        self.bot.router.remove("followups")
        self.bot.remove_dynamic_items(NotifyButton, StopButton)
        self.bot.tree.remove_command(self.ask_menu.name, type=self.ask_menu.type)
        await self.service.scheduler.abort()

    def _config(self, interaction: discord.Interaction) -> GuildConfig:
        assert interaction.guild_id is not None
        return self.bot.guild_settings.get(interaction.guild_id)

    # --- asking

    async def ask_from_menu(self, interaction: discord.Interaction,
                            message: discord.Message) -> None:
        """Message menu "Ask original poster" (moderators)."""
        moderator = require_moderator(interaction, self._config(interaction).core)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._ask(interaction, moderator, message, None, None)

    @followup.command(name="ask", description="Tag the original poster under a question")
    @app_commands.describe(
        question="Link to the question (right-click it → Copy Message Link)",
        op="The member to tag, if it isn't the thread's starter",
        days="Check in once after this many days without an answer (default 7)",
    )
    async def ask(self, interaction: discord.Interaction, question: str,
                  op: discord.Member | None = None,
                  days: app_commands.Range[int, 1, 365] | None = None) -> None:
        """Tag the OP (moderators)."""
        moderator = require_moderator(interaction, self._config(interaction).core)
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild is not None
        message = await self.adapter.fetch_question(interaction.guild.id, question)
        await self._ask(interaction, moderator, message, op.id if op else None, days)

    async def _ask(self, interaction: discord.Interaction, moderator: discord.Member,
                   message: discord.Message, op_id: int | None, days: int | None) -> None:
        await require_may_post(moderator, message.channel.id, CANT_SEE_QUESTION)
        op_facts = None if op_id is not None else await self.adapter.op_facts(message)
        try:
            result = await self.service.ask(asker_id=moderator.id,
                                            question=facts.question(message),
                                            op_facts=op_facts, op_id=op_id, days=days)
        except AlreadyAsked as already:
            earlier = already.followup
            who = tr("You") if earlier.asker_id == moderator.id else f"<@{earlier.asker_id}>"
            await reply_ephemeral(
                interaction,
                tr("{who} already asked <@{op_id}> about this on {stamp} (follow-up #{id}), so I "
                   "won't tag them again. Press the button to hear when they reply.",
                   who=who, op_id=earlier.op_id, stamp=stamp(earlier.asked_at), id=earlier.id),
                view=notify_view(earlier.id))
            return
        await reply_ephemeral(
            interaction,
            tr("Done: I tagged <@{op_id}> ({tag_jump}). You'll hear when they reply. If they "
               "haven't by {stamp}, I'll check in with them once (follow-up #{id}).",
               op_id=result.followup.op_id, tag_jump=result.tag_jump,
               stamp=stamp(result.checkin_due), id=result.followup.id),
        )

    # --- reminders

    @followup.command(name="remind", description="Tag a member in a thread at a later time")
    @app_commands.describe(
        member="Who to tag", when="30m, 2h, 3d, 2w, 1d12h or 2026-03-14 15:30",
        note="A short note to include", channel="Where to post (default: here)",
    )
    async def remind(self, interaction: discord.Interaction, member: discord.Member, when: str,
                     note: app_commands.Range[str, 1, 1500] | None = None,
                     channel: discord.TextChannel | discord.Thread | None = None) -> None:
        """Schedule one tag (moderators)."""
        moderator = require_moderator(interaction, self._config(interaction).core)
        assert interaction.guild is not None
        due = _when(when, interaction.guild.id, self.bot)
        await interaction.response.defer(ephemeral=True, thinking=True)
        place = channel or interaction.channel
        if not isinstance(place, discord.TextChannel | discord.Thread):
            raise InvalidInput(tr("Pick a text channel, thread or forum post for the reminder."))
        if member.bot:
            raise InvalidInput(tr("Reminders are for members, not bots."))
        await require_may_post(moderator, place.id)
        reminder = await self.service.remind(
            guild_id=interaction.guild.id, moderator_id=moderator.id, member_id=member.id,
            place=facts.place_of(place), due=due, note=note)
        await reply_ephemeral(
            interaction, tr("Scheduled reminder #{id}: I'll tag {mention} in <#{id2}> at {stamp}.",
                            id=reminder.id, mention=member.mention, id2=place.id,
                            stamp=stamp(reminder.due_at)))

    @followup.command(name="list", description="Pending check-ins and reminders here")
    async def list_pending(self, interaction: discord.Interaction) -> None:
        """List pending items (moderators)."""
        require_moderator(interaction, self._config(interaction).core)
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        pending = await self.service.pending(interaction.guild_id)
        if not pending:
            await reply_ephemeral(interaction, tr("Nothing is scheduled in this server."))
            return
        lines = [describe_reminder(r) for r in pending]
        await reply_ephemeral(interaction, tr("**Scheduled**") + "\n" + "\n".join(lines)
                              + tr("\nCancel with `/followup cancel id:`, move with "
                                "`/followup snooze id: when:`."))

    @followup.command(name="cancel", description="Cancel a pending check-in or reminder")
    @app_commands.describe(id="The number shown by /followup list")
    async def cancel(self, interaction: discord.Interaction, id: int) -> None:  # noqa: A002
        """Cancel one (moderators)."""
        moderator = require_moderator(interaction, self._config(interaction).core)
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild_id is not None
        reminder = await self.service.cancel(interaction.guild_id, id, moderator.id)
        await reply_ephemeral(interaction, tr("Cancelled {describe_reminder}.",
                                              describe_reminder=describe_reminder(reminder)))

    @followup.command(name="snooze", description="Move a pending check-in or reminder")
    @app_commands.describe(id="The number shown by /followup list",
                           when="30m, 2h, 3d, 2w, 1d12h or 2026-03-14 15:30")
    async def snooze(self, interaction: discord.Interaction, id: int,  # noqa: A002
                     when: str) -> None:
        """Snooze one (moderators)."""
        moderator = require_moderator(interaction, self._config(interaction).core)
        assert interaction.guild_id is not None
        due = _when(when, interaction.guild_id, self.bot)
        await interaction.response.defer(ephemeral=True, thinking=True)
        reminder = await self.service.snooze(interaction.guild_id, id, due, moderator.id)
        await reply_ephemeral(interaction, tr("Moved: {describe_reminder}.",
                                              describe_reminder=describe_reminder(reminder)))

    @followup.command(name="autocheck", description="Check in once on forum posts after n days")
    @app_commands.describe(forum="The forum", days="Days after a post, or off")
    async def autocheck(self, interaction: discord.Interaction, forum: discord.ForumChannel,
                        days: str) -> None:
        """Turn automatic check-ins on or off for a forum (moderators)."""
        moderator = require_moderator(interaction, self._config(interaction).core)
        assert interaction.guild_id is not None
        value = days.strip().lower()
        if value == "off":
            number = None
        elif value.isdigit() and 1 <= int(value) <= 365:
            number = int(value)
        else:
            raise InvalidInput(tr("`days` is a number from 1 to 365, or `off`."))

        def mutate(config: GuildConfig) -> None:
            forums = dict(config.followup.autocheck_forums)
            if number is None:
                forums.pop(forum.id, None)
            else:
                forums[forum.id] = number
            config.followup.autocheck_forums = forums

        await self.bot.guild_settings.update(interaction.guild_id, mutate,
                                             actor_id=moderator.id)
        if number is None:
            text = tr("Automatic check-ins are off in {mention}.", mention=forum.mention)
        else:
            text = (tr("In {mention}, {number} days after a new post, if others replied and the "
                       "poster hasn't been back, I'll check in with them once.",
                       mention=forum.mention, number=number))
        await reply_ephemeral(interaction, text)

    @followup.command(name="settings", description="Time zone and wording of follow-ups (admins)")
    @app_commands.describe(
        timezone="The server's time zone for dates, an IANA name like Europe/London",
        days="Default days before the one check-in",
        ask_template="Wording of the tag: {op} {asker} {question} {jump} ('default' resets)",
        checkin_template="Wording of the check-in: {op} {jump} {days} ('default' resets)",
    )
    async def settings(self, interaction: discord.Interaction, timezone: str | None = None,
                       days: app_commands.Range[int, 1, 365] | None = None,
                       ask_template: str | None = None,
                       checkin_template: str | None = None) -> None:
        """Show or change follow-up settings (admins)."""
        admin = require_admin(interaction)
        assert interaction.guild_id is not None
        for text, allowed in ((ask_template, ASK_PLACEHOLDERS),
                              (checkin_template, CHECKIN_PLACEHOLDERS)):
            if text is not None and text.strip().lower() != RESET:
                try:
                    templates.validate(text, allowed)
                except templates.TemplateError as exc:
                    raise InvalidInput(str(exc)) from None

        def mutate(config: GuildConfig) -> None:
            if timezone is not None:
                config.core.timezone = timezone.strip()
            if days is not None:
                config.followup.default_days = days
            if ask_template is not None:
                reset = ask_template.strip().lower() == RESET
                config.followup.ask_template = None if reset else ask_template
            if checkin_template is not None:
                reset = checkin_template.strip().lower() == RESET
                config.followup.checkin_template = None if reset else checkin_template

        _, new, changes = await self.bot.guild_settings.update(interaction.guild_id, mutate,
                                                               actor_id=admin.id)
        f = new.followup
        await reply_ephemeral(interaction, "\n".join([
            tr("Saved.") if changes else tr("Follow-up settings:"),
            tr("**Time zone:** {zone}", zone="`" + new.core.timezone + "`"),
            tr("**Check in after:** {days} days", days=f.default_days),
            tr("**Tag wording:** {tag}; **check-in wording:** {checkin}",
               tag=custom_or_default(f.ask_template),
               checkin=custom_or_default(f.checkin_template)),
            tr("**Automatic check-ins:** {forums}", forums=", ".join(
                tr("<#{forum}> after {days} days", forum=k, days=v)
                for k, v in f.autocheck_forums.items()) or tr("off")),
        ]))

    # --- members

    @app_commands.command(name="preferences", description="Your follow-up pings and notices")
    @app_commands.guild_only()
    @app_commands.describe(
        followup_pings="on: moderators may tag you about questions on your posts; off: never",
        reply_notices="How to tell you someone you follow replied: a mention or a DM",
    )
    async def preferences(self, interaction: discord.Interaction,
                          followup_pings: Literal["on", "off"] | None = None,
                          reply_notices: Literal["mention", "dm"] | None = None) -> None:
        """A member's own follow-up wishes."""
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        prefs = await self.service.set_prefs(
            interaction.guild_id, interaction.user.id,
            pings=None if followup_pings is None else followup_pings == "on",
            notify_dm=None if reply_notices is None else reply_notices == "dm",
        )
        pings = (tr("On: moderators may tag you about questions on your posts, and I may check "
                 "in once.") if prefs.pings else
                 tr("Off: nobody will be tagged about your posts by me. No reminders, no "
                 "check-ins."))
        notices = tr("by DM") if prefs.notify_dm else tr("with a mention in the thread")
        await reply_ephemeral(interaction, tr("**Follow-up pings:** {pings}\n**Reply notices** "
                                              "(when you follow a question): {notices}.\nChange "
                                              "these any time with `/preferences`.",
                                              pings=pings, notices=notices))
