"""/steward setup, settings, audit, config export and metrics, against the sandbox."""

from __future__ import annotations

import argparse
import tomllib

import aiohttp
import discord
import pytest
import pytest_asyncio

from bot.cli import build_parser, run_command
from bot.domain.doctor import Severity
from bot.domain.doctor_titles import code_of_title
from bot.services.config_io import export_toml
from config.guild import GuildConfig
from tests.steward_env import running_env

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

VIEW = discord.Permissions(view_channel=True).value
SEND = discord.Permissions(send_messages=True).value
EMBED = discord.Permissions(embed_links=True).value


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    async with running_env(tmp_path_factory.mktemp("setup"), metrics_port=0) as steward:
        yield steward


@pytest.fixture(autouse=True)
def _reset(env):
    env.sb.reset()


def config(env, server) -> GuildConfig:
    return env.bot.guild_settings.get(server.id)


async def test_setup_creates_moderator_only_channels_on_an_empty_server(env):
    server = await env.add_server()
    sb = env.sb
    r = await sb.slash(server.guild, server.owner, "steward setup",
                       moderator_role=server.mod_role, welcome_channel=server.welcome,
                       rules_channel=server.rules, create_missing=True)
    await r.done()
    assert r.deferred and r.ephemeral
    [embed] = r.embeds
    assert "Server Settings → Integrations → Steward" in embed["description"]
    assert "all clear" in embed["description"]
    new = config(env, server)
    queue = sb.world.channels[new.linkhold.queue_channel]
    mod_log = sb.world.channels[new.core.mod_log_channel]
    assert (queue.name, mod_log.name) == ("mod-queue", "mod-log")
    assert new.core.moderator_roles == [server.mod_role.id]
    assert (new.welcome.channel, new.core.rules_channel) == (server.welcome.id, server.rules.id)
    for channel in (queue, mod_log):
        everyone = channel.overwrites[server.id]
        assert everyone.deny & VIEW and not everyone.allow & VIEW
        assert channel.overwrites[server.mod_role.id].allow & (VIEW | SEND) == VIEW | SEND
        assert channel.overwrites[sb.bot_user.id].allow & (VIEW | SEND | EMBED) == (
            VIEW | SEND | EMBED)
        assert sb.world.permissions(server.moderator.id, channel) & VIEW
        assert sb.world.permissions(sb.bot_user.id, channel) & SEND
        assert not sb.world.permissions(server.member.id, channel) & VIEW
        assert not sb.world.permissions(server.helper.id, channel) & VIEW
    entries = await env.bot.audit.repository.recent(server.id, action_prefix="settings.")
    assert entries[0].actor_id == server.owner.id
    assert "linkhold.queue_channel" in entries[0].details
    # Nobody was pinged by the reply.
    assert all(not sb.mentions_pinged(m) for m in r.messages)


async def test_setup_is_rerunnable_and_shows_current_values(env):
    server = await env.add_server()
    sb = env.sb
    first = await sb.slash(server.guild, server.owner, "steward setup", create_missing=True)
    await first.done()
    created = len(sb.requests_matching("POST /guilds/{guild_id}/channels"))
    again = await sb.slash(server.guild, server.owner, "steward setup", create_missing=True)
    await again.done()
    assert len(sb.requests_matching("POST /guilds/{guild_id}/channels")) == created == 2
    description = again.embeds[0]["description"]
    queue = config(env, server).linkhold.queue_channel
    assert f"**Queue channel:** <#{queue}>" in description
    assert "**Welcome channel:** not set" in description and "Still missing" in description


async def test_setup_without_manage_channels_names_the_fix_and_changes_nothing(env):
    server = await env.add_server()
    sb = env.sb
    perms = discord.Permissions(sb.bot_role(server.guild).permissions)
    perms.manage_channels = False
    sb.set_bot_permissions(server.guild, perms)
    await sb.wait_for(lambda: not env.bot.get_guild(server.id).me.guild_permissions
                      .manage_channels)
    r = await sb.slash(server.guild, server.owner, "steward setup",
                       moderator_role=server.mod_role, create_missing=True)
    await r.done()
    assert "Manage Channels" in r.texts[-1] and "Server Settings → Roles" in r.texts[-1]
    assert not sb.requests_matching("POST /guilds/{guild_id}/channels")
    assert config(env, server) == GuildConfig()


