"""The queue card's persistent buttons and the modals/confirmations they open.

Buttons are `DynamicItem`s whose custom_id carries only the hold id and the action
(`steward:hold:123:approve`); everything else is read from the database on each click, so they
keep working after a restart. Every click and every modal submit checks the moderator again.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.domain.holds import code_span
from bot.domain.text import truncate
from bot.errors import NotModerator
from bot.interactions import StewardModal, StewardView, guarded
from bot.messaging import reply_ephemeral
from bot.permissions import require_moderator
from bot.services.linkhold import FULL_TEXT_LIMIT, Decision, LinkHoldService

if TYPE_CHECKING:
    from bot.app import StewardBot
    from bot.db.holds import Hold

Action = Literal["approve", "edit", "reject", "trust", "timeout", "ban", "full"]

_BUTTONS: dict[str, tuple[str, discord.ButtonStyle, int]] = {
    "approve": ("Approve", discord.ButtonStyle.success, 0),
    "edit": ("Edit & approve", discord.ButtonStyle.primary, 0),
    "reject": ("Reject", discord.ButtonStyle.secondary, 0),
    "trust": ("Trust member", discord.ButtonStyle.primary, 0),
    "full": ("Full text", discord.ButtonStyle.secondary, 1),
    "timeout": ("Timeout", discord.ButtonStyle.danger, 1),
    "ban": ("Ban", discord.ButtonStyle.danger, 1),
}

TELL_YES = "yes"
TELL_NO = "no"


def _bot(interaction: discord.Interaction) -> StewardBot:
    return interaction.client  # type: ignore[return-value]


def _service(interaction: discord.Interaction) -> LinkHoldService:
    return _bot(interaction).services.linkhold


def _moderator(interaction: discord.Interaction) -> discord.Member:
    if interaction.guild_id is None:
        raise NotModerator
    core = _bot(interaction).guild_settings.get(interaction.guild_id).core
    return require_moderator(interaction, core)


def describe(decision: Decision) -> str:
    """A short ephemeral confirmation of what just happened."""
    hold = decision.hold
    if hold.status == "approved":
        where = decision.repost.jump_url if decision.repost else hold.repost_url
        text = f"Approved hold #{hold.id}. It's posted here: {where}"
        if decision.repost and decision.repost.member_notified == "none":
            text += "\nI couldn't notify the member (DMs closed and no channel to ping in)."
        if hold.decision == "trust":
            text += f"\n<@{hold.member_id}> is now trusted: their links won't be held again."
        return text
    text = f"Rejected hold #{hold.id}."
    if decision.member_told is True:
        text += " I told the member by DM."
    elif decision.member_told is False:
        text += " I couldn't tell the member: their DMs are closed."
    if hold.decision in ("timeout", "ban") and decision.note is None:
        verb = "timed out for 7 days" if hold.decision == "timeout" else "banned"
        text += f" <@{hold.member_id}> was {verb}."
    if decision.note:
        text += f"\n{decision.note}"
    return text


class HoldButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"steward:hold:(?P<id>[0-9]+):(?P<action>approve|edit|reject|trust|timeout|ban|full)",
):
    """One button on a queue card; its custom_id names the hold and the action."""

    def __init__(self, hold_id: int, action: Action, *, disabled: bool = False) -> None:
        label, style, row = _BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, disabled=disabled,
                              custom_id=f"steward:hold:{hold_id}:{action}"),
            row=row,
        )
        self.hold_id = hold_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button[discord.ui.View],
        match: re.Match[str],
        /,
    ) -> HoldButton:
        """Rebuild the button from its custom_id (works after a restart)."""
        return cls(int(match["id"]), match["action"])  # type: ignore[arg-type]

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator, then carry out the action."""
        moderator = _moderator(interaction)
        service = _service(interaction)
        guild_id = moderator.guild.id
        if self.action == "edit":
            hold = await service.get_for_review(guild_id, self.hold_id)
            if hold.status != "pending":
                raise await service.already_decided(hold.id)
            await interaction.response.send_modal(EditApproveModal(hold))
            return
        if self.action == "reject":
            hold = await service.get_for_review(guild_id, self.hold_id)
            if hold.status != "pending":
                raise await service.already_decided(hold.id)
            await interaction.response.send_modal(RejectModal(hold.id))
            return
        if self.action in ("timeout", "ban"):
            hold = await service.get_for_review(guild_id, self.hold_id)
            if hold.status != "pending":
                raise await service.already_decided(hold.id)
            verb = "Time out" if self.action == "timeout" else "Ban"
            detail = ("for 7 days" if self.action == "timeout"
                      else "and delete their messages from the last day")
            await reply_ephemeral(
                interaction,
                f"{verb} <@{hold.member_id}> {detail}, and reject this post? "
                "Only do this for obvious scams.",
                view=ConfirmPunish(hold.id, self.action),  # type: ignore[arg-type]
            )
            return
        if self.action == "full":
            hold = await service.get_for_review(guild_id, self.hold_id)
            await reply_ephemeral(interaction, embeds=[full_text_embed(hold)])
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        decision = await service.approve(guild_id, self.hold_id, moderator.id,
                                         trust=self.action == "trust")
        await reply_ephemeral(interaction, describe(decision))


