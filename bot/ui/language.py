"""Which language a Discord reader gets, and command names and descriptions in that language.

An interaction's ephemeral replies and DMs follow the clicker's client locale
(`interaction.locale`); public posts, moderators' cards and the mod log follow the server's
language (`/steward settings language:`, else the server's preferred locale).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import discord
from discord import app_commands

from bot.i18n import (
    COMMAND_CONTEXT,
    SOURCE,
    Translator,
    negotiate,
    speaking,
    translator,
    use_language,
)

_NAME_LOCATIONS = {
    app_commands.TranslationContextLocation.command_name,
    app_commands.TranslationContextLocation.group_name,
    app_commands.TranslationContextLocation.parameter_name,
    app_commands.TranslationContextLocation.choice_name,
}


def locale_code(locale: object) -> str:
    """`discord.Locale.spain_spanish` -> "es-ES" (any value discord.py could not name too)."""
    return str(getattr(locale, "value", locale))


def reader_language(interaction: discord.Interaction[Any]) -> str:
    """The clicker's language: their Discord client locale."""
    return negotiate(locale_code(interaction.locale))


def hear(interaction: discord.Interaction[Any]) -> None:
    """Answer this interaction (for the rest of its task) in the clicker's language, and let
    Steward remember it for the member's later DMs."""
    language = reader_language(interaction)
    use_language(language)
    remember = getattr(interaction.client, "remember_language", None)
    if callable(remember):
        remember(interaction.guild_id, interaction.user.id, language)


def server_language(settings_language: str | None, guild: discord.Guild | None) -> str:
    """A server's language: the one set with /steward settings, else its preferred locale."""
    if settings_language:
        return negotiate(settings_language)
    return negotiate(locale_code(guild.preferred_locale) if guild is not None else None)


def language_for(client: object, guild_id: int | None) -> str:
    """The language of server `guild_id` for `client` (Steward's own choice when it is one)."""
    chooser = getattr(client, "language_of", None)
    if callable(chooser):
        return str(chooser(guild_id))
    get_guild = getattr(client, "get_guild", None)
    guild = get_guild(guild_id) if callable(get_guild) and guild_id is not None else None
    return server_language(None, guild if isinstance(guild, discord.Guild) else None)


def language_for_member(client: object, guild_id: int, member_id: int) -> str:
    """The language of a DM to a member: theirs when Steward has seen it, else the server's."""
    chooser = getattr(client, "language_for_member", None)
    if callable(chooser):
        return str(chooser(guild_id, member_id))
    return language_for(client, guild_id)


def speaking_server(client: object, guild_id: int | None) -> AbstractContextManager[Translator]:
    """Speak server `guild_id`'s language: public posts, moderators' cards, the mod log."""
    return speaking(language_for(client, guild_id))


class CatalogTranslator(app_commands.Translator):
    """Command names, descriptions and choices from the catalogs (Discord's localizations)."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        """The catalog's text for `locale`, or None to leave Discord's default (English)."""
        language = negotiate(locale.value)
        if language == SOURCE:
            return None
        catalog = translator(language)
        if context.location in _NAME_LOCATIONS:
            text = catalog.pgettext(COMMAND_CONTEXT, string.message)
        else:
            text = catalog.gettext(string.message)
        return text if text != string.message else None
