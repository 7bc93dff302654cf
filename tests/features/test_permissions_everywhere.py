"""Non-moderators are refused everywhere: every command, context menu, button and modal.

The cases are found by walking the real bot's command tree and its registered dynamic items
(loaded offline at collection time), so a feature that lands later is covered automatically.
Discord's `default_member_permissions` only hides commands (admins can override it), so each
handler must check at run time; this test calls them as people Discord would let through.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from hypothesis import find
from hypothesis import strategies as st

from bot.cli_admin import offline_bot
from config.settings import Settings
from tests.steward_env import running_env

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

# Top-level commands without default permissions are for every member, on purpose. Adding one
# must be a conscious decision: update this set.
MEMBER_COMMANDS = {"groups", "preferences", "Manage my reposted post", "About this repost"}
# Persistent buttons that members use (each checks who may press it in its own way).
MEMBER_ITEMS = {"PickerButton", "NotifyButton", "StopButton"}
REFUSALS = ("Only moderators", "Only server admins")
QUIET_ROUTES = {"POST /interactions/{interaction_id}/{interaction_token}/callback",
                "POST /webhooks/{webhook_id}/{webhook_token}",
                "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"}


def _audience(command: Any) -> str:
    root = command
    while getattr(root, "parent", None) is not None:
        root = root.parent
    perms = getattr(root, "default_permissions", None)
    if perms is None:
        return "everyone"
    return "admin" if perms.manage_guild else "moderator"


def _inventory() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    async def build() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None,  # type: ignore[call-arg]
                                STEWARD_DATABASE=f"{tmp}/inventory.sqlite3")
            async with offline_bot(settings) as bot:
                commands = [("slash", c.qualified_name, _audience(c))
                            for c in bot.tree.walk_commands()
                            if isinstance(c, app_commands.Command)]
                for kind, ctype in (("message", discord.AppCommandType.message),
                                    ("user", discord.AppCommandType.user)):
                    commands += [(kind, c.name, _audience(c))
                                 for c in bot.tree.get_commands(type=ctype)]
                items = [(cls.__name__, pattern.pattern)
                         for cls, pattern in bot.persistent_items()]
        return commands, items

    return asyncio.run(build())


COMMANDS, ITEMS = _inventory()
GUARDED = [(kind, name) for kind, name, audience in COMMANDS if audience != "everyone"]


async def test_the_inventory_is_complete_and_audiences_are_deliberate():
    everyone = {name.split(" ")[0] if kind == "slash" else name
                for kind, name, audience in COMMANDS if audience == "everyone"}
    assert everyone == MEMBER_COMMANDS
    assert {"steward setup", "steward doctor", "privacy forget"} <= {n for _, n in GUARDED}
    # Forgetting rewrites the audit trail: server admins only, even in what Discord shows.
    assert ("slash", "privacy forget", "admin") in COMMANDS
    assert {name for name, _ in ITEMS} >= MEMBER_ITEMS
    assert len(GUARDED) >= 10 and any(k == "message" for k, _ in GUARDED)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    async with running_env(tmp_path_factory.mktemp("everywhere")) as steward:
        server = steward.main
        steward.target = await steward.sb.post(server.general, server.helper, "a post to act on")
        yield steward


@pytest.fixture(autouse=True)
def _reset(env):
    env.sb.reset()


def _value(env, param: app_commands.Parameter) -> Any:
    server, kind = env.main, param.type
    if param.choices:
        return param.choices[0].value
    if kind is discord.AppCommandOptionType.string:
        return "example.org"
    if kind in (discord.AppCommandOptionType.integer, discord.AppCommandOptionType.number):
        return param.min_value if param.min_value is not None else 1
    if kind is discord.AppCommandOptionType.boolean:
        return True
    if kind in (discord.AppCommandOptionType.user, discord.AppCommandOptionType.mentionable):
        return server.helper
    if kind is discord.AppCommandOptionType.role:
        return server.helper_role
    if kind is discord.AppCommandOptionType.channel:
        if discord.ChannelType.forum in param.channel_types and (
                discord.ChannelType.text not in param.channel_types):
            return server.forum
        return server.general
    if kind is discord.AppCommandOptionType.attachment:
        return ("settings.toml", b"[policy]\n")
    raise AssertionError(f"no example value for option type {kind}")


def _refused(texts: list[str]) -> bool:
    return any(refusal in text for text in texts for refusal in REFUSALS)


def _no_side_effects(env) -> list[str]:
    return [r.route for r in env.sb.requests if r.route not in QUIET_ROUTES]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def leader_channel(env):
    """A group leader's own channel: Manage Messages and Manage Server granted there only."""
    sb, server = env.sb, env.main
    channel = sb.add_text_channel(server.guild, "leaders-own-group")
    sb.set_overwrite(channel, server.member,
                     allow=("view_channel", "send_messages", "manage_messages", "manage_guild"))
    await asyncio.sleep(0.05)  # let the CHANNEL_UPDATE reach the bot's cache
    post = await sb.post(channel, server.helper, "a post in the leader's channel")
    return channel, post


