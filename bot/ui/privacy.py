"""`/privacy forget`: the confirmation and the report of what was removed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import discord

from bot.domain.text import plural
from bot.errors import NotAdmin
from bot.i18n import N_, tr
from bot.interactions import StewardView
from bot.services.privacy import ForgetReport
from bot.ui.language import hear

Check = Callable[[discord.Interaction], Any]
# feature -> what its records are, in words (counts are records deleted or anonymized)
LABELS = {
    "repost": N_("records of posts shared for them"),
    "linkhold": N_("held posts and link-hold records"),
    "followups": N_("follow-ups, reminders and preferences"),
    "welcome": N_("welcome records and group suggestions"),
    "care": N_("care alerts and do-not-tag marks"),
    "audit": N_("audit entries (their name replaced)"),
    "languages": N_("remembered Discord language"),
}


def describe_forget(report: ForgetReport, user_id: int,
                    shared: tuple[int, int] | None = None) -> str:
    """What was removed, per feature, in plain words."""
    lines = [tr("Done. Steward no longer holds anything about <@{user_id}> in this server.",
                user_id=user_id)]
    found = {name: count for name, count in report.removed.items() if count}
    for name, count in found.items():
        label = tr(LABELS[name]) if name in LABELS else f"`{name}`"
        lines.append(f"• {label[:1].upper()}{label[1:]}: {count}")
    if not found and not report.failed:
        lines.append(tr("There was nothing stored about them."))
    if report.failed:
        lines[0] = tr("Partly done: some data could not be removed yet.")
        lines.append(tr("Could not finish: {features}. Try again in a minute; if it keeps "
                        "failing, the logs say why.", features=", ".join(report.failed)))
    if shared is not None:
        deleted, failed = shared
        lines.append(tr("• Posts shared under their name: {deleted} deleted", deleted=deleted)
                     + (tr(", {failed} could not be deleted (remove them by hand)",
                           failed=failed) if failed else ""))
    lines.append(tr("Opt-outs they chose are kept only as an unreadable fingerprint, so they "
                    "stay respected."))
    return "\n".join(lines)


SHARED_LISTED = 10
DELETE_SHARED_LABEL = N_("Delete their shared posts, then forget")


def describe_shared(posts: Sequence[tuple[str, datetime]]) -> str:
    """The posts Steward published under the member's name: links and dates, a few."""
    if not posts:
        return ""
    lines = [tr("Steward also published {plural} under their name (their words, shared by "
                "moderators). Once they are forgotten, nobody can manage those copies through "
                "Steward any more, so you can delete them now:", plural=plural(len(posts), 'post'))]
    lines += [f"• {link} (<t:{int(when.timestamp())}:d>)"
              for link, when in posts[:SHARED_LISTED]]
    if len(posts) > SHARED_LISTED:
        lines.append(tr("• and {value} more", value=len(posts) - SHARED_LISTED))
    lines.append(tr("**{delete}** removes them; **{forget}** leaves them where they are.",
                    delete=tr(DELETE_SHARED_LABEL), forget=tr("Forget everything")))
    return "\n".join(lines)


class ConfirmForget(StewardView):
    """"Forget everything" / "Cancel" for the moderator who asked, and, when Steward published
    posts under the member's name, "Delete their shared posts, then forget"."""

    def __init__(self, owner_id: int, check: Check,
                 forget: Callable[[discord.Interaction, bool], Awaitable[None]], *,
                 shared_posts: int = 0) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.check = check
        self.forget = forget
        if shared_posts:
            button: discord.ui.Button[ConfirmForget] = discord.ui.Button(
                label=tr(DELETE_SHARED_LABEL), style=discord.ButtonStyle.danger, row=1)
            button.callback = self._delete_shared  # type: ignore[method-assign]
            self.add_item(button)

    async def _delete_shared(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(content=tr("Deleting their shared posts and "
                                                "forgetting…"), view=None)
        await self.forget(interaction, True)

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
        await self.forget(interaction, False)

    @discord.ui.button(label=N_("Cancel"), style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction,
                     _: discord.ui.Button[ConfirmForget]) -> None:
        """Leave everything as it is."""
        self.stop()
        await interaction.response.edit_message(content=tr("Cancelled: nothing was removed."),
                                                view=None)
