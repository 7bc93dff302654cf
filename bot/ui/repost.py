"""The repost feature's modals and views: "Repost for member", "Edit this copy", and the
ephemeral "Manage my reposted post" panel (edit or delete one's reposted copy)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot.domain.repost import neutral_title
from bot.errors import InvalidInput, StewardError
from bot.i18n import N_, tr
from bot.interactions import StewardModal, StewardView
from bot.messaging import reply_ephemeral
from bot.permissions import is_moderator, require_may_post, require_moderator
from bot.services.repost import RepostRecord, RepostRequest, RepostService, StoredAttachment
from bot.ui.language import hear

if TYPE_CHECKING:
    from bot.app import StewardBot
    from config.guild import GuildConfig

log = logging.getLogger(__name__)

NOT_YOURS = N_("Only the member this was shared for, or a moderator, can change it.")

CONTENT_MAX = 4000
INTRO_MAX = 200
INTRO_PLACEHOLDER = N_("e.g. Anna asked us to share this for her while she is in hospital.")
DESTINATION_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
]


def _channel_id(value: Any) -> int | None:
    """A channel select value as an id (discord.py gives objects when resolved, else ids)."""
    raw = getattr(value, "id", value)
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


async def download(
    attachments: Sequence[discord.Attachment], cap: int
) -> tuple[tuple[StoredAttachment, ...], tuple[str, ...]]:
    """Read attachments up to `cap` bytes each; the rest are named, not silently dropped."""
    kept: list[StoredAttachment] = []
    skipped: list[str] = []
    for attachment in attachments:
        if attachment.size > cap:
            skipped.append(attachment.filename)
            continue
        try:
            data = await attachment.read()
        except (discord.HTTPException, discord.NotFound) as exc:
            log.warning("could not download attachment %s: %s", attachment.id, exc)
            skipped.append(attachment.filename)
            continue
        kept.append(StoredAttachment(attachment.filename, data, attachment.content_type))
    return tuple(kept), tuple(skipped)


class RepostModal(StewardModal, title="Repost for a member"):
    """Content (prefilled, editable), an intro line, where to post it, and whether to ping."""

    def __init__(
        self,
        bot: StewardBot,
        service: RepostService,
        *,
        member_id: int,
        content: str,
        destination_id: int | None,
        source: str,
        source_url: str | None = None,
        attachments: Sequence[discord.Attachment] = (),
        reply_to_url: str | None = None,
        member_name: str | None = None,
    ) -> None:
        super().__init__(title=tr("Repost for a member"), timeout=15 * 60)
        self.bot = bot
        self.service = service
        self.member_id = member_id
        self.source = source
        self.source_url = source_url
        self.attachments = list(attachments)
        self.reply_to_url = reply_to_url
        self.content: discord.ui.TextInput[RepostModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph, default=content[:CONTENT_MAX] or None,
            max_length=CONTENT_MAX, required=not self.attachments,
        )
        self.intro: discord.ui.TextInput[RepostModal] = discord.ui.TextInput(
            style=discord.TextStyle.short, required=False, max_length=INTRO_MAX,
            placeholder=tr(INTRO_PLACEHOLDER),
        )
        defaults = ([discord.SelectDefaultValue(id=destination_id,
                                                type=discord.SelectDefaultValueType.channel)]
                    if destination_id else [])
        self.destination: discord.ui.ChannelSelect[RepostModal] = discord.ui.ChannelSelect(
            channel_types=DESTINATION_TYPES, default_values=defaults, min_values=1,
            max_values=1, required=True,
        )
        self.ping: discord.ui.Select[RepostModal] = discord.ui.Select(
            options=[
                discord.SelectOption(label=tr("No, just tell them privately"), value="no",
                                     default=True),
                discord.SelectOption(label=tr("Yes, mention them in the post"), value="yes"),
            ],
            min_values=1, max_values=1, required=False,
        )
        self.add_item(discord.ui.Label(text=tr("Their words (edit if needed)"),
                                       component=self.content))
        self.add_item(discord.ui.Label(text=tr("Your note as moderators (optional)"),
                                       description=tr("Shown above their words as the "
                                                   "moderators' note, not theirs"),
                                       component=self.intro))
        self.add_item(discord.ui.Label(text=tr("Post it in"), component=self.destination))
        self.add_item(discord.ui.Label(text=tr("Ping the member in the post?"),
                                       component=self.ping))
        # A neutral title to start from: the first line of a story can name a diagnosis.
        self.title_input: discord.ui.TextInput[RepostModal] = discord.ui.TextInput(
            style=discord.TextStyle.short, required=False, max_length=100,
            default=neutral_title(member_name),
        )
        self.add_item(discord.ui.Label(text=tr("Forum post title (forums only)"),
                                       description=tr("Change it if they'd like a title; avoid "
                                                   "health details"),
                                       component=self.title_input))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Re-check, then publish and answer with the link."""
        assert interaction.guild_id is not None
        moderator = require_moderator(
            interaction, self.bot.guild_settings.get(interaction.guild_id).core)
        await interaction.response.defer(ephemeral=True, thinking=True)
        destination_id = next(
            (cid for v in self.destination.values if (cid := _channel_id(v)) is not None), None)
        if destination_id is None:
            raise InvalidInput(tr("Pick a channel to post in."))
        await require_may_post(moderator, destination_id)
        content = self.content.value or ""
        cap = interaction.guild.filesize_limit if interaction.guild else 8 * 1024 * 1024
        files, not_kept = await download(self.attachments, cap)
        if not content.strip() and not files:
            raise InvalidInput(tr("There is nothing to post: the text is empty."))
        request = RepostRequest(
            guild_id=interaction.guild_id, member_id=self.member_id, content=content,
            destination_id=destination_id, moderator_id=moderator.id,
            reason=tr("moderator repost"), source=self.source, attachments=files,
            not_kept=not_kept, reply_to_url=self.reply_to_url,
            intro=(self.intro.value or "").strip() or None,
            ping_member="yes" in self.ping.values, source_url=self.source_url,
            forum_title=(self.title_input.value or "").strip() or None,
        )
        result = await self.service.publish(request)
        told = {"dm": tr("I told them by DM."),
                "channel": tr("Their DMs are closed, so I told them in the channel."),
                "none": tr("I couldn't tell them (they may have left the server).")}
        how = tr("in their name") if result.mode == "webhook" else tr("as Steward")
        parts = tr(" in {len} parts",
                   len=len(result.message_ids)) if len(result.message_ids) > 1 else ""
        await reply_ephemeral(
            interaction,
            tr("Shared {how}{parts}: {jump_url}\n{item}",
               how=how, parts=parts, jump_url=result.jump_url, item=told[result.member_notified]),
        )


