"""Demo chapter: "how did it turn out?" A question months later reaches the original poster."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.demo import Story


async def chapter(story: Story) -> None:
    """Susan's trial post, Anna's question months later, the tag, one check-in, the answer."""
    sb, server = story.sb, story.server
    anna, maria = server.member, server.mod
    susan = sb.add_member(server.guild, "susan159",
                          joined_at=story.clock.now() - timedelta(days=300))
    story.heading("Follow-ups: making sure the original poster sees a question")
    story.say("Susan posted in the colorectal-cancer forum about a clinical trial.")
    thread, _ = await sb.forum_post(
        server.forum, susan, "Husband offered a place in a trial",
        "My husband has been offered a place in the FOxTROT 2 trial. Has anyone done it?")
    await story.settle()
    story.show()

    story.later("Three months later", days=90)
    question = await sb.post(thread, anna, "I just wanted to check to see how this turned out. "
                                           "Was your husband accepted into the trial?")
    await story.settle()
    story.show()
    story.say("Susan hasn't been around for weeks and may never see it. Maria (a moderator) "
              "right-clicks Anna's question: Apps > Ask original poster.")
    asked = await sb.context_menu(server.guild, maria, "Ask original poster", target=question)
    await asked.done()
    await story.settle_scheduled()
    story.show_reply(asked, "maria")
    story.show()

    tag = next((m for m in reversed(sb.messages(thread))
                if m.author.id == sb.bot_user.id and m.buttons()), None)
    if tag is not None:
        story.say("Maria and Anna will hear about the answer automatically. Grace, who is "
                  "waiting to hear about the same trial, presses the button too.")
        grace = sb.add_member(server.guild, "grace",
                              joined_at=story.clock.now() - timedelta(days=60))
        clicked = await sb.click(tag, label=story.t("Notify me when they reply"), by=grace)
        await clicked.done()
        story.show_reply(clicked, "grace")

    story.later("A week later, no answer yet", days=7)
    await story.settle_scheduled()
    story.say("Steward reads the thread first (Susan might have answered while it was "
              "offline), then posts its one and only check-in, pinging only Susan.")
    story.show()

    story.later("Two days later", days=2)
    await sb.post(thread, susan, "Sorry, I've been away. Yes, he was accepted, and his "
                                 "latest scan was clear! Thank you for asking, Anna.")
    replied = story.t("{mention} replied to the question you were following: {jump}")
    marker = replied.split("{mention}")[1].split("{jump}")[0].strip(" ⟦⟧:")
    await sb.wait_for_message(thread, lambda m: marker in m.content)
    await story.settle_scheduled()
    story.say("Susan answered: the follow-up is closed, and Maria, Anna and Grace are told "
              "once, in the thread, with a link to her reply. The mod log has the whole story, "
              "as ids and links only.")
    story.show()

    story.later("A month later", days=30)
    await story.settle_scheduled()
    story.say("Nothing more: at most one check-in per question, and none after an answer.")
    story.show()