async def test_setup_survives_a_rate_limit_while_creating_channels(env):
    server = await env.add_server()
    env.sb.fail("POST /guilds/{guild_id}/channels", 429, times=1)
    r = await env.sb.slash(server.guild, server.owner, "steward setup", create_missing=True)
    await r.done()
    new = config(env, server)
    assert new.linkhold.queue_channel and new.core.mod_log_channel
    statuses = [q.status for q in env.sb.requests_matching("POST /guilds/{guild_id}/channels")]
    assert statuses[0] == 429 and statuses.count(429) == 1 and len(statuses) == 3
    names = sorted(c.name for c in env.sb.world.guild(server.id).channels.values())
    assert names.count("mod-queue") == names.count("mod-log") == 1


async def test_settings_lists_every_setting_with_its_default_in_pages(env):
    server = await env.add_server()
    sb = env.sb
    await env.bot.guild_settings.update(server.id, lambda c: setattr(c.linkhold, "hold_days", 5))
    r = await sb.slash(server.guild, server.admin, "steward settings")
    await r.done()
    assert r.ephemeral and r.embeds[0]["title"] == "Settings: core"
    assert "**timezone:** `UTC` *(default)*" in r.embeds[0]["description"]
    seen = [r.embeds[0]["title"]]
    message = r.message
    for _ in range(len(GuildConfig.model_fields) - 1):
        click = await sb.click(message, "Next", by=server.admin)
        await click.done()
        message = click.message
        seen.append(message.embeds[0]["title"])
        if message.embeds[0]["title"] == "Settings: linkhold":
            assert "**hold_days:** 5 *(default: 3)*" in message.embeds[0]["description"]
    assert seen == [f"Settings: {name}" for name in GuildConfig.model_fields]
    next_button = next(c for row in message.components for c in row["components"]
                       if c.get("label") == "Next")
    assert next_button["disabled"]


async def test_audit_is_paged_and_filtered(env):
    server = await env.add_server()
    sb = env.sb
    for n in range(23):
        await env.bot.audit.record(server.id, server.moderator.id, "hold.approved",
                                   server.member.id, {"jump": f"https://discord.com/x/{n}"},
                                   post=False)
        env.clock.advance(minutes=1)
    await env.bot.audit.record(server.id, None, "welcome.failed", server.helper.id, post=False)
    r = await sb.slash(server.guild, server.owner, "steward audit", member=server.member)
    await r.done()
    first = r.messages[-1]
    assert first.embeds[0]["description"].count("Post approved") == 10
    assert "Welcome failed" not in first.embeds[0]["description"]
    click = await sb.click(first, "Next", by=server.owner)
    await click.done()
    click = await sb.click(click.message, "Next", by=server.owner)
    await click.done()
    last = click.message
    assert last.embeds[0]["description"].count("Post approved") == 3
    assert last.embeds[0]["footer"]["text"] == "Page 3"
    r = await sb.slash(server.guild, server.owner, "steward audit", action="welcome", days=1)
    await r.done()
    description = r.messages[-1].embeds[0]["description"]
    assert "Welcome failed" in description and "Post approved" not in description
    assert not r.messages[-1].components  # one page: no buttons


async def test_only_the_person_who_opened_the_pages_can_turn_them(env):
    server = await env.add_server()
    r = await env.sb.slash(server.guild, server.owner, "steward settings")
    await r.done()
    click = await env.sb.click(r.message, "Next", by=server.admin)
    await click.done()
    assert click.ephemeral and "run the command yourself" in click.texts[-1]
    assert r.message.embeds[0]["title"] == "Settings: core"


