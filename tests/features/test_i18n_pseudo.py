"""The pseudo-locale proves no user-visible string bypasses the catalog.

The demo plays with the server and every member's client set to the pseudo-locale `xx`, in
which each translated string comes back wrapped in ⟦ ⟧. Every piece of text Steward sent
(messages, edits, DMs, webhook posts, ephemeral replies, modals, buttons, select options,
embeds) must be inside markers, except what members and admins wrote themselves (their posts,
names, channel and group names) and Discord markup (mentions, timestamps, links, code).
"""

from __future__ import annotations

import io
import re

from bot.demo import play
from bot.domain.audit import EVENT_FAMILIES
from bot.i18n import PSEUDO
from tests.i18n.visible import outside_markers, unmarked, visible_texts


def _provided_by_people(sb) -> set[str]:
    """Words members and admins wrote or named: never Steward's to translate."""
    world = sb.world
    bot_id = world.bot_user.id
    found: set[str] = set()
    for message in world.messages.values():
        if message.author.id != bot_id and message.webhook_id is None and message.content:
            found.add(message.content)
            found.update(line.strip() for line in message.content.splitlines())
            found.update(s.strip() for s in re.split(r"(?<=[.!?])\s+", message.content))
    for interaction in world.interactions.values():  # what people typed into commands, forms
        found.update(_typed(interaction.payload.get("data")))
    found.update(u.username for u in world.users.values())
    found.update(u.global_name for u in world.users.values() if u.global_name)
    for guild in world.guilds.values():
        found.add(guild.name)
        found.update(role.name for role in guild.roles.values())
    found.update(c.name for c in world.channels.values() if c.name)
    found.update(EVENT_FAMILIES)  # the mod log's event names, as /steward modlog takes them
    return found


def _typed(data: object) -> set[str]:
    """Every string value people typed: command options, modal inputs, and their parts."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "value" and isinstance(value, str):
                found.add(value)
                found.update(part.strip() for part in value.split(","))
            else:
                found.update(_typed(value))
    elif isinstance(data, list):
        for item in data:
            found.update(_typed(item))
    return found


def _doctor_titles_with_codes(texts: list[tuple[str, str]]) -> list[str]:
    """Doctor findings titled by their code (`channel.permission`) rather than in words: the
    general check lets dotted codes through (the mod log shows recorded action names), so the
    doctor's field names are held to "nothing but the icon outside the markers"."""
    return [text for where, text in texts if where.endswith("embed field name")
            and text.startswith(("❌", "⚠️")) and outside_markers(text).strip() not in ("❌", "⚠️")]


async def test_every_visible_string_in_the_demo_comes_from_the_catalog(tmp_path):
    out = io.StringIO()
    sb = await play(out, tmp_path / "demo.sqlite3", PSEUDO)
    people = _provided_by_people(sb)
    texts = list(visible_texts(sb))
    assert len(texts) > 50, "the demo should have shown many texts"
    assert any("⟦" in text for _, text in texts)
    assert any(where.endswith("embed field name") and text.startswith("❌")
               for where, text in texts), "the demo's doctor should report a problem"
    leaks = []
    for where, text in texts:
        words = unmarked(text, people)
        if words:
            leaks.append(f"{where}: {outside_markers(text)[:160]!r} -> {words[:8]}")
    assert not leaks, "hard-coded strings (outside the catalog):\n" + "\n".join(leaks)
    assert not _doctor_titles_with_codes(texts)
    # The demo's own voice: chapter headings, the narrator's "~" lines and the "> olivia
    # types: ..." lines come from the catalog too (context "demo").
    lines = out.getvalue().splitlines()
    voiced = [line for i, line in enumerate(lines)
              if line.startswith(("  ~ ", "  > ")) or (i and lines[i - 1].startswith("====")
                                                       and not line.startswith("===="))]
    assert len(voiced) > 60 and any(line.startswith("  > ") for line in voiced)
    unvoiced = [line for line in voiced if unmarked(line, people | {"Steward"})]
    assert not unvoiced, "narration outside the catalog:\n" + "\n".join(unvoiced[:20])



def test_the_checker_finds_text_outside_the_markers_and_ignores_markup_and_people():
    people = {"Sam", "my mum's story"}
    assert unmarked("⟦Hi ⟦Sam⟧⟧ <@123> <#4> <t:5:R> `x.y` https://a.b/c", people) == []
    assert unmarked("⟦Approved⟧ by <@1>", people) == ["by"]
    assert unmarked("Hold #3", people) == ["Hold"]
    assert unmarked("Sam shared my mum's story.", people) == ["shared"]
    assert unmarked("**hold.approved** ⟦ok⟧", people) == []  # a recorded action's code
    assert outside_markers("a⟦b⟦c⟧d⟧e") == "ae"


