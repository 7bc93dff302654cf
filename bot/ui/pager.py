"""An ephemeral pager that re-checks permission on every click."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.errors import NotAdmin
from bot.i18n import N_, tr
from bot.interactions import StewardView
from bot.ui.language import hear

PageSource = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]
Check = Callable[[discord.Interaction], Any]


class Pager(StewardView):
    """Previous/Next over pages built on demand; only the person who asked can turn them."""

    def __init__(self, owner_id: int, source: PageSource, check: Check, *,
                 timeout: float = 600) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.source = source
        self.check = check
        self.page = 0

    @classmethod
    async def start(cls, interaction: discord.Interaction, source: PageSource,
                    check: Check) -> None:
        """Answer `interaction` with the first page (and buttons when there are more)."""
        pager = cls(interaction.user.id, source, check)
        embed, has_more = await source(0)
        pager._sync(has_more)
        kwargs: dict[str, Any] = {"embed": embed, "ephemeral": True,
                                  "allowed_mentions": discord.AllowedMentions.none()}
        if has_more:
            kwargs["view"] = pager
        if interaction.response.is_done():
            await interaction.followup.send(**kwargs)
        else:
            await interaction.response.send_message(**kwargs)

    def _sync(self, has_more: bool) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = not has_more

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the person who opened the pager, and only while they may still see it."""
        hear(interaction)
        if interaction.user.id != self.owner_id:
            raise NotAdmin(tr("These pages belong to whoever opened them; run the command "
                           "yourself."))
        self.check(interaction)
        return True

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = max(0, self.page + step)
        embed, has_more = await self.source(self.page)
        self._sync(has_more)
        await interaction.response.edit_message(embed=embed, view=self)

    @discord.ui.button(label=N_("Previous"), style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction,
                       _: discord.ui.Button[Pager]) -> None:
        """One page back."""
        await self._turn(interaction, -1)

    @discord.ui.button(label=N_("Next"), style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, _: discord.ui.Button[Pager]) -> None:
        """One page on."""
        await self._turn(interaction, 1)
