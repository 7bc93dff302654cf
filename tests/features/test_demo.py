"""The offline demo plays start to finish and tells the whole forum story."""

from __future__ import annotations

import io

from bot.demo import play


def _chapter(transcript: str, title: str) -> str:
    """One chapter of the transcript: from its title to the next chapter's heading."""
    start = transcript.index(title)
    rule = transcript.index("=" * 72, start) + 72  # the rule under the title
    end = transcript.find("=" * 72, rule)
    return transcript[start:end if end != -1 else len(transcript)]


async def test_demo_plays_offline_and_tells_the_story(tmp_path):
    out = io.StringIO()
    sb = await play(out, tmp_path / "demo.sqlite3")
    transcript = out.getvalue()
    assert "registered" in transcript and "/steward" in transcript
    # A newcomer is welcomed (pinging only them) and pointed to a group.
    assert "[#welcome] Steward [bot]:" in transcript and "(pings: sam)" in transcript
    # Their video link is held, explained by DM, queued, approved and reposted for them.
    assert "(removed by Steward moments later)" in transcript
    assert "[DM to sam] Steward [bot]:" in transcript and "held it" in transcript
    assert "Held post from a new member" in transcript
    assert "[#general] sam [via webhook]:" in transcript
    assert "shared for @sam by the moderators" in transcript
    # Later they are pointed to a support group, once.
    assert transcript.count("Interested in more discussions like this?") == 1
    # A post that reads as despair gets no automated reply: one private alert, a claim, and
    # the support message Maria reviewed, sent by DM once.
    care = transcript[transcript.index("Distress comes first"):]
    care = care[:care.index("=" * 72, care.index("=" * 72) + 72)]
    assert "Interested in more" not in care
    assert care.count("| A member may be struggling") == 1
    assert "don't know how to keep going" in care and "[I'll reach out]" in care
    assert "(pings:" not in care
    assert "The others can see you're reaching out" in care
    assert care.count("[DM to sam] Steward [bot]:") == 1 and "findahelpline.com" in care
    assert "sent by maria" in care
    # The follow-up: the OP is tagged, one check-in fires, then it stands down on the answer.
    assert "| Follow-up asked" in transcript
    assert transcript.count("This is the only reminder I'll send") == 1
    assert "| Follow-up answered" in transcript
    assert transcript.index("| Follow-up asked") < transcript.index("| Follow-up answered")
    # The mod log reads as words: who did it (no raw action codes), when.
    assert "| Approved by @maria · " in transcript and "hold.approved" not in transcript
    # What the moderators typed, chose and pressed is printed, so a reader learns the workflow:
    # commands with their options, context menus, each form field and the picked options.
    assert "  > olivia types: /steward setup" in transcript
    assert "  > olivia types: /welcome group add channel: #colorectal-cancer " in transcript
    assert "  > sam picks: Colorectal Cancer" in transcript
    assert "  > maria presses [Approve]" in transcript
    assert "  > maria right-clicks anna's message → Apps → Repost for member" in transcript
    form = transcript[transcript.index("  > maria fills in the form “Repost for a member”:"):]
    form = form[:form.index("\n[")]
    assert "Their words (edit if needed): My husband Tom" in form and "(as offered)" in form
    assert "Your note as moderators (optional): Anna asked us to share" in form
    assert "Post it in: #colorectal-cancer" in form
    assert "Ping the member in the post?: No, just tell them privately" in form
    assert "Forum post title (forums only): Shared for anna (as offered)" in form
    # The repost speaks as the moderators about Anna, and its title gives nothing away.
    assert "[#colorectal-cancer > Shared for anna] anna [via webhook]:" in transcript
    assert "Please allow me" not in transcript
    assert "🛡️ The moderators, about this post by @anna: Anna asked us" in transcript
    # In memoriam: Peter dies with a follow-up and a reminder open. Maria marks him (the
    # picker's label is printed); both close at once with no check-in in his family's thread,
    # the mod log has one plain entry for it, the list shows the marks, Grace's is undone.
    memoriam = _chapter(transcript, "In memoriam: leaving a member in peace")
    marked = memoriam.index(
        "  > maria types: /care quiet add member: @peter reason: In memoriam (they have died)")
    before, after = memoriam[:marked], memoriam[marked:]
    assert before.count("(pings: peter)") == 1  # the tag under Anna's question, before he died
    assert "Scheduled reminder #" in before and "I'll tag @peter in #Starting FOLFOX" in before
    assert ("I won't tag, remind, welcome or suggest groups to @peter any more (in memoriam). "
            "I closed 2 follow-up items that would have tagged them, without a check-in."
            in after)
    assert "[#colorectal-cancer > Starting FOLFOX next week] Steward [bot]:" not in after
    assert "(pings:" not in after and "This is the only reminder" not in after
    modlog = [block for block in after.split("\n[") if block.startswith("#mod-log]")]
    about_peter = [block for block in modlog if "**Member:** @peter" in block]
    assert len(about_peter) == 1, about_peter
    assert "| Member marked do-not-tag" in about_peter[0]
    assert "| **Reason:** in memoriam" in about_peter[0]
    assert "Follow-up closed" not in after and "Reminder cancelled" not in after
    assert "  > olivia right-clicks anna's message → Apps → Ask original poster" in after
    assert "Moderators asked me never to tag @peter (see `/care quiet list`)" in after
    assert "  > maria types: /care quiet add member: @grace reason: They asked for quiet" in after
    assert "@grace: they asked for quiet, " in after and "@peter: in memoriam, " in after
    assert "Steward may tag @grace again." in after and "| Do-not-tag mark removed" in after
    # On the wire: the tag is Steward's only message in Peter's thread, his daughter's post
    # came after it, and the reminder's words were never posted anywhere.
    thread = next(c for c in sb.world.channels.values()
                  if c.name == "Starting FOLFOX next week")
    steward = [m for m in sb.messages(thread) if m.author.id == sb.bot_user.id]
    assert len(steward) == 1 and "Thinking of you" in steward[0].content
    daughter = next(m for m in sb.messages(thread) if m.author.username == "ruth")
    assert daughter.id > steward[0].id
    assert not any("Good luck with the scan" in (m.content or "")
                   for m in sb.world.messages.values())
    assert transcript.rstrip().endswith("built-in sandbox.")