# --- a tour of the commands, replies, errors and forms the demo doesn't reach ----------------


async def test_a_tour_of_commands_buttons_and_errors_in_the_pseudo_locale(steward):
    sb, server, bot = steward.sb, steward.server, steward.bot
    guild, owner, mod = server.guild, server.owner, server.mod
    for private in (server.modlog, server.queue):
        sb.set_overwrite(private, sb.bot_role(guild), allow=["view_channel"])
    await bot.guild_settings.update(guild.id, lambda c: setattr(c.core, "language", PSEUDO))
    for person in (owner, mod, server.member):
        person.user.locale = PSEUDO
    sb.world.default_locale = PSEUDO
    sb.reset()

    async def run(user, command, **options):
        result = await sb.slash(guild, user, command, **options)
        await result.done()
        return result

    async def pages(result):
        while result.message and any(b.get("label") == "⟦Next⟧" and not b.get("disabled")
                                     for b in result.message.buttons()):
            result = await sb.click(result.message, "⟦Next⟧", by=owner)
            await result.done()

    await run(owner, "steward setup")
    await pages(await run(owner, "steward settings"))
    await run(owner, "steward settings", mod_log=server.modlog)
    await run(owner, "steward doctor")
    await run(owner, "steward audit", days=7)
    await run(owner, "linkhold settings", hold_days=3)
    await run(owner, "linkhold allow", domain="cancer.gov")
    await run(owner, "linkhold allow", domain="not a site")
    await run(owner, "linkhold allowlist")
    await run(owner, "linkhold disallow", domain="cancer.gov")
    # The AutoMod rule: Discord shows its block message to members, its name to admins.
    await run(owner, "linkhold automod", state="on")
    [rule] = [r for r in guild.automod_rules.values() if r["name"].startswith("Steward: ")]
    [block] = [a for a in rule["actions"] if a["type"] == 1]
    assert unmarked(block["metadata"]["custom_message"], set()) == []
    assert unmarked(rule["name"], {"Steward"}) == [] and "⟦" in rule["name"]
    await run(owner, "linkhold automod", state="off")
    await run(owner, "welcome settings", options={"channel": server.welcome})
    await run(owner, "welcome group add", name="Grief", options={"channel": server.forum},
              keywords="grief, loss")
    await run(owner, "welcome message", template="Hi {nobody}")
    await run(owner, "welcome preview")
    await run(owner, "care settings", quiet_hours=12)
    await run(owner, "care phrases add", phrase="ready to give up")
    await run(owner, "repost settings")
    await run(owner, "followup settings", timezone="Europe/Madrid")
    # The form check's refusals (pydantic's, and Steward's own validators) from the catalog.
    refused = await run(owner, "linkhold settings", hold_days=999)
    assert "`hold_days`" in (refused.content or "") and "365" in refused.content
    refused = await run(owner, "followup settings", timezone="Mars/Base")
    assert "Mars/Base" in (refused.content or "")
    await run(server.member, "linkhold queue")  # not a moderator: an error
    await run(server.member, "preferences", followup_pings="off")
    await run(server.member, "groups")

    newbie = await sb.join(guild, "pseudo-newbie")
    await sb.post(server.general, newbie, "Buy pills at https://pills4u.shop now")
    card = await sb.wait_for_message(
        server.queue, lambda m: f"<@{newbie.id}>" in m.display_text)
    await run(mod, "linkhold queue")
    await run(mod, "linkhold status", member=newbie)
    full = await sb.click(card, "⟦Full text⟧", by=mod)
    await full.done()
    ban = await sb.click(card, "⟦Ban⟧", by=mod)
    await ban.done()
    cancel = await sb.click(ban.message, "⟦Cancel⟧", by=mod)
    await cancel.done()
    reject = await sb.click(card, "⟦Reject⟧", by=mod)
    await reject.responded()
    done = await sb.submit_modal(reject.modal, by=mod,
                                 values={"⟦Reason (optional)⟧": "Selling pills"},
                                 selects={"⟦Tell the member?⟧": ["yes"]})
    await done.done()
    other = await sb.join(guild, "pseudo-other")
    await sb.post(server.general, other, "see https://bit.ly/x")
    second = await sb.wait_for_message(
        server.queue, lambda m: f"<@{other.id}>" in m.display_text)
    trust = await sb.click(second, "⟦Approve & trust⟧", by=mod)
    await trust.done()
    await run(server.member, "preferences", followup_pings="on")
    await run(mod, "followup remind", member=server.member, when="2 horas", note="scan?")
    await run(mod, "followup remind", member=server.member, when="yesterday")
    listed = await run(mod, "followup list")
    assert listed.content
    await sb.idle()

    # What people typed, and setting values shown as they are (a time zone's name).
    people = _provided_by_people(sb) | {"Selling pills", "scan?", "UTC"}
    texts = list(visible_texts(sb))
    assert len(texts) > 40
    leaks = [f"{where}: {outside_markers(text)[:160]!r} -> {words[:8]}"
             for where, text in texts if (words := unmarked(text, people))]
    assert not leaks, "hard-coded strings (outside the catalog):\n" + "\n".join(leaks)
    assert not _doctor_titles_with_codes(texts)


