"""Care on Discord: a message -> the service's `CarePost`, and its `CareActions` carried out
(the moderators' card, its updates, the reviewed support DM)."""

from __future__ import annotations

import logging

import discord

from bot import messaging
from bot.db.care import Alert
from bot.domain.care import language_for as detector_language
from bot.services.care import CarePost, CareService
from bot.ui.care import alert_controls, alert_embed, forgotten_embed
from bot.ui.language import language_for, language_for_member, speaking_server

log = logging.getLogger(__name__)

Postable = discord.TextChannel | discord.Thread


def care_post(message: discord.Message, language: str | None = None) -> CarePost:
    """A message as the detector sees it: a new forum post carries its title. `language` is
    the server's or the member's (Spanish reads the post with both lexicons); without it, the
    server's preferred locale."""
    guild = message.guild
    assert guild is not None
    channel = message.channel
    title = None
    if (isinstance(channel, discord.Thread) and channel.id == message.id
            and isinstance(channel.parent, discord.ForumChannel)):
        title = channel.name
    locale = guild.preferred_locale
    if language is None:
        language = str(locale.value) if locale is not None else None
    return CarePost(guild_id=guild.id, channel_id=channel.id, message_id=message.id,
                    author_id=message.author.id, text=message.content, title=title,
                    language=detector_language(language))


class CareAdapter:
    """The router handler, and the service's `CareActions` on Discord."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._service: CareService | None = None

    def serve(self, service: CareService) -> None:
        """Hand messages to `service` (built after this adapter, which it uses)."""
        self._service = service

    @property
    def service(self) -> CareService:
        """The service this adapter feeds."""
        assert self._service is not None, "serve() was not called"
        return self._service

    async def on_message(self, message: discord.Message) -> bool:
        """Router handler: True (consumed) when the post reads as distress."""
        guild = message.guild
        if guild is None or not self.service.enabled(guild.id):
            return False
        if not message.content and not isinstance(message.channel, discord.Thread):
            return False
        return await self.service.consider(
            care_post(message, self._spanish(guild.id, message.author.id)))

    async def on_thread_rename(self, thread: discord.Thread) -> bool:
        """A thread (a forum post) renamed: a title that reads as distress alerts, keyed by
        the thread (once per thread; the link gate's hold of the same rename shares the key).
        """
        guild = thread.guild
        owner_id = thread.owner_id
        me = self._client.user
        if (owner_id is None or (me is not None and owner_id == me.id)
                or not self.service.enabled(guild.id)):
            return False
        locale = guild.preferred_locale
        return await self.service.consider(CarePost(
            guild_id=guild.id, channel_id=thread.id, message_id=thread.id, author_id=owner_id,
            text="", title=thread.name,
            language=detector_language(self._spanish(guild.id, owner_id) or (
                str(locale.value) if locale is not None else None))))

    def _spanish(self, guild_id: int, member_id: int) -> str | None:
        """"es" when the server's chosen language or the member's Discord is Spanish (both
        lexicons); None leaves it to the server's preferred locale."""
        chosen = (language_for(self._client, guild_id),
                  language_for_member(self._client, guild_id, member_id))
        return "es" if any(x.startswith("es") for x in chosen) else None

    async def on_edit(self, message: discord.Message) -> bool:
        """Edit-router handler: an edit that makes a post read as distress alerts like a post
        (once per post: an edit of a post that already has an alert only keeps it quiet)."""
        if message.edited_at is None:
            return False  # embed unfurls and other non-edits
        return await self.on_message(message)

    # --- CareActions ----------------------------------------------------------------------------

    def guild_name(self, guild_id: int) -> str | None:
        """The server's name (None: not in that server)."""
        guild = self._client.get_guild(guild_id)
        return guild.name if guild is not None else None

    async def post_alert(self, channel_id: int, alert: Alert) -> int | None:
        """Post the card (pinging nobody); its message id, None when the channel is unusable."""
        channel = self._client.get_channel(channel_id)
        if not isinstance(channel, Postable):
            log.warning("care alert %s: channel %s is not a text channel", alert.id, channel_id)
            return None
        with speaking_server(self._client, alert.guild_id):
            embed, view = alert_embed(alert), alert_controls(alert)
        try:
            sent = await messaging.send(channel, embeds=[embed], view=view,
                                        allowed_mentions=messaging.NOBODY)
        except discord.HTTPException as exc:
            log.warning("could not post care alert %s in channel %s: %s", alert.id,
                        channel_id, exc.code)
            return None
        return sent.id

    async def edit_alert(self, alert: Alert) -> None:
        """Re-render a posted card."""
        if alert.card_channel_id is None or alert.card_message_id is None:
            return
        channel = self._client.get_partial_messageable(alert.card_channel_id,
                                                       guild_id=alert.guild_id)
        with speaking_server(self._client, alert.guild_id):
            embed, view = alert_embed(alert), alert_controls(alert)
        try:
            await channel.get_partial_message(alert.card_message_id).edit(
                embed=embed, view=view,
                allowed_mentions=messaging.NOBODY)
        except discord.HTTPException as exc:
            log.warning("could not update care alert %s: %s", alert.id, exc.code)

    async def blank_alert(self, alert: Alert) -> None:
        """Replace a forgotten member's card with a note, without buttons."""
        if alert.card_channel_id is None or alert.card_message_id is None:
            return
        channel = self._client.get_partial_messageable(alert.card_channel_id,
                                                       guild_id=alert.guild_id)
        try:
            with speaking_server(self._client, alert.guild_id):
                embed = forgotten_embed(alert)
            await channel.get_partial_message(alert.card_message_id).edit(embed=embed, view=None)
        except discord.HTTPException as exc:
            log.info("could not blank care alert %s: %s", alert.id, exc.code)

    async def send_dm(self, member_id: int, text: str) -> bool:
        """DM a member, pinging nobody; False when their DMs are closed or the DM failed."""
        try:
            user = self._client.get_user(member_id) or await self._client.fetch_user(member_id)
            await messaging.send(user, text, allowed_mentions=messaging.NOBODY)
        except discord.HTTPException as exc:
            log.info("could not DM member %s (code %s)", member_id, exc.code)
            return False
        return True
