"""Link holds on screen: the queue card, its persistent buttons, and the modals/confirmations
they open.

Buttons are `DynamicItem`s whose custom_id carries only the hold id and the action
(`steward:hold:123:approve`); everything else is read from the database on each click, so they
keep working after a restart. Every click and every modal submit checks the moderator again.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import discord

from bot.db.holds import CLOSED_LEFT, HeldAttachment, Hold
from bot.domain.holds import code_span, snowflake_time
from bot.domain.text import truncate
from bot.i18n import N_, current, tr
from bot.interactions import StewardModal, StewardView, guarded
from bot.messaging import reply_ephemeral
from bot.permissions import may_ban, may_timeout, require_may_publish_hold, standing
from bot.services.linkhold import Decision, LinkHoldService, QueueCard
from bot.ui.access import checked_moderator, services
from bot.ui.linkhold_previews import preview_name, previewed
from bot.ui.linkhold_title import ForumTitleModal

Action = Literal["approve", "edit", "reject", "trust", "timeout", "ban", "full"]

CARD_CONTENT_LIMIT = 900
FULL_TEXT_LIMIT = 3900

_TITLES: dict[str, str] = {
    "message": N_("Held post from a new member"),
    "edit": N_("Held edit from a new member"),
    "forum_post": N_("Held forum post from a new member"),
    "forward": N_("Held forward from a new member"),
    "poll": N_("Held poll from a new member"),
    "app_post": N_("Held app message sent by a new member"),
    "thread_name": N_("Held thread name from a new member"),
    "thread_rename": N_("Held thread title from a new member"),
    "automod": N_("Post from a new member blocked by AutoMod"),
}

AUTOMOD_NOTE = (N_("Discord's AutoMod blocked this post before anyone saw it. Attachments are not "
                "delivered with a blocked post: only the text is here. Approving posts the "
                "text under the member's name."))

_BUTTONS: dict[str, tuple[str, discord.ButtonStyle, int]] = {
    "approve": (N_("Approve"), discord.ButtonStyle.success, 0),
    "edit": (N_("Edit & approve"), discord.ButtonStyle.primary, 0),
    "reject": (N_("Reject"), discord.ButtonStyle.secondary, 0),
    "trust": (N_("Approve & trust"), discord.ButtonStyle.primary, 0),
    "full": (N_("Full text"), discord.ButtonStyle.secondary, 1),
    "timeout": (N_("Timeout"), discord.ButtonStyle.danger, 1),
    "ban": (N_("Ban"), discord.ButtonStyle.danger, 1),
}

TELL_YES = "yes"
TELL_NO = "no"


# --- the queue card ---------------------------------------------------------------------------


def _size(n: int) -> str:
    number = current().number  # 1,5 MB in Spanish
    if n < 1024:
        return f"{number(n)} B"
    if n < 1024 * 1024:
        return f"{number(round(n / 1024))} KB"
    return f"{number(round(n / (1024 * 1024), 1))} MB"


def _code_block(text: str, limit: int) -> str:
    body = truncate(text.replace("```", "ˋˋˋ"), limit)
    return f"```\n{body}\n```" if body else tr("*(no text)*")


def _colour(hold: Hold) -> discord.Colour:
    return {"approved": discord.Colour.green(), "rejected": discord.Colour.dark_red(),
            CLOSED_LEFT: discord.Colour.light_grey()}.get(hold.status, discord.Colour.orange())


def _who(card: QueueCard, joined_at: datetime | None) -> list[str]:
    """The card's lines about the member, where, and how it went so far."""
    hold = card.hold
    who = [tr("**Member:** <@{member_id}> (`{member_id}`)", member_id=hold.member_id)]
    if joined_at is not None:
        who.append(tr("**Joined:** <t:{int}:R>", int=int(joined_at.timestamp())))
    account = snowflake_time(hold.member_id)
    who.append(tr("**Account created:** <t:{int}:R>", int=int(account.timestamp())))
    earlier = {k: v for k, v in card.history.items() if v}
    if sum(earlier.values()) - 1 > 0:
        parts = describe_history(earlier)
        who.append(tr("**Holds so far:** {parts}", parts=parts))
    where = f"<#{hold.parent_id}>" if hold.is_forum_post and hold.parent_id else (
        f"<#{hold.channel_id}>")
    who.append(tr("**Where:** {where}", where=where))
    if hold.forum_title is not None:
        who.append(tr("**Forum post title:** {code_span}",
                      code_span=code_span(hold.forum_title, 200)))
    elif hold.title_unknown:
        who.append(tr("**Forum post title:** not known (AutoMod doesn't pass it on)"))
    if hold.repeat_count > 1:
        who.append(tr("**Posted {repeat_count} times** (repeats removed, told once)",
                      repeat_count=hold.repeat_count))
    if hold.removal == "failed":
        who.append(tr("⚠️ **I could not remove this post** (missing permission?). It is still "
                   "visible in the channel."))
    told = {"dm": tr("by DM"), "channel": tr("with a short notice in the channel"),
            "dm+channel": tr("by DM and in the channel"), "none": tr("not told"),
            "care": tr("nothing automated: this post reads as distress"),
            "quiet": tr("nothing automated: they are in a care quiet window")}
    if hold.member_told:
        who.append(tr("**Member told:** {get}", get=told.get(hold.member_told, hold.member_told)))
    if hold.member_told == "care":
        who.append(tr("💙 **Care alert:** moderators have one for this post. Please let a person "
                   "reach out before you decide."))
    return who