@pytest.mark.parametrize(("kind", "name"), GUARDED, ids=[f"{k}:{n}" for k, n in GUARDED])
async def test_a_channel_overwrite_grants_no_moderator_power(env, leader_channel, kind, name):
    """Authority is server-wide: Manage Messages/Server in one channel is not moderation."""
    sb, server = env.sb, env.main
    channel, post = leader_channel
    sb.reset()
    if kind == "slash":
        command = next(c for c in env.bot.tree.walk_commands() if c.qualified_name == name)
        options = {p.name: _value(env, p) for p in command.parameters if p.required}
        r = await sb.slash(server.guild, server.member, name, channel, options=options)
    else:
        target = post if kind == "message" else server.helper
        r = await sb.context_menu(server.guild, server.member, name, target=target,
                                  channel=channel)
    await r.done()
    assert r.modal is None, f"{name} opened a modal for a group leader"
    assert r.ephemeral and _refused(r.texts), (name, r.texts)
    assert _no_side_effects(env) == [], name


@pytest.mark.parametrize(("kind", "name"), GUARDED, ids=[f"{k}:{n}" for k, n in GUARDED])
async def test_members_are_refused_by_every_moderator_command(env, kind, name):
    sb, server = env.sb, env.main
    if kind == "slash":
        command = next(c for c in env.bot.tree.walk_commands() if c.qualified_name == name)
        options = {p.name: _value(env, p) for p in command.parameters if p.required}
        r = await sb.slash(server.guild, server.member, name, options=options)
    else:
        target = env.target if kind == "message" else server.helper
        r = await sb.context_menu(server.guild, server.member, name, target=target)
    await r.done()
    assert r.modal is None, f"{name} opened a modal for a member"
    assert r.ephemeral and _refused(r.texts), (name, r.texts)
    assert _no_side_effects(env) == [], name


def _example_custom_id(pattern: str) -> str:
    return find(st.from_regex(re.compile(pattern), fullmatch=True),
                lambda s: s.isascii() and s.isprintable())


GUARDED_ITEMS = [(name, pattern) for name, pattern in ITEMS if name not in MEMBER_ITEMS]


@pytest.mark.parametrize(("name", "pattern"), GUARDED_ITEMS,
                         ids=[name for name, _ in GUARDED_ITEMS])
async def test_members_are_refused_by_every_moderator_button(env, name, pattern):
    sb, server = env.sb, env.main
    custom_id = _example_custom_id(pattern)
    card = await sb.post(server.general, sb.bot_user, "a card", force=True, components=[
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Press",
                                    "custom_id": custom_id}]}])
    sb.reset()
    r = await sb.click(card, "Press", by=server.member)
    await r.done()
    assert r.modal is None, f"{name} opened a modal for a member"
    assert r.ephemeral and _refused(r.texts), (name, custom_id, r.texts)
    assert _no_side_effects(env) == [], name


async def test_a_moderator_demoted_while_a_modal_is_open_is_refused_on_submit(env):
    """Every moderator command that opens a modal re-checks on submit."""
    sb, server = env.sb, env.main
    opened = 0
    for kind, name in GUARDED:
        mod = sb.add_member(server.guild, f"temp-mod-{opened}-{len(name)}",
                            roles=[server.mod_role])
        if kind == "slash":
            command = next(c for c in env.bot.tree.walk_commands() if c.qualified_name == name)
            if _audience(command) != "moderator":
                continue
            options = {p.name: _value(env, p) for p in command.parameters if p.required}
            r = await sb.slash(server.guild, mod, name, options=options)
        else:
            target = env.target if kind == "message" else server.helper
            r = await sb.context_menu(server.guild, mod, name, target=target)
        await r.done()
        if r.modal is None:
            continue
        opened += 1
        await sb.update_member(server.guild, mod, roles=[])
        values = {field["custom_id"]: "example" for field in r.modal.inputs()
                  if field.get("required", True)}
        sb.reset()
        submitted = await sb.submit_modal(r.modal, by=mod, values=values)
        await submitted.done()
        assert _refused(submitted.texts), (name, submitted.texts)
        assert _no_side_effects(env) == [], name
    assert opened >= 1  # the repost context menu opens one