async def test_config_export_returns_the_toml_as_a_file(env):
    server = await env.add_server()
    await env.bot.guild_settings.update(
        server.id, lambda c: setattr(c.linkhold, "allowlist", ["cancer.org"]))
    r = await env.sb.slash(server.guild, server.owner, "steward config export")
    await r.done()
    [attachment] = r.messages[-1].attachments
    assert attachment.filename == f"steward-{server.id}.toml"
    text = attachment.data.decode()
    assert tomllib.loads(text)["policy"]["linkhold"]["allowlist"] == ["cancer.org"]
    assert text == export_toml(config(env, server), server.id, env.clock.now())


async def test_steward_commands_refuse_moderators_who_are_not_admins(env):
    server = await env.add_server()
    r = await env.sb.slash(server.guild, server.moderator, "steward setup",
                           create_missing=True)
    await r.done()
    assert r.ephemeral and "Only server admins" in r.texts[-1]
    assert config(env, server) == GuildConfig()
    assert not env.sb.requests_matching("POST /guilds/{guild_id}/channels")


async def test_a_cli_import_reaches_the_running_bot_within_a_minute(env, tmp_path):
    server = await env.add_server()
    source = GuildConfig()
    source.linkhold.hold_days = 9
    source.welcome.channel = 1234  # another server's id: must not be applied here
    path = tmp_path / "policy.toml"
    path.write_text(export_toml(source, server.id + 1), encoding="utf-8")
    args = build_parser().parse_args(["config", "import", "--guild", str(server.id),
                                      str(path)])
    assert await run_command(args, env.bot.settings) == 0
    assert config(env, server).linkhold.hold_days == 3  # not yet
    env.clock.advance(seconds=61)
    await env.sb.wait_for(lambda: config(env, server).linkhold.hold_days == 9)
    assert config(env, server).welcome.channel is None
    entries = await env.bot.audit.repository.recent(server.id, action_prefix="settings.")
    assert entries[0].action == "settings.imported"


async def test_cli_config_import_refuses_an_invalid_file_by_line(env, tmp_path, capsys):
    server = await env.add_server()
    path = tmp_path / "bad.toml"
    path.write_text("[policy.linkhold]\nhold_days = 3\nretention_days = 0\n", encoding="utf-8")
    args = argparse.Namespace(command="config", config_command="import", guild=server.id,
                              file=path, dry_run=False)
    assert await run_command(args, env.bot.settings) == 1
    err = capsys.readouterr().err
    assert "nothing changed" in err and "line 3: policy.linkhold.retention_days" in err
    assert config(env, server) == GuildConfig()


async def test_cli_config_import_speaks_steward_language_else_the_servers(env, tmp_path, capsys):
    server = await env.add_server()
    path = tmp_path / "bad.toml"
    path.write_text("[policy.linkhold]\nhold_days = 999\nnope = 1\n", encoding="utf-8")
    args = argparse.Namespace(command="config", config_command="import", guild=server.id,
                              file=path, dry_run=True)
    spanish = env.bot.settings.model_copy(update={"language": "es"})
    assert await run_command(args, spanish) == 1
    err = capsys.readouterr().err
    assert "no se importó" in err and "línea 3: policy.linkhold.nope: ajuste desconocido" in err
    path.write_text("[policy.linkhold]\nhold_days = 999\n", encoding="utf-8")
    assert await run_command(args, spanish) == 1
    assert "línea 2: policy.linkhold.hold_days: tiene que ser como mucho 365" in (
        capsys.readouterr().err)
    # Unset: the server's own language setting; a server without one: English.
    await env.bot.guild_settings.update(server.id, lambda c: setattr(c.core, "language", "es"))
    assert await run_command(args, env.bot.settings) == 1
    assert "tiene que ser como mucho 365" in capsys.readouterr().err
    await env.bot.guild_settings.update(server.id, lambda c: setattr(c.core, "language", None))
    assert await run_command(args, env.bot.settings) == 1
    assert "line 2: policy.linkhold.hold_days: must be at most 365" in capsys.readouterr().err
    path.write_text("[policy.linkhold]\nhold_days = 9\n", encoding="utf-8")
    assert await run_command(args, spanish) == 0
    assert "Cambiaría 1 ajuste:" in capsys.readouterr().out