def _purged(hold: Hold) -> bool:
    return hold.purged_at is not None or hold.content is None


def _link_lines(hold: Hold) -> str:
    return "\n".join(f"{code_span(x.url, 150)} — {code_span(x.domain, 60)}" for x in hold.links)


def _file_line(f: HeldAttachment) -> str:
    return (f"{code_span(f.filename, 80)} ({_size(f.size)})"
            + (tr(" — not kept: {not_kept_reason}",
                  not_kept_reason=f.not_kept_reason) if f.not_kept_reason else ""))


def card_embed(card: QueueCard, joined_at: datetime | None = None) -> discord.Embed:
    """The queue embed of a hold (cards posted before the Components V2 card, which can't
    always be turned into one)."""
    hold = card.hold
    embed = discord.Embed(title=tr(_TITLES.get(hold.kind, _TITLES["message"])),
                          colour=_colour(hold), timestamp=hold.created_at)
    embed.description = "\n".join(_who(card, joined_at))
    if _purged(hold):
        embed.add_field(name=tr("Post"), value=tr("*Content removed after the retention period.*"),
                        inline=False)
    else:
        embed.add_field(name=tr("Post"), value=_code_block(hold.content or "", CARD_CONTENT_LIMIT),
                        inline=False)
        if hold.links:
            embed.add_field(name=tr("Links (not clickable)"),
                            value=truncate(_link_lines(hold), 1024), inline=False)
        if hold.kind == "automod":
            embed.add_field(name=tr("Blocked by AutoMod"), value=tr(AUTOMOD_NOTE), inline=False)
        if card.files:
            embed.add_field(name=tr("Attachments"),
                            value=truncate("\n".join(_file_line(f) for f in card.files), 1024),
                            inline=False)
    if hold.status in ("approved", "rejected", "approving", CLOSED_LEFT):
        embed.add_field(name=tr("Decision"), value=describe_decision(hold), inline=False)
    embed.set_footer(text=tr("Hold #{id}", id=hold.id))
    return embed


