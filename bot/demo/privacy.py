"""Demo chapter: a member asks to be forgotten; a moderator does it with /privacy forget."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Story


async def chapter(story: Story) -> None:
    """Maria forgets Sam: every stored row goes, the audit log keeps only anonymous entries."""
    sb, server = story.sb, story.server
    sam = await story.ensure_newcomer()
    maria = server.mod
    story.heading("Being forgotten")
    story.say("Months later Sam writes to the moderators: please delete what the bot kept "
              "about me. Maria uses /privacy forget and confirms.")
    asked = await sb.slash(server.guild, maria, "privacy forget", member=sam)
    await asked.done()
    story.show_reply(asked, "maria")
    if asked.message is None or not asked.message.buttons():
        return
    confirmed = await sb.click(asked.message, story.t("Forget everything"), by=maria)
    await confirmed.done()
    await story.settle()
    story.show_reply(asked, "maria")
    story.show()