def full_text_embed(hold: Hold) -> discord.Embed:
    """The whole held text for one moderator (links stay unclickable inside a code block)."""
    embed = discord.Embed(title=f"Hold #{hold.id}: full text", colour=discord.Colour.orange())
    if hold.content is None:
        embed.description = "*The content was removed after the retention period.*"
        return embed
    parts = []
    if hold.forum_title:
        parts.append(f"**Title:** {code_span(hold.forum_title, 300)}")
    body = truncate(hold.content.replace("```", "ˋˋˋ"), FULL_TEXT_LIMIT)
    parts.append(f"```\n{body}\n```" if body else "*(no text)*")
    embed.description = "\n".join(parts)
    return embed


def hold_controls(hold: Hold, active: bool) -> discord.ui.View:
    """The queue card's buttons: all enabled while pending; only "Full text" afterwards."""
    view = discord.ui.View(timeout=None)
    for action in ("approve", "edit", "reject", "trust", "full", "timeout", "ban"):
        enabled = active or (action == "full" and hold.content is not None)
        view.add_item(HoldButton(hold.id, action, disabled=not enabled))  # type: ignore[arg-type]
    return view


class EditApproveModal(StewardModal):
    """Edit the held text, then approve it."""

    def __init__(self, hold: Hold) -> None:
        super().__init__(title=f"Edit & approve hold #{hold.id}", timeout=600)
        self.hold_id = hold.id
        self.text: discord.ui.TextInput[EditApproveModal] = discord.ui.TextInput(
            label="The post as it will be shared",
            style=discord.TextStyle.paragraph,
            default=truncate(hold.content or "", 4000),
            max_length=4000,
            required=hold.forum_title is None,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator again, then approve the edited text."""
        moderator = _moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        decision = await _service(interaction).approve(
            moderator.guild.id, self.hold_id, moderator.id, content=self.text.value)
        await reply_ephemeral(interaction, describe(decision))


class RejectModal(StewardModal):
    """Reject with an optional reason, and choose whether to tell the member."""

    def __init__(self, hold_id: int) -> None:
        super().__init__(title=f"Reject hold #{hold_id}", timeout=600)
        self.hold_id = hold_id
        self.reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label="Reason (optional)", style=discord.TextStyle.paragraph, required=False,
            max_length=500, placeholder="e.g. This link goes to a site selling unproven cures.",
        )
        self.tell: discord.ui.Select[RejectModal] = discord.ui.Select(
            options=[
                discord.SelectOption(label="No, don't tell them", value=TELL_NO, default=True),
                discord.SelectOption(label="Yes, DM them (with the reason)", value=TELL_YES),
            ],
            required=False, min_values=0, max_values=1,
        )
        self.add_item(self.reason)
        self.add_item(discord.ui.Label(text="Tell the member?", component=self.tell))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator again, then reject."""
        moderator = _moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        decision = await _service(interaction).reject(
            moderator.guild.id, self.hold_id, moderator.id,
            reason=self.reason.value, tell_member=TELL_YES in self.tell.values,
        )
        await reply_ephemeral(interaction, describe(decision))


class ConfirmPunish(StewardView):
    """"Are you sure?" for Timeout and Ban."""

    def __init__(self, hold_id: int, action: Literal["timeout", "ban"]) -> None:
        super().__init__(timeout=300)
        self.hold_id = hold_id
        self.action: Literal["timeout", "ban"] = action
        self.confirm.label = "Yes, time them out" if action == "timeout" else "Yes, ban them"

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Carry it out (moderator and permissions checked again)."""
        moderator = _moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        assert interaction.guild is not None
        decision = await _service(interaction).punish(
            interaction.guild, self.hold_id, moderator, interaction.permissions, self.action)
        self.stop()
        await reply_ephemeral(interaction, describe(decision))

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Do nothing."""
        self.stop()
        await interaction.response.edit_message(content="Cancelled; nothing was done.", view=None)

