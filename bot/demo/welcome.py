"""Demo chapter: Sam is welcomed, picks a support group, and is later pointed to another."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Story


async def chapter(story: Story) -> None:
    """Olivia lists two groups; Sam joins, is welcomed and picks one."""
    sb, server = story.sb, story.server
    guild, olivia = server.guild, server.owner
    story.heading("Welcomes and support groups")
    story.say("Olivia (the owner) lists the server's support groups. Each has a channel, "
              "keywords that point posts to it, and a role members may take to follow it "
              "(a role with no permissions: Steward refuses any other).")
    colorectal_role = sb.add_role(guild, "Colorectal Cancer group")
    carers_role = sb.add_role(guild, "Carers group")
    carers = sb.add_text_channel(guild, "carers-and-family")
    await story.settle()
    added = await sb.slash(guild, olivia, "welcome group add", name="Colorectal Cancer",
                           options={"channel": server.forum},
                           description="Bowel, colon and rectal cancer: patients and survivors",
                           keywords="colon, colorectal, bowel, rectal, ostomy, stoma",
                           role=colorectal_role)
    await added.done()
    story.show_reply(added, "olivia")
    added = await sb.slash(guild, olivia, "welcome group add", name="Carers and Family",
                           options={"channel": carers},
                           description="For the people looking after someone",
                           keywords="carer, caregiver, caring for, looking after",
                           role=carers_role)
    await added.done()
    story.show_reply(added, "olivia")
    story.mark_seen()

    story.say("Sam, frightened and new to Discord, joins after a diagnosis. Steward greets Sam "
              "in #welcome at once, pinging only Sam, with the rules, the link-hold note and "
              "a button to find a group.")
    sam = await story.ensure_newcomer()
    welcome = await sb.wait_for_message(server.welcome, lambda m: f"<@{sam.id}>" in m.content)
    await story.settle()
    story.show()

    story.say("Sam presses **Find your support group**. Only Sam sees the picker: a menu of "
              "the groups (paged past 25) and a Save button.")
    picker = await sb.click(welcome, story.t("Find your support group"), by=sam)
    await picker.done()
    story.show_reply(picker, "sam")
    if picker.message is None or not picker.message.components:
        story.say("(The picker did not open; skipping the rest of this chapter.)")
        return
    menu = picker.message.components[0]["components"][0]
    colorectal = next(o["value"] for o in menu["options"] if o["label"] == "Colorectal Cancer")
    chosen = await sb.select(picker.message, [colorectal], by=sam)
    await chosen.done()
    saved = await sb.click(picker.message, story.t("Save"), by=sam)
    await saved.done()
    await story.settle()
    story.say("Sam picks Colorectal Cancer and saves. Steward gives Sam the group's role and "
              "says where the group meets.")
    story.show_reply(SimpleNamespace(messages=[saved.message] if saved.message else []), "sam")



async def later(story: Story) -> None:
    """Two days on, Sam writes about caring for their dad and is pointed to that group once."""
    sb, server = story.sb, story.server
    sam = await story.ensure_newcomer()
    story.heading("Pointing people to groups later")
    story.later("Two days later", days=2)
    story.say("Sam writes in #general about looking after their dad too. The post matches the "
              "Carers and Family keywords, so Steward replies once, quietly (no ping).")
    await sb.post(server.general, sam, "Since Dad's stroke I'm also looking after him, "
                                       "on top of my own treatment.")
    await sb.wait_for_message(server.general, lambda m: "Carers and Family" in m.content)
    await story.settle()
    story.show()
    story.say("Steward points each member to each group at most once, never in the group's own "
              "channel, never for moderators, and never for a post held for review.")