class EditModal(StewardModal, title="Edit this copy"):
    """The words of one part of a repost, to edit."""

    def __init__(
        self, bot: StewardBot, service: RepostService, *, repost_id: int, message_id: int,
        words: str, room: int,
    ) -> None:
        super().__init__(title=tr("Edit this copy"), timeout=15 * 60)
        self.bot = bot
        self.service = service
        self.repost_id = repost_id
        self.message_id = message_id
        self.old_words = words
        self.words: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph, default=words[:CONTENT_MAX] or None,
            max_length=max(1, min(CONTENT_MAX, room)), required=True,
        )
        self.add_item(discord.ui.Label(text=tr("The words in this message"), component=self.words))

    async def on_submit(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        """Re-check who may edit, apply the link policy to members, then edit."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        record = await self.service.get(self.repost_id)
        if record is None or record.status != "published":
            raise StewardError(tr("This repost was removed, so there is nothing to edit."))
        user = interaction.user
        if not may_manage(self.bot, self.service, record, user):
            raise StewardError(tr(NOT_YOURS))
        core = self.bot.guild_settings.get(record.guild_id).core
        if isinstance(user, discord.Member) and not is_moderator(user, core):
            await self.service.check_member_edit(record, user.id, self.old_words,
                                                 self.words.value)
        await self.service.edit_part(record, self.message_id, self.words.value, user.id)
        await reply_ephemeral(interaction, tr("Saved. The copy now shows your edit."))


def may_manage(bot: StewardBot, service: RepostService, record: RepostRecord,
               user: discord.Member | discord.User) -> bool:
    """The member named in the repost, or a moderator (checked now)."""
    core = bot.guild_settings.get(record.guild_id).core
    return service.may_manage(record, user.id, is_moderator=is_moderator(user, core))


def describe_settings(config: GuildConfig) -> str:
    """The repost settings, as `/repost settings` shows them."""
    repost = config.repost
    mode = (tr("webhook (in the member's name and picture)") if repost.mode == "webhook"
            else tr("bot (posted by Steward)"))
    return tr("**Mode:** {mode}\n**Attribution:** {attribution}",
              mode=mode, attribution=repost.attribution)


class ManageView(StewardView):
    """Edit (opens a modal) or delete (asks once more) a repost."""

    def __init__(
        self, bot: StewardBot, service: RepostService, record: RepostRecord, *,
        message_id: int, words: str, room: int, owner_id: int,
    ) -> None:
        super().__init__(timeout=10 * 60)
        self.bot = bot
        self.service = service
        self.record = record
        self.message_id = message_id
        self.words = words
        self.room = room
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the person who opened the panel uses it (it is ephemeral anyway)."""
        hear(interaction)
        return interaction.user.id == self.owner_id

    @discord.ui.button(label=N_("Edit"), style=discord.ButtonStyle.primary)
    async def edit(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Open the edit modal (cached check only; the modal re-checks on submit)."""
        if not may_manage(self.bot, self.service, self.record, interaction.user):
            raise StewardError(tr(NOT_YOURS))
        await interaction.response.send_modal(EditModal(
            self.bot, self.service, repost_id=self.record.id, message_id=self.message_id,
            words=self.words, room=self.room,
        ))

    @discord.ui.button(label=N_("Delete"), style=discord.ButtonStyle.danger)
    async def delete(self, interaction: discord.Interaction, _: discord.ui.Button[Any]
                     ) -> None:
        """Ask once more before deleting."""
        if not may_manage(self.bot, self.service, self.record, interaction.user):
            raise StewardError(tr(NOT_YOURS))
        parts = len(self.record.message_ids)
        what = tr("the whole forum post") if self.record.created_thread else (
            tr("all {parts} messages of this copy", parts=parts) if parts > 1 else tr("this copy"))
        await interaction.response.edit_message(
            content=tr("Delete {what}? This can't be undone.", what=what),
            view=ConfirmDeleteView(self.bot, self.service, self.record, owner_id=self.owner_id),
        )


class ConfirmDeleteView(StewardView):
    """"Yes, delete it" / "Keep it"."""

    def __init__(self, bot: StewardBot, service: RepostService, record: RepostRecord, *,
                 owner_id: int) -> None:
        super().__init__(timeout=5 * 60)
        self.bot = bot
        self.service = service
        self.record = record
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the person who opened the panel."""
        hear(interaction)
        return interaction.user.id == self.owner_id

    @discord.ui.button(label=N_("Yes, delete it"), style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button[Any]
                      ) -> None:
        """Re-check, then delete every part."""
        await interaction.response.defer()
        record = await self.service.get(self.record.id)
        if record is None or record.status != "published":
            raise StewardError(tr("This repost was already removed."))
        if not may_manage(self.bot, self.service, record, interaction.user):
            raise StewardError(tr(NOT_YOURS))
        await self.service.delete(record, interaction.user.id)
        await interaction.edit_original_response(content="Deleted.", view=None)

    @discord.ui.button(label=N_("Keep it"), style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        """Leave it as it is."""
        await interaction.response.edit_message(content=tr("Kept as it is."), view=None)
