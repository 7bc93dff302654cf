"""Demo chapter: a moderator posts a member's story for her, in her name, and she edits it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Story

STORY = (
    "My husband Tom was diagnosed with stage 3 colon cancer in March. We had no idea what "
    "the words on the letter meant, and the first weeks were a blur of appointments.\n\n"
    "He finished chemo last month. The hardest part was the tiredness, for both of us. What "
    "helped: writing questions down before each appointment, and a friend who drove us.\n\n"
    "I don't know how to use the forum yet, and I'm not sure I would dare. Thank you for "
    "being here, all of you."
)


async def chapter(story: Story) -> None:
    """Maria reposts Anna's story into the forum; Anna looks at it and fixes a word."""
    sb, server = story.sb, story.server
    anna, maria = server.member, server.mod
    story.heading("Reposting for a member")
    story.say("Anna writes her story in #general. She would like it in the colorectal-cancer "
              "forum, but doesn't know how to start a forum post.")
    original = await sb.post(server.general, anna, STORY)
    await story.settle()
    story.show()

    story.say("Maria (a moderator) right-clicks Anna's message: Apps > Repost for member. The "
              "form comes prefilled with Anna's words; Maria adds a short note in the moderators' "
              "own voice, picks the forum and keeps the neutral title it offers.")
    opened = await sb.context_menu(server.guild, maria, "Repost for member", target=original)
    await opened.responded()
    if opened.modal is None:
        story.show_reply(opened, "maria")
        return
    submitted = await sb.submit_modal(
        opened.modal, by=maria,
        values={story.t("Your note as moderators (optional)"):
                "Anna asked us to share her and Tom's story here."},
        selects={story.t("Post it in"): [str(server.forum.id)],
                 story.t("Ping the member in the post?"): ["no"]},
        # (Maria keeps the offered title, "Shared for anna": no diagnosis in a title.)
    )
    await submitted.done()
    await story.settle()
    story.show_reply(submitted, "maria")
    story.say("The forum post appears under Anna's own name and picture, marked as shared by "
              "the moderators. Anna gets one private message with the link, and is added to "
              "the post's thread so she hears about replies. The mod log records it.")
    story.show()

    found = re.search(r"https://discord\.com/channels/\d+/\d+/(\d+)", submitted.content or "")
    posted = sb.world.messages.get(int(found.group(1))) if found else None
    if posted is None:
        story.say("(The repost could not be found; skipping the rest of this chapter.)")
        return

    story.say("Olivia wonders who posted it: she uses Apps > About this repost.")
    about = await sb.context_menu(server.guild, server.owner, "About this repost", target=posted)
    await about.done()
    story.show_reply(about, "olivia")

    story.say("Anna spots a word she wants to change. The copy stays hers: Apps > Manage my "
              "reposted post > Edit.")
    manage = await sb.context_menu(server.guild, anna, "Manage my reposted post", target=posted)
    await manage.done()
    story.show_reply(manage, "anna")
    if manage.message is None:
        return
    edit = await sb.click(manage.message, label=story.t("Edit"), by=anna)
    await edit.responded()
    if edit.modal is None:
        story.show_reply(edit, "anna")
        return
    words = next((c.get("value") or "" for c in edit.modal.inputs()), "")
    saved = await sb.submit_modal(edit.modal, by=anna, values={
        story.t("The words in this message"): words.replace("I would dare", "I would have dared")})
    await saved.done()
    await story.settle()
    story.show_reply(saved, "anna")
    ending = posted.content[-150:].replace(f"<@{anna.id}>", f"@{anna.user.username}")
    story.say("The post now ends (attribution kept): ...{ending}", ending=ending)

