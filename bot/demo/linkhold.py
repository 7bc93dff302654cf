"""Demo chapter: a newcomer's video link is held, explained, approved and reposted."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Story


async def chapter(story: Story) -> None:
    """Sam shares a video on day one; Steward holds it kindly; Maria approves it."""
    sb, server = story.sb, story.server
    sam = await story.ensure_newcomer()
    maria = server.mod
    story.heading("New-member link holds")
    story.say("Still on Sam's first day: Sam wants to share a video about their mum's "
              "treatment. New members can't post links for their first 3 days, so Steward "
              "holds it.")
    await sb.post(server.general, sam,
                         "This video explained my mum's surgery better than anything: "
                         "https://www.youtube.com/watch?v=colon-surgery-explained")

    def queued() -> object:
        return next((m for m in reversed(sb.messages(server.queue))
                     if story.t("Held post from a new member") in m.display_text), None)

    try:
        card = await sb.wait_for(queued, message="no queue card")
    except AssertionError:
        card = None
    await story.settle()
    story.show()
    story.say("The post is stored first (nothing is lost), then removed from #general, then Sam "
              "gets a kind DM, then the moderators get a card in #mod-queue with the link "
              "shown as code, so nobody opens a phishing link by accident.")

    if card is None:
        story.say("(No queue card appeared; skipping the rest of this chapter.)")
        return
    story.say("Maria (a moderator) watches the video, sees it is genuine, and clicks Approve.")
    result = await sb.click(card, story.t("Approve"), by=maria)
    await result.done()
    await story.settle()
    story.show_reply(result, "maria")
    story.say("Steward reposts Sam's words in #general under Sam's name, tells Sam once, "
              "updates the card (buttons off, who decided, a link to the post) and records it "
              "in the mod log.")
    story.show()
