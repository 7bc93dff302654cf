"""Follow-ups' presentation: the persistent buttons "Notify me when they reply" (on a tag) and
"Please don't remind me" (on a check-in or reminder), and the views that carry them.

The custom_ids carry only a key (state is in the database), so the buttons work after a restart.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.followups import jump_link
from bot.errors import NotFound
from bot.i18n import N_, tr
from bot.interactions import guarded
from bot.messaging import reply_ephemeral
from bot.services.followups import KIND_AUTOCHECK, KIND_CHECKIN, KIND_REMIND, FollowupService

if TYPE_CHECKING:
    from bot.db.reminders import Reminder

NOTIFY_LABEL = N_("Notify me when they reply")
STOP_LABEL = N_("Please don't remind me")


KIND_LABEL = {KIND_CHECKIN: N_("check-in"), KIND_AUTOCHECK: N_("auto check-in"),
              KIND_REMIND: "reminder"}


def stamp(when: datetime) -> str:
    """A Discord timestamp every reader sees in their own time zone."""
    return f"<t:{int(when.timestamp())}:f>"


def describe_reminder(reminder: Reminder) -> str:
    """One line of `/followup list`."""
    who = f"<@{reminder.member_id}>" if reminder.member_id else "?"
    return (tr("**#{id}** {get} for {who} in <#{channel_id}>, {stamp}",
               id=reminder.id, get=tr(KIND_LABEL.get(reminder.kind, reminder.kind)), who=who,
                                      channel_id=reminder.channel_id,
                                      stamp=stamp(reminder.due_at)))


def notify_custom_id(followup_id: int) -> str:
    """The "Notify me when they reply" button of a tag message."""
    return f"steward:followup:{followup_id}:notify"


def stop_custom_id(reminder_id: int) -> str:
    """The "Please don't remind me" button of a check-in or reminder (also its marker)."""
    return f"steward:reminder:{reminder_id}:stop"


def _service(interaction: discord.Interaction) -> FollowupService:
    return interaction.client.services.followups  # type: ignore[attr-defined, no-any-return]


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise NotFound(tr("This button only works in the server."))
    return interaction.guild_id


class NotifyButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                   template=r"steward:followup:(?P<id>\d+):notify"):
    """On a tag message: anyone can ask to hear when the original poster replies."""

    def __init__(self, followup_id: int) -> None:
        super().__init__(discord.ui.Button(label=tr(NOTIFY_LABEL), emoji="🔔",
                                           style=discord.ButtonStyle.secondary,
                                           custom_id=notify_custom_id(followup_id)))
        self.followup_id = followup_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any],
        match: re.Match[str], /,
    ) -> NotifyButton:
        """Rebuild from the custom_id (the follow-up id is the key; state is in the DB)."""
        return cls(int(match["id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Subscribe the clicker; pressing again takes them off the list."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = _service(interaction)
        subscribed, followup = await service.subscribe(
            self.followup_id, interaction.user.id, _guild_id(interaction))
        if followup.status == "answered" and followup.answer_message_id is not None:
            jump = jump_link(followup.guild_id, followup.channel_id, followup.answer_message_id)
            text = tr("They've already replied: {jump}", jump=jump)
        elif followup.status != "open":
            text = tr("This follow-up is closed, so there's nothing to wait for.")
        elif subscribed:
            text = (tr("Got it: I'll let you know once when they reply. Choose between a mention "
                    "here and a DM with `/preferences reply_notices:`."))
        else:
            await service.unsubscribe(self.followup_id, interaction.user.id,
                                      _guild_id(interaction))
            text = (tr("Done: you're off the list, so I won't tell you when they reply. Press "
                    "the button again if you change your mind."))
        await reply_ephemeral(interaction, text)


class StopButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                 template=r"steward:reminder:(?P<id>\d+):stop"):
    """On every check-in and reminder: the tagged member turns follow-up pings off."""

    def __init__(self, reminder_id: int) -> None:
        super().__init__(discord.ui.Button(label=tr(STOP_LABEL),
              style=discord.ButtonStyle.secondary,
                                           custom_id=stop_custom_id(reminder_id)))
        self.reminder_id = reminder_id

    @classmethod
    async def from_custom_id(  # type: ignore[override]
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any],
        match: re.Match[str], /,
    ) -> StopButton:
        """Rebuild from the custom_id (the reminder id is the key)."""
        return cls(int(match["id"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Opt the clicker out, if they are the member this reminder tagged."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        opted_out, member_id = await _service(interaction).stop_button(
            _guild_id(interaction), self.reminder_id, interaction.user.id)
        if opted_out:
            text = (tr("Done. I won't tag you for follow-ups in this server any more. "
                    "Take care. If you change your mind: `/preferences followup_pings:on`."))
        else:
            who = f"<@{member_id}>" if member_id else tr("the person it tagged")
            text = (tr("This button is for {who}. To stop follow-up pings for yourself, use "
                       "`/preferences followup_pings:off`.", who=who))
        await reply_ephemeral(interaction, text)


def notify_view(followup_id: int) -> discord.ui.View:
    """The tag message's view (nothing kept per message: the DynamicItem answers clicks)."""
    view = discord.ui.View(timeout=None)
    view.add_item(NotifyButton(followup_id))
    return view


def stop_view(reminder_id: int) -> discord.ui.View:
    """A check-in's or reminder's view."""
    view = discord.ui.View(timeout=None)
    view.add_item(StopButton(reminder_id))
    return view
