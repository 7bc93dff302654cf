"""Care on screen: the moderators' alert card, its persistent buttons, the support modal.

Buttons are `DynamicItem`s whose custom_id carries only the alert id and the action
(`steward:care:12:claim`); the state is read from the database on every click, so they keep
working after a restart. Every click and every modal submit checks the moderator again.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import discord

from bot.db.care import DM_CLOSED, SENT, Alert
from bot.domain.holds import code_span
from bot.domain.text import truncate
from bot.i18n import N_, tr
from bot.interactions import StewardModal, guarded
from bot.messaging import reply_ephemeral
from bot.ui.access import checked_moderator, services
from bot.ui.language import language_for_member

Action = Literal["claim", "support"]

_BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "claim": (N_("I'll reach out"), discord.ButtonStyle.primary),
    "support": (N_("Send support message"), discord.ButtonStyle.secondary),
}

TITLE = N_("A member may be struggling")
FALLBACK_NOTE = N_("Note: the server's own support message has a mistake in it, so this is "
                   "Steward's default. An admin can fix it with `/care settings support_message`.")


def alert_embed(alert: Alert) -> discord.Embed:
    """The card: who, where (a jump link), what the detector saw, who is reaching out."""
    done = alert.claimed_by is not None or alert.support_sent
    embed = discord.Embed(
        title=tr(TITLE), colour=discord.Colour.blue() if done else discord.Colour.gold())
    when = int(alert.created_at.timestamp())
    lines = [
        tr("**Member:** <@{member_id}> (`{member_id}`)", member_id=alert.member_id),
        (tr("**Post:** held for review (it has a link), so it is not in <#{channel_id}>: [read it "
            "on its queue card]({held_url})",
            channel_id=alert.channel_id, held_url=alert.held_url) if alert.held_url else
         tr("**Post:** [jump to the post]({jump_url}) in <#{channel_id}>",
            jump_url=alert.jump_url, channel_id=alert.channel_id)),
        tr("**When:** <t:{when}:f> (<t:{when}:R>)", when=when),
        tr("**Why:** it reads like ") + ", ".join(code_span(p, 80) for p in alert.matched[:5]),
        tr("**Quiet until:** <t:{int}:f>: Steward sends this member no automated replies, "
           "suggestions or check-ins until then.", int=int(alert.quiet_until.timestamp())),
    ]
    if alert.claimed_by is not None:
        lines.append(tr("**Reaching out:** <@{claimed_by}>", claimed_by=alert.claimed_by))
    else:
        lines.append(tr("**Reaching out:** nobody yet. Press *I'll reach out* so others know."))
    if alert.support_status == SENT:
        lines.append(tr("**Support message:** sent by DM by <@{support_by}>",
                        support_by=alert.support_by))
    elif alert.support_status == DM_CLOSED:
        lines.append(tr("**Support message:** not delivered (their DMs are closed)"))
    embed.description = "\n".join(lines)
    embed.set_footer(text=tr("Care alert #{id} · Steward never messages the member itself",
                             id=alert.id))
    return embed


def forgotten_embed(alert: Alert) -> discord.Embed:
    """What a forgotten member's card becomes."""
    return discord.Embed(title=tr("Care alert #{id}",
                                  id=alert.id), colour=discord.Colour.light_grey(),
                         description=tr("This member asked to be forgotten, so this alert was "
                                     "deleted."))


def alert_controls(alert: Alert) -> discord.ui.View:
    """The card's buttons (the support button closes once the message was sent)."""
    view = discord.ui.View(timeout=None)
    view.add_item(CareButton(alert.id, "claim"))
    view.add_item(CareButton(alert.id, "support", disabled=alert.support_sent))
    return view


# --- buttons and the modal ------------------------------------------------------------------------






class CareButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"steward:care:(?P<id>[0-9]+):(?P<action>claim|support)",
):
    """A button on a care card; its custom_id names the alert and the action."""

    def __init__(self, alert_id: int, action: Action, *, disabled: bool = False) -> None:
        label, style = _BUTTONS[action]
        super().__init__(discord.ui.Button(label=tr(label), style=style, disabled=disabled,
                                           custom_id=f"steward:care:{alert_id}:{action}"))
        self.alert_id = alert_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> CareButton:
        """Rebuild the button from its custom_id (works after a restart)."""
        return cls(int(match["id"]), match["action"])  # type: ignore[arg-type]

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator, then claim or open the support message."""
        moderator = checked_moderator(interaction)
        service = services(interaction).care
        guild_id = moderator.guild.id
        if self.action == "support":  # the member reads it: in their language
            member_id = (await service.alert(guild_id, self.alert_id)).member_id
            draft = await service.support_draft(
                guild_id, self.alert_id, moderator.id, moderator.display_name,
                language_for_member(interaction.client, guild_id, member_id))
            await interaction.response.send_modal(SupportModal(self.alert_id, draft.text,
                                                               fallback=draft.fallback))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        claim = await service.claim(guild_id, self.alert_id, moderator.id)
        alert = claim.alert
        if claim.claimed:
            text = (tr("Thank you. The others can see you're reaching out to <@{member_id}>. The "
                       "post: {link}", member_id=alert.member_id, link=alert.link))
        else:
            text = (tr("<@{claimed_by}> is already reaching out to this member. Check with them "
                       "before you write too.", claimed_by=alert.claimed_by))
        await reply_ephemeral(interaction, text)


class SupportModal(StewardModal):
    """Review (and edit) the server's support message, then send it by DM, once."""

    def __init__(self, alert_id: int, draft: str, *, fallback: bool = False) -> None:
        super().__init__(title=tr("Send a support message"), timeout=900)
        self.alert_id = alert_id
        self.fallback = fallback  # the server's template failed: this is Steward's default
        if fallback:
            self.add_item(discord.ui.TextDisplay(tr(FALLBACK_NOTE)))
        self.text: discord.ui.TextInput[SupportModal] = discord.ui.TextInput(
            label=tr("Message (sent by DM, signed with your name)"),
            style=discord.TextStyle.paragraph, default=truncate(draft, 1800),
            max_length=1800, required=True,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator again, then send it."""
        moderator = checked_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        care = services(interaction).care
        member_id = (await care.alert(moderator.guild.id, self.alert_id)).member_id
        result = await care.send_support(
            moderator.guild.id, self.alert_id, moderator.id, moderator.display_name,
            self.text.value,
            language_for_member(interaction.client, moderator.guild.id, member_id))
        member = f"<@{result.alert.member_id}>"
        if result.delivered:
            text = tr("Sent to {member} by DM, signed with your name.", member=member)
        else:
            text = (tr("I couldn't DM {member}: their DMs are closed. Please reach out another "
                       "way, for example a gentle reply in the channel or a message from a "
                       "moderator they know.", member=member))
        if self.fallback:
            text += "\n" + tr(FALLBACK_NOTE)
        await reply_ephemeral(interaction, text)