async def test_cli_config_import_refuses_a_support_group_role_as_a_moderator_role(
        env, tmp_path, capsys):
    server = await env.add_server()
    await env.bot.services.welcome.repository.add_group(
        server.id, "Carers", server.general.id, "", [], server.mod_role.id, env.clock.now())
    path = tmp_path / "powers.toml"
    path.write_text(f"[server]\nguild_id = {server.id}\n[server.core]\n"
                    f"moderator_roles = [{server.mod_role.id}]\n", encoding="utf-8")
    args = argparse.Namespace(command="config", config_command="import", guild=server.id,
                              file=path, dry_run=False)
    assert await run_command(args, env.bot.settings) == 1
    err = capsys.readouterr().err
    assert "line 4: server.core.moderator_roles" in err and "Carers" in err
    assert config(env, server) == GuildConfig()


async def test_the_metrics_endpoint_serves_the_counters(env):
    server = await env.add_server()
    metrics = env.bot.services.metrics
    assert metrics.enabled and metrics.port
    env.sb.fail("POST /interactions/{interaction_id}/{interaction_token}/callback", 429,
                times=1)
    r = await env.sb.slash(server.guild, server.owner, "steward settings",
                           mod_log=server.general)
    await r.done()
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{metrics.port}/metrics") as response:
        body = await response.text()
    assert 'steward_discord_http_errors_total{status="429"}' in body
    assert 'steward_audit_actions_total{action="settings.changed"}' in body
    assert "steward_gateway_latency_seconds" in body
    assert "steward_holds_pending" in body and "steward_reminders_total" in body


async def test_settings_survive_a_restart(env):
    server = await env.add_server()
    r = await env.sb.slash(server.guild, server.owner, "steward setup",
                           moderator_role=server.mod_role, create_missing=True)
    await r.done()
    before = config(env, server)
    await env.restart()
    assert config(env, server) == before
    r = await env.sb.slash(server.guild, server.owner, "steward setup")
    await r.done()
    assert f"<#{before.linkhold.queue_channel}>" in r.embeds[0]["description"]


def doctor_reports(env, channel_id) -> list[dict]:
    return [m.embeds[0] for m in env.sb.messages(env.sb.world.channels[channel_id])
            if m.embeds and m.embeds[0].get("title", "").startswith("Steward doctor")]


def finding_codes(embed: dict) -> list[str]:
    return [code_of_title(f["name"].split(" ", 1)[1]) for f in embed.get("fields", [])]