def card_layout(card: QueueCard, joined_at: datetime | None = None, *, preview: bool = True
                ) -> discord.ui.LayoutView:
    """The queue card (Components V2): who and where, the words, links as code, held images
    previewed behind a spoiler (`preview`: uploaded with the card), other files named, then
    the buttons."""
    hold = card.hold
    view = discord.ui.LayoutView(timeout=None)
    box: discord.ui.Container[discord.ui.LayoutView] = discord.ui.Container(
        accent_colour=_colour(hold))
    heading = f"### {tr(_TITLES.get(hold.kind, _TITLES['message']))}"
    box.add_item(discord.ui.TextDisplay(heading + "\n" + "\n".join(_who(card, joined_at))))
    images = previewed(card) if preview else []
    if _purged(hold):
        box.add_item(discord.ui.TextDisplay(
            tr("**Post**\n*Content removed after the retention period.*")))
    else:
        box.add_item(discord.ui.TextDisplay(
            tr("**Post**") + "\n" + _code_block(hold.content or "", CARD_CONTENT_LIMIT)))
        if hold.links:
            box.add_item(discord.ui.TextDisplay(
                tr("**Links (not clickable)**\n") + truncate(_link_lines(hold), 1000)))
        if images:
            gallery: discord.ui.MediaGallery[discord.ui.LayoutView] = discord.ui.MediaGallery()
            for f in images:
                gallery.add_item(media=f"attachment://{preview_name(f)}", spoiler=True,
                                 description=truncate(f.filename, 1024))
            box.add_item(gallery)
        others = [f for f in card.files if f not in images]
        if others or images:
            lines = [_file_line(f) + (tr(" — shown above, behind a spoiler") if f in images else "")
                     for f in card.files]
            box.add_item(discord.ui.TextDisplay(
                tr("**Attachments**") + "\n" + truncate("\n".join(lines), 600)))
        if hold.kind == "automod":
            box.add_item(discord.ui.TextDisplay(tr("**Blocked by AutoMod**\n") + tr(AUTOMOD_NOTE)))
    if hold.status in ("approved", "rejected", "approving", CLOSED_LEFT):
        box.add_item(discord.ui.TextDisplay(tr("**Decision:** {decision}",
                                               decision=describe_decision(hold))))
    box.add_item(discord.ui.Separator())
    for row in _button_rows(hold, card.active):
        box.add_item(row)
    box.add_item(discord.ui.TextDisplay(
        tr("-# Hold #{id} · held <t:{int}:f>", id=hold.id, int=int(hold.created_at.timestamp()))))
    view.add_item(box)
    return view


def _button_rows(hold: Hold, active: bool) -> list[discord.ui.ActionRow[discord.ui.LayoutView]]:
    rows: list[discord.ui.ActionRow[discord.ui.LayoutView]] = []
    for actions in (("approve", "edit", "reject", "trust"), ("full", "timeout", "ban")):
        row: discord.ui.ActionRow[discord.ui.LayoutView] = discord.ui.ActionRow()
        for action in actions:
            enabled = active or (action == "full" and hold.content is not None)
            row.add_item(HoldButton(hold.id, action,
                         disabled=not enabled))  # type: ignore[arg-type]
        rows.append(row)
    return rows


def forgotten_layout(hold: Hold) -> discord.ui.LayoutView:
    """What a forgotten member's queue card becomes (no buttons, no images)."""
    view = discord.ui.LayoutView(timeout=None)
    view.add_item(discord.ui.Container(
        discord.ui.TextDisplay(tr("### Hold #{id}\nThis member asked to be forgotten, so what they "
                                  "posted was deleted.", id=hold.id)),
        accent_colour=discord.Colour.light_grey()))
    return view


# "Holds so far" on a card: how the member's holds ended, by status.
_HISTORY: dict[str, str] = {"pending": N_("{count} waiting"), "approved": N_("{count} approved"),
                            "approving": N_("{count} being approved"),
                            "rejected": N_("{count} rejected"),
                            CLOSED_LEFT: N_("{count} closed when they left")}


def describe_history(history: dict[str, int]) -> str:
    """How a member's holds ended, in words: "2 approved, 1 rejected"."""
    return ", ".join(tr(_HISTORY[status], count=n) if status in _HISTORY else f"{n} `{status}`"
                     for status, n in sorted(history.items()) if n)


def describe_decision(hold: Hold) -> str:
    """The card's "Decision" line."""
    by = f"<@{hold.decided_by}>" if hold.decided_by and hold.decided_by > 0 else tr("a moderator")
    if hold.status == CLOSED_LEFT:
        return tr("Closed: the member left the server, so there is nothing to decide.")
    if hold.status == "approving":
        return tr("Being approved by {by}…", by=by)
    if hold.status == "approved":
        verb = {"edit": tr("Edited and approved by {by}", by=by),
                "trust": tr("Approved and trusted by {by}", by=by)}.get(
            hold.decision or "", tr("Approved by {by}", by=by))
        link = tr(" — [see the post]({repost_url})",
                  repost_url=hold.repost_url) if hold.repost_url else ""
        return f"{verb}{link}"
    return {"timeout": tr("Rejected and timed out by {by}", by=by),
            "ban": tr("Rejected and banned by {by}", by=by)}.get(
        hold.decision or "", tr("Rejected by {by}", by=by))


def forgotten_embed(hold: Hold) -> discord.Embed:
    """What a forgotten member's queue card becomes."""
    return discord.Embed(
        title=tr("Hold #{id}", id=hold.id), colour=discord.Colour.light_grey(),
        description=tr("This member asked to be forgotten, so what they posted was deleted."))


