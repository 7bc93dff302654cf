"""Demo chapter: Sam writes that they don't know how to keep going; a moderator reaches out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.demo import Story

TITLE = "A member may be struggling"


async def chapter(story: Story) -> None:
    """No automated reply; one private alert; Maria claims it and sends the support message."""
    sb, server = story.sb, story.server
    sam = await story.ensure_newcomer()
    maria = server.mod
    story.heading("Distress comes first")
    story.later("That evening", hours=6)
    story.say("Sam writes again in #general. The post matches the Carers and Family keywords "
              "too, but it reads as despair, so Steward sends no automated reply at all (no "
              "group suggestion, and no check-ins or reminders to Sam for 24 hours). It "
              "alerts the moderators privately in #mod-queue instead, pinging nobody.")
    await sb.post(server.general, sam, "Looking after Dad is so much. "
                                       "Some days I don't know how to keep going.")

    def alert() -> Any:
        return next((m for m in reversed(sb.messages(server.queue)) if m.embeds
                     and m.embeds[0].get("title") == story.t(TITLE)), None)

    try:
        card = await sb.wait_for(alert, message="no care alert")
    except AssertionError:
        card = None
    await story.settle()
    story.show()
    if card is None:
        story.say("(No care alert appeared; skipping the rest of this chapter.)")
        return
    story.say("The card links to the post and names the words that raised it; it quotes "
              "nothing else. Maria presses **I'll reach out**, so the other moderators can "
              "see she has it (a second moderator pressing it is told who).")
    claimed = await sb.click(card, story.t("I'll reach out"), by=maria)
    await claimed.done()
    story.show_reply(claimed, "maria")
    story.say("Maria presses **Send support message**. Steward never DMs a member on its own: "
              "it opens the server's support message for her to read and edit first.")
    opened = await sb.click(sb.message(card.id), story.t("Send support message"), by=maria)
    await opened.responded()
    if opened.modal is None:
        story.say("(The support message did not open; skipping the rest of this chapter.)")
        return
    (field,) = opened.modal.inputs()
    story.out.write(story.voice("[form — {who}] {form}", who="maria", form=opened.modal.title)
                    + "\n")
    story.out.write(f"    {field.get('label')}: "
                    + story.voice("(pre-filled; Maria adds a line of her own)") + "\n")
    text = field["value"] + "\nI'm around tonight if you want to talk. Maria"
    sent = await sb.submit_modal(opened.modal, by=maria, values={field["custom_id"]: text})
    await sent.done()
    await story.settle()
    story.show_reply(sent, "maria")
    story.show()
    story.say("Sam gets the message once, signed with Maria's name. The card now shows who is "
              "reaching out and that the message was sent; the mod log records ids and links, "
              "never Sam's words.")
