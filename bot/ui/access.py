"""What a persistent button or form reaches through its interaction: the services, the moderator.

DynamicItems and modals are rebuilt from a custom_id after a restart, so they can't be handed
their services; they find them on `interaction.client` (the running bot). One typed accessor
for every UI module, instead of each declaring its own.
"""

from __future__ import annotations

from typing import Protocol

import discord

from bot.errors import NotModerator
from bot.permissions import require_moderator
from bot.services.care import CareService
from bot.services.guild_settings import GuildSettingsService
from bot.services.linkhold import LinkHoldService


class UiServices(Protocol):
    """The services the UI reaches (a subset of `bot.composition.Services`)."""

    @property
    def linkhold(self) -> LinkHoldService: ...

    @property
    def care(self) -> CareService: ...

    @property
    def settings(self) -> GuildSettingsService: ...


class _Steward(Protocol):
    @property
    def services(self) -> UiServices: ...


def services(interaction: discord.Interaction) -> UiServices:
    """The running bot's services."""
    client: _Steward = interaction.client  # type: ignore[assignment]
    return client.services


def checked_moderator(interaction: discord.Interaction) -> discord.Member:
    """The interacting member if they moderate this server (checked server-wide), else refuse."""
    if interaction.guild_id is None:
        raise NotModerator
    core = services(interaction).settings.get(interaction.guild_id).core
    return require_moderator(interaction, core)