def full_text_embed(hold: Hold) -> discord.Embed:
    """The whole held text for one moderator (links stay unclickable inside a code block)."""
    embed = discord.Embed(title=tr("Hold #{id}: full text",
                                   id=hold.id), colour=discord.Colour.orange())
    if hold.content is None:
        embed.description = tr("*The content was removed after the retention period.*")
        return embed
    parts = []
    if hold.forum_title:
        parts.append(tr("**Title:** {title}", title=code_span(hold.forum_title, 300)))
    body = truncate(hold.content.replace("```", "ˋˋˋ"), FULL_TEXT_LIMIT)
    parts.append(f"```\n{body}\n```" if body else tr("*(no text)*"))
    embed.description = "\n".join(parts)
    return embed


def hold_controls(hold: Hold, active: bool) -> discord.ui.View:
    """The queue card's buttons: all enabled while pending; only "Full text" afterwards."""
    view = discord.ui.View(timeout=None)
    for action in ("approve", "edit", "reject", "trust", "full", "timeout", "ban"):
        enabled = active or (action == "full" and hold.content is not None)
        view.add_item(HoldButton(hold.id, action, disabled=not enabled))  # type: ignore[arg-type]
    return view


def describe(decision: Decision) -> str:
    """A short ephemeral confirmation of what just happened."""
    hold = decision.hold
    if hold.status == "approved":
        where = decision.repost.jump_url if decision.repost else hold.repost_url
        text = tr("Approved hold #{id}. It's posted here: {where}", id=hold.id, where=where)
        if decision.repost and decision.repost.member_notified == "none":
            text += tr("\nI couldn't notify the member (DMs closed and no channel to ping in).")
        if hold.decision == "trust":
            text += tr("\n<@{member_id}> is now trusted: their links won't be held again.",
                       member_id=hold.member_id)
        return text
    text = tr("Rejected hold #{id}.", id=hold.id)
    if decision.member_told is True:
        text += tr(" I told the member by DM and gave them back their words.")
    elif decision.member_told is False:
        text += (tr(" I couldn't tell the member: their DMs are closed, so they don't know yet "
                 "and didn't get their words back."))
    if hold.decision in ("timeout", "ban") and decision.note is None:
        text += (tr(" <@{member_id}> was timed out for 7 days.", member_id=hold.member_id)
                 if hold.decision == "timeout"
                 else tr(" <@{member_id}> was banned.", member_id=hold.member_id))
    if decision.note:
        text += f"\n{decision.note}"
    return text


# --- buttons and modals -------------------------------------------------------------------------


def _service(interaction: discord.Interaction) -> LinkHoldService:
    return services(interaction).linkhold


class HoldButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"steward:hold:(?P<id>[0-9]+):(?P<action>approve|edit|reject|trust|timeout|ban|full)",
):
    """One button on a queue card; its custom_id names the hold and the action."""

    def __init__(self, hold_id: int, action: Action, *, disabled: bool = False) -> None:
        label, style, row = _BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=tr(label), style=style, disabled=disabled,
                              custom_id=f"steward:hold:{hold_id}:{action}"),
            row=row,
        )
        self.hold_id = hold_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> HoldButton:
        """Rebuild the button from its custom_id (works after a restart)."""
        return cls(int(match["id"]), match["action"])  # type: ignore[arg-type]

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator, then carry out the action."""
        moderator = checked_moderator(interaction)
        service = _service(interaction)
        guild_id = moderator.guild.id
        asks = self.action in ("edit", "reject", "timeout", "ban")  # approve checks for itself
        hold = await (service.pending_for_review if asks else service.get_for_review)(
            guild_id, self.hold_id)
        if self.action == "full":
            await reply_ephemeral(interaction, embeds=[full_text_embed(hold)])
            return
        if self.action == "edit":
            # A modal can't wait for a fetch: cached channels now, the full check on submit.
            await require_may_publish_hold(moderator, hold.channel_id, hold.parent_id,
                                           cached_only=True)
            await interaction.response.send_modal(EditApproveModal(hold))
            return
        if self.action == "reject":
            await interaction.response.send_modal(RejectModal(hold.id))
            return
        if self.action in ("timeout", "ban"):
            verb = tr("Time out") if self.action == "timeout" else tr("Ban")
            detail = (tr("for 7 days") if self.action == "timeout"
                      else tr("and delete their messages from the last day"))
            await reply_ephemeral(
                interaction,
                tr("{verb} <@{member_id}> {detail}, and reject this post? Only do this for obvious "
                   "scams.", verb=verb, member_id=hold.member_id, detail=detail),
                view=ConfirmPunish(hold.id, self.action),  # type: ignore[arg-type]
            )
            return
        if hold.title_unknown and not hold.decided:  # a blocked forum post: ask its title
            modal = ForumTitleModal(hold, moderator.guild, self.action, describe)
            await interaction.response.send_modal(modal)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        await require_may_publish_hold(moderator, hold.channel_id, hold.parent_id)
        decision = await service.approve(guild_id, self.hold_id, moderator.id,
                                         trust=self.action == "trust")
        await reply_ephemeral(interaction, describe(decision))


class EditApproveModal(StewardModal):
    """Edit the held text, then approve it."""

    def __init__(self, hold: Hold) -> None:
        super().__init__(title=tr("Edit & approve hold #{id}", id=hold.id), timeout=600)
        self.hold_id = hold.id
        self.text: discord.ui.TextInput[EditApproveModal] = discord.ui.TextInput(
            label=tr("The post as it will be shared"),
            style=discord.TextStyle.paragraph,
            default=truncate(hold.content or "", 4000),
            max_length=4000,
            required=hold.forum_title is None,
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator again, then approve the edited text."""
        moderator = checked_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        held = await _service(interaction).get_for_review(moderator.guild.id, self.hold_id)
        await require_may_publish_hold(moderator, held.channel_id, held.parent_id)
        decision = await _service(interaction).approve(
            moderator.guild.id, self.hold_id, moderator.id, content=self.text.value)
        await reply_ephemeral(interaction, describe(decision))