async def test_setup_without_a_moderator_role_warns_that_moderators_cant_see_the_channels(env):
    server = await env.add_server()  # its Moderators role has Manage Messages
    sb = env.sb
    r = await sb.slash(server.guild, server.owner, "steward setup", create_missing=True)
    await r.done()
    new = config(env, server)
    queue, mod_log = new.linkhold.queue_channel, new.core.mod_log_channel
    assert new.core.moderator_roles == []
    # Behaviour unchanged: moderators-only channels, which Manage Messages alone doesn't open.
    for channel_id in (queue, mod_log):
        channel = sb.world.channels[channel_id]
        assert not sb.world.permissions(server.moderator.id, channel) & VIEW
        assert sb.world.permissions(sb.bot_user.id, channel) & VIEW
    description = r.embeds[0]["description"]
    assert "Moderators can't see these channels" in description
    assert f"<@&{server.mod_role.id}>" in description
    assert f"<#{queue}>" in description and f"<#{mod_log}>" in description
    assert "/steward setup moderator_role:" in description and "View Channel" in description
    assert "1 warning:" in description
    assert all(not sb.mentions_pinged(m) for m in r.messages)
    # The doctor reports it once, as a warning, with the fix.
    doctor = await sb.slash(server.guild, server.owner, "steward doctor")
    await doctor.done()
    fields = doctor.embeds[0]["fields"]
    assert [f for f in finding_codes(doctor.embeds[0])].count("moderators.cant_see") == 1
    [field] = [f for f in fields if finding_codes({"fields": [f]}) == ["moderators.cant_see"]]
    assert "**Fix:**" in field["value"] and "/steward setup moderator_role:" in field["value"]
    stored = await env.bot.services.doctor.repository.findings(server.id)
    [warning] = [f.finding for f in stored if f.finding.code == "moderators.cant_see"]
    assert warning.severity is Severity.WARNING
    await sb.idle()
    reported = [e for e in doctor_reports(env, mod_log)
                if "moderators.cant_see" in finding_codes(e)]
    assert len(reported) == 1
    # Setting a moderator role alone is not enough: setup leaves existing channels as they
    # are, so the doctor now names the configured role that still can't see them.
    again = await sb.slash(server.guild, server.owner, "steward setup",
                           moderator_role=server.mod_role)
    await again.done()
    description = again.embeds[0]["description"]
    assert "Moderators can't see these channels" in description
    assert "The moderator roles" in description and "allow View Channel" in description
    doctor = await sb.slash(server.guild, server.owner, "steward doctor")
    await doctor.done()
    [field] = [f for f in doctor.embeds[0]["fields"]
               if finding_codes({"fields": [f]}) == ["moderators.cant_see"]]
    assert "moderator roles" in field["value"] and f"<@&{server.mod_role.id}>" in field["value"]
    # Giving that role View Channel on both channels clears it.
    bot = env.bot
    channels = [sb.world.channels[c] for c in (queue, mod_log)]
    for channel in channels:
        sb.set_overwrite(channel, server.mod_role, allow=["view_channel"])
    await sb.wait_for(lambda: all(
        bot.get_channel(c.id).permissions_for(bot.get_guild(server.id).get_role(
            server.mod_role.id)).view_channel for c in channels))
    doctor = await sb.slash(server.guild, server.owner, "steward doctor")
    await doctor.done()
    assert "moderators.cant_see" not in finding_codes(doctor.embeds[0])
    stored = await env.bot.services.doctor.repository.findings(server.id)
    assert [f for f in stored if f.finding.code == "moderators.cant_see"] == []


async def test_a_manage_messages_role_that_can_see_the_channels_needs_no_warning(env):
    server = await env.add_server()
    sb = env.sb
    r = await sb.slash(server.guild, server.owner, "steward setup", create_missing=True)
    await r.done()
    new = config(env, server)
    channels = [sb.world.channels[c] for c in (new.linkhold.queue_channel,
                                               new.core.mod_log_channel)]
    for channel in channels:
        sb.set_overwrite(channel, server.mod_role, allow=["view_channel"])
    bot = env.bot
    await sb.wait_for(lambda: all(
        bot.get_channel(c.id).permissions_for(bot.get_guild(server.id).get_role(
            server.mod_role.id)).view_channel for c in channels))
    doctor = await sb.slash(server.guild, server.owner, "steward doctor")
    await doctor.done()
    assert "moderators.cant_see" not in finding_codes(doctor.embeds[0])


@pytest.mark.parametrize("which", ["everyone", "integration"])
async def test_settings_refuses_everyone_or_an_integration_role_as_moderators(env, which):
    """Like setup: @everyone would make every member a moderator (exempt from holds), and
    nobody can be given an integration's own role."""
    server = await env.add_server()
    sb = env.sb
    role = (server.guild.roles[server.id] if which == "everyone"
            else sb.bot_role(server.guild))
    for command in ("steward settings", "steward setup"):
        r = await sb.slash(server.guild, server.owner, command, moderator_role=role)
        await r.done()
        assert r.ephemeral and "Pick an ordinary role" in r.texts[-1], r.texts
        assert all(not sb.mentions_pinged(m) for m in r.messages)
    assert config(env, server) == GuildConfig()
    assert not await env.bot.audit.repository.recent(server.id, action_prefix="settings.")
