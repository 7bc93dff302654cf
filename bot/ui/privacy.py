"""`/privacy forget`: the confirmation and the report of what was removed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.errors import NotAdmin
from bot.i18n import N_, tr
from bot.interactions import StewardView
from bot.services.privacy import ForgetReport
from bot.ui.language import hear

Check = Callable[[discord.Interaction], Any]
LABELS = {"audit": N_("audit entries anonymized"),
          "languages": N_("remembered Discord language")}


def describe_forget(report: ForgetReport, user_id: int) -> str:
    """What was removed, per feature, in plain words."""
    lines = [tr("Done. Steward no longer holds anything about <@{user_id}> in this server.",
                user_id=user_id)]
    for name, count in report.removed.items():
        label = tr(LABELS[name]) if name in LABELS else tr("{name}: rows removed", name=name)
        lines.append(f"• {label}: {count}")
    if report.failed:
        lines[0] = tr("Partly done: some data could not be removed yet.")
        lines.append(tr("Could not finish: ") + ", ".join(report.failed) + tr(". Try again in a "
                     "minute; if it keeps failing, the logs say why."))
    lines.append(tr("Opt-outs they chose are kept only as an unreadable fingerprint, so they "
                 "stay respected."))
    return "\n".join(lines)


class ConfirmForget(StewardView):
    """"Forget everything" / "Cancel" for the moderator who asked."""

    def __init__(self, owner_id: int, check: Check,
                 forget: Callable[[discord.Interaction], Awaitable[None]]) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.check = check
        self.forget = forget

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the moderator who asked, and only while still a moderator."""
        hear(interaction)
        if interaction.user.id != self.owner_id:
            raise NotAdmin(tr("Only the moderator who asked can confirm this."))
        self.check(interaction)
        return True

    @discord.ui.button(label=N_("Forget everything"), style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction,
                      _: discord.ui.Button[ConfirmForget]) -> None:
        """Do it."""
        self.stop()
        await interaction.response.edit_message(content=tr("Forgetting…"), view=None)
        await self.forget(interaction)

    @discord.ui.button(label=N_("Cancel"), style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction,
                     _: discord.ui.Button[ConfirmForget]) -> None:
        """Leave everything as it is."""
        self.stop()
        await interaction.response.edit_message(content=tr("Cancelled: nothing was removed."),
                                                view=None)