class RejectModal(StewardModal):
    """Reject with an optional reason, and choose whether to tell the member."""

    def __init__(self, hold_id: int) -> None:
        super().__init__(title=tr("Reject hold #{hold_id}", hold_id=hold_id), timeout=600)
        self.hold_id = hold_id
        self.reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label=tr("Reason (optional)"), style=discord.TextStyle.paragraph, required=False,
            max_length=500, placeholder=tr("e.g. This link goes to a site selling unproven cures."),
        )
        self.tell: discord.ui.Select[RejectModal] = discord.ui.Select(
            options=[
                discord.SelectOption(
                    label=tr("Yes, tell them kindly and DM their words back"), value=TELL_YES,
                    description=tr("With your reason and where to ask a moderator"),
                    default=True),
                discord.SelectOption(label=tr("No, don't tell them"), value=TELL_NO),
            ],
            required=False, min_values=0, max_values=1,
        )
        self.add_item(self.reason)
        self.add_item(discord.ui.Label(text=tr("Tell the member?"), component=self.tell))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Check the moderator again, then reject."""
        moderator = checked_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        decision = await _service(interaction).reject(
            moderator.guild.id, self.hold_id, moderator.id,
            reason=self.reason.value, tell_member=TELL_NO not in self.tell.values,
        )
        await reply_ephemeral(interaction, describe(decision))


class ConfirmPunish(StewardView):
    """"Are you sure?" for Timeout and Ban."""

    def __init__(self, hold_id: int, action: Literal["timeout", "ban"]) -> None:
        super().__init__(timeout=300)
        self.hold_id = hold_id
        self.action: Literal["timeout", "ban"] = action
        self.confirm.label = (tr("Yes, time them out") if action == "timeout"
                              else tr("Yes, ban them"))

    @discord.ui.button(label=N_("Yes"), style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Carry it out (moderator and permissions checked again)."""
        moderator = checked_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = moderator.guild
        # Server-level permissions and Discord's role hierarchy, never `interaction.permissions`
        # (a channel overwrite grants no Timeout or Ban over the whole server).
        may = may_timeout if self.action == "timeout" else may_ban
        service = _service(interaction)
        hold = await service.get_for_review(guild.id, self.hold_id)
        decision = await service.punish(
            guild.id, self.hold_id, moderator.id, self.action,
            moderator_may=may(moderator), steward_may=may(guild.me),
            standing=await standing(moderator, hold.member_id))
        self.stop()
        await reply_ephemeral(interaction, describe(decision))

    @discord.ui.button(label=N_("Cancel"), style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Do nothing."""
        self.stop()
        await interaction.response.edit_message(content=tr("Cancelled; nothing was done."),
                                                view=None)
