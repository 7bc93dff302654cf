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


async def test_every_visible_string_in_the_demo_comes_from_the_catalog(tmp_path):
    out = io.StringIO()
    sb = await play(out, tmp_path / "demo.sqlite3", PSEUDO)
    people = _provided_by_people(sb)
    texts = list(visible_texts(sb))
    assert len(texts) > 50, "the demo should have shown many texts"
    assert any("⟦" in text for _, text in texts)
    leaks = []
    for where, text in texts:
        words = unmarked(text, people)
        if words:
            leaks.append(f"{where}: {outside_markers(text)[:160]!r} -> {words[:8]}")
    assert not leaks, "hard-coded strings (outside the catalog):\n" + "\n".join(leaks)



def test_the_checker_finds_text_outside_the_markers_and_ignores_markup_and_people():
    people = {"Sam", "my mum's story"}
    assert unmarked("⟦Hi ⟦Sam⟧⟧ <@123> <#4> <t:5:R> `x.y` https://a.b/c", people) == []
    assert unmarked("⟦Approved⟧ by <@1>", people) == ["by"]
    assert unmarked("Hold #3", people) == ["Hold"]
    assert unmarked("Sam shared my mum's story.", people) == ["shared"]
    assert unmarked("**hold.approved** ⟦ok⟧", people) == []  # a recorded action's code
    assert outside_markers("a⟦b⟦c⟧d⟧e") == "ae"
