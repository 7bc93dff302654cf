"""Demo chapter: a member dies; moderators mark them "In memoriam" and Steward leaves them be."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.demo import Story


def _member(story: Story, name: str, *, days: int) -> Any:
    """The member called `name` (from an earlier chapter), or one who joined `days` ago."""
    guild = story.server.guild
    for member in guild.members.values():
        if member.user.username == name:
            return member
    return story.sb.add_member(guild, name, joined_at=story.clock.now() - timedelta(days=days))


async def _run(story: Story, user: Any, command: str, **options: Any) -> Any:
    """A moderator's slash command; prints what only they see."""
    result = await story.sb.slash(story.server.guild, user, command, **options)
    await result.done()
    await story.settle()
    story.show_reply(result, user.user.username)
    return result


async def chapter(story: Story) -> None:
    """Peter dies with a follow-up and a reminder open; Maria marks him; nothing is posted."""
    sb, server = story.sb, story.server
    anna, maria = server.member, server.mod
    peter = _member(story, "peter", days=400)
    story.heading("In memoriam: leaving a member in peace")
    story.say("Peter has been part of the colorectal-cancer forum for a year. He writes about "
              "starting chemotherapy.")
    thread, _ = await sb.forum_post(server.forum, peter, "Starting FOLFOX next week",
                                    "I start FOLFOX next week. Any tips for the first round?")
    await story.settle()
    story.show()

    story.later("Six weeks later", days=42)
    question = await sb.post(thread, anna, "Peter, how have the first rounds gone? "
                                           "Thinking of you.")
    await story.settle()
    story.show()
    story.say("Peter hasn't posted for a while. Maria makes sure he sees Anna's question "
              "(Steward checks in once, a week later, if he hasn't answered). He had asked to "
              "be reminded on the day of his next scan, so she sets that reminder too.")
    asked = await sb.context_menu(server.guild, maria, "Ask original poster", target=question)
    await asked.done()
    await story.settle_scheduled()
    story.show_reply(asked, "maria")
    await _run(story, maria, "followup remind", member=peter, when="9d",
               note="Good luck with the scan today, Peter.", options={"channel": thread})
    story.show()

    story.later("Three days later", days=3)
    ruth = _member(story, "ruth", days=20)
    await sb.post(thread, ruth, "This is Ruth, Peter's daughter. Dad died on Sunday, at home "
                                "with all of us. This group meant a great deal to him. "
                                "Thank you for looking out for him.")
    await story.settle()
    story.show()
    story.say("Maria marks Peter “In memoriam”. The reason is for moderators only. Steward "
              "closes his open check-in and the reminder at once, quietly: nothing is posted "
              "in the thread his family reads.")
    await _run(story, maria, "care quiet add", member=peter, reason="in_memoriam")
    await story.settle_scheduled()
    story.show()
    story.say("The mod log has one plain entry for the mark. The closed check-in and reminder "
              "are kept in the audit history (/steward audit), not posted one by one.")

    story.later("A week later", days=7)
    await story.settle_scheduled()
    story.say("By now Steward would have checked in on Anna's question and posted Maria's "
              "reminder, both pinging Peter. Neither is posted. From now on Steward never "
              "tags, reminds, welcomes or suggests a group to him.")
    story.show()
    story.say("Olivia, back from a holiday and unaware, finds Anna's question still "
              "unanswered and asks Peter about it. Steward tells her, privately, why it won't.")
    again = await sb.context_menu(server.guild, server.owner, "Ask original poster",
                                  target=question)
    await again.done()
    await story.settle_scheduled()
    story.show_reply(again, "olivia")
    story.show()

    grace = _member(story, "grace", days=60)
    story.say("Grace writes to the moderators: her mum has moved to a hospice, and she'd rather "
              "not be pinged for a while. Maria marks her too, this time because she asked, "
              "and looks at who Steward leaves be.")
    await _run(story, maria, "care quiet add", member=grace, reason="asked")
    await _run(story, maria, "care quiet list")
    story.show()

    story.later("Two months later", days=60)
    await sb.post(server.general, grace, "I'm back. Thank you all for the kind messages "
                                         "these last weeks.")
    await story.settle()
    story.show()
    story.say("Grace is back, so Maria takes her mark away. Peter's stays.")
    await _run(story, maria, "care quiet remove", member=grace)
    await story.settle_scheduled()
