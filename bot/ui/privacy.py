"""`/privacy forget`: the confirmation and the report of what was removed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.errors import NotAdmin
from bot.interactions import StewardView
from bot.services.privacy import ForgetReport

Check = Callable[[discord.Interaction], Any]
# feature -> what its records are, in words (counts are records deleted or anonymized)
LABELS = {
    "repost": "records of posts shared for them",
    "linkhold": "held posts and link-hold records",
    "followups": "follow-ups, reminders and preferences",
    "welcome": "welcome records and group suggestions",
    "care": "care alerts and do-not-tag marks",
    "audit": "audit entries (their name replaced)",
}


def describe_forget(report: ForgetReport, user_id: int) -> str:
    """What was removed, per feature, in plain words."""
    lines = [f"Done. Steward no longer holds anything about <@{user_id}> in this server."]
    found = {name: count for name, count in report.removed.items() if count}
    for name, count in found.items():
        lines.append(f"• {LABELS.get(name, name).capitalize()}: {count}")
    if not found and not report.failed:
        lines.append("There was nothing stored about them.")
    if report.failed:
        lines[0] = "Partly done: some data could not be removed yet."
        lines.append("Could not finish: " + ", ".join(report.failed) + ". Try again in a "
                     "minute; if it keeps failing, the logs say why.")
    lines.append("Opt-outs they chose are kept only as an unreadable fingerprint, so they "
                 "stay respected.")
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
        if interaction.user.id != self.owner_id:
            raise NotAdmin("Only the moderator who asked can confirm this.")
        self.check(interaction)
        return True

    @discord.ui.button(label="Forget everything", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction,
                      _: discord.ui.Button[ConfirmForget]) -> None:
        """Do it."""
        self.stop()
        await interaction.response.edit_message(content="Forgetting…", view=None)
        await self.forget(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction,
                     _: discord.ui.Button[ConfirmForget]) -> None:
        """Leave everything as it is."""
        self.stop()
        await interaction.response.edit_message(content="Cancelled: nothing was removed.",
                                                view=None)