async def test_the_demo_plays_in_spanish(tmp_path):
    """`./dev demo --lang es`: the server and every member's Discord speak Spanish."""
    out = io.StringIO()
    await play(out, tmp_path / "demo.sqlite3", "es")
    transcript = out.getvalue()
    assert "Traceback" not in transcript and "skipping" not in transcript
    assert "¡Te damos la bienvenida a Hope Together, @sam!" in transcript
    assert "[Encuentra tu grupo de apoyo]" in transcript
    assert "Elige los grupos que quieres seguir" in transcript
    assert "[MD a sam] Steward [bot]:" in transcript and "lo he retenido" in transcript
    # The demo's own voice (narration, what people typed and pressed) speaks Spanish too.
    assert "\n  ~ Sam llega tras un diagnóstico" in transcript
    assert "\n  > olivia escribe: /steward setup\n" in transcript
    assert "\n  > sam pulsa [Encuentra tu grupo de apoyo]\n" in transcript
    assert "~ (Dos días después: 7 ene 2026" in transcript
    assert "[solo tú puedes ver esto — olivia]" in transcript
    assert transcript.rstrip().endswith("sandbox integrado de Steward.")
    assert "| Publicación retenida de un miembro nuevo" in transcript
    assert "[Aprobar]  [Editar y aprobar]  [Rechazar]" in transcript
    assert "— compartido para @sam por los moderadores" in transcript
    assert "Yo le escribo" in transcript and "findahelpline.com" in transcript
    assert "Hola, @susan159 👋" in transcript
    assert "Es el único recordatorio que enviaré" in transcript
    assert "Seguimiento respondido" in transcript
    memoriam = _chapter(transcript, "In memoriam: dejar en paz a un miembro")
    assert "a @peter (in memoriam). Cerré 2 seguimientos" in memoriam
    assert memoriam.count("| Miembro marcado como no mencionar") == 2  # Peter, then Grace
    assert "@peter: in memoriam, " in memoriam and "| Marca de no mencionar quitada" in memoriam
    # Nothing Steward says is left in English (member posts are).
    steward_lines = [line for block in transcript.split("\n[") if "Steward [bot]:" in block
                     for line in block.splitlines()[1:]
                     if line.startswith("    ")]  # the narrator's lines start with "  ~"
    for english in ("Held post", "Approve", "thank you for posting", "Welcome to", "reminder"):
        assert not any(english in line for line in steward_lines), english
