"""Demo chapter: the admin checks the set-up, a permission goes missing, the doctor says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Story


async def chapter(story: Story) -> None:
    """Olivia re-runs /steward setup and /steward doctor; a lost permission is reported once."""
    sb, server = story.sb, story.server
    olivia = server.owner
    story.heading("Setting up and checking up")
    story.say("Olivia (the server owner) runs /steward setup to see what Steward is using. "
              "It shows the current values and ends with how to narrow who sees moderator "
              "commands.")
    setup = await sb.slash(server.guild, olivia, "steward setup")
    await setup.done()
    story.show_reply(setup, "olivia")
    story.say("Someone tidying channel permissions takes Embed Links away from Steward in "
              "#mod-queue. Steward notices at once and tells the mod log, once, with the fix.")
    sb.deny(server.queue, "embed_links")
    await story.settle()
    story.show()
    story.say("Olivia follows the fix. Steward confirms it is fixed, again only once.")
    sb.allow(server.queue, "embed_links")
    await story.settle()
    story.show()
    doctor = await sb.slash(server.guild, olivia, "steward doctor")
    await doctor.done()
    story.show_reply(doctor, "olivia")