async def test_a_second_tour_of_moderator_and_member_paths_in_the_pseudo_locale(steward):
    sb, server, bot = steward.sb, steward.server, steward.bot
    guild, owner, mod, anna = server.guild, server.owner, server.mod, server.member
    for private in (server.modlog, server.queue):
        sb.set_overwrite(private, sb.bot_role(guild), allow=["view_channel"])
    await bot.guild_settings.update(guild.id, lambda c: setattr(c.core, "language", PSEUDO))
    sb.world.default_locale = PSEUDO
    for person in (owner, mod, anna):
        person.user.locale = PSEUDO
    role = sb.add_role(guild, "Volunteers")
    await sb.wait_for(lambda: bot.get_guild(guild.id).get_role(role.id) is not None)
    sb.reset()

    async def run(user, command, **options):
        result = await sb.slash(guild, user, command, **options)
        await result.done()
        return result

    newbie = await sb.join(guild, "pseudo-second")
    await sb.idle()
    # A welcome that can't be posted: the mod log reads the recorded problem from the catalog.
    bot_member = sb.bot_member(guild)
    sb.set_overwrite(server.welcome, bot_member, deny=["send_messages"])
    unwelcomed = await sb.join(guild, "pseudo-unwelcomed")
    await sb.wait_for_message(server.modlog, lambda m: any(
        f"<@{unwelcomed.id}>" in e.get("description", "")
        and "Send Messages" in e.get("description", "") for e in m.embeds))
    sb.set_overwrite(server.welcome, bot_member)
    await run(mod, "welcome resend", member=newbie)
    await run(owner, "welcome suggestions", state="off")
    await run(owner, "welcome group add", name="Carers", options={"channel": server.general})
    await run(owner, "welcome group edit", name="Carers", description="For carers")
    await run(owner, "welcome group remove", name="Carers")
    await run(owner, "linkhold exempt", role=role)
    await run(owner, "linkhold unexempt", role=role)
    await run(owner, "linkhold ignore", options={"channel": server.rules})
    await run(owner, "linkhold unignore", options={"channel": server.rules})
    await run(mod, "linkhold trust", member=newbie)
    await run(mod, "linkhold untrust", member=newbie)
    await run(owner, "steward config export")
    await run(owner, "care phrases remove", phrase="not one of them")

    await sb.post(server.general, newbie, "Our story https://youtu.be/ourstory")
    card = await sb.wait_for_message(
        server.queue, lambda m: f"<@{newbie.id}>" in m.display_text)
    edit = await sb.click(card, "⟦Edit & approve⟧", by=mod)
    await edit.responded()
    done = await sb.submit_modal(edit.modal, by=mod, values={
        "⟦The post as it will be shared⟧": "Our story https://youtu.be/ourstory"})
    await done.done()
    await sb.idle()

    question = await sb.post(server.general, anna, "How did the scan go, everyone?")
    await run(mod, "followup ask", question=question.jump_url, op=newbie)
    listed = await run(mod, "followup list")
    ids = [int(x) for x in re.findall(r"#(\d+)", listed.content or "")]
    if ids:
        await run(mod, "followup snooze", id=ids[0], when="3 días")
        await run(mod, "followup cancel", id=ids[0])
    await run(mod, "followup cancel", id=99999)
    await run(mod, "followup ask", question="not a link")
    forget = await run(owner, "privacy forget", member=newbie)
    if forget.message is not None and forget.message.buttons():
        confirmed = await sb.click(forget.message, "⟦Forget everything⟧", by=owner)
        await confirmed.done()
    await sb.idle()

    people = _provided_by_people(sb) | {"UTC"}
    texts = list(visible_texts(sb))
    assert len(texts) > 30
    leaks = [f"{where}: {outside_markers(text)[:160]!r} -> {words[:8]}"
             for where, text in texts if (words := unmarked(text, people))]
    assert not leaks, "hard-coded strings (outside the catalog):\n" + "\n".join(leaks)
    assert not _doctor_titles_with_codes(texts)
