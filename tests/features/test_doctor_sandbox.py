"""The doctor against the sandbox: each misconfiguration is found, reported once, and cleared."""

from __future__ import annotations

import pytest
import pytest_asyncio

from bot.cli import build_parser, run_command
from bot.domain.doctor import CONTENT_EMPTY_THRESHOLD, Finding, Severity
from bot.domain.doctor_titles import code_of_title
from tests.steward_env import Server, running_env

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    async with running_env(tmp_path_factory.mktemp("doctor")) as steward:
        yield steward


@pytest.fixture(autouse=True)
def _reset(env):
    env.sb.reset()


class Configured:
    """A fresh server set up completely and healthily, with its mod-log channel."""

    def __init__(self, server: Server, queue, mod_log) -> None:
        self.server = server
        self.queue = queue
        self.mod_log = mod_log


async def healthy_server(env) -> Configured:
    server = await env.add_server()
    sb = env.sb
    queue = sb.add_text_channel(server.guild, "mod-queue")
    mod_log = sb.add_text_channel(server.guild, "mod-log")
    for channel in (queue, mod_log):
        sb.set_overwrite(channel, server.guild, deny=["view_channel"])
        sb.set_overwrite(channel, server.mod_role, allow=["view_channel"])
        sb.allow(channel, "view_channel")
    bot = env.bot
    await sb.wait_for(lambda: bot.get_channel(mod_log.id) is not None
                      and bot.get_channel(queue.id) is not None)

    def configure(config):
        config.core.moderator_roles = [server.mod_role.id]
        config.core.mod_log_channel = mod_log.id
        config.core.rules_channel = server.rules.id
        config.linkhold.queue_channel = queue.id
        config.welcome.channel = server.welcome.id
        config.followup.autocheck_forums = {server.forum.id: 7}

    await bot.guild_settings.update(server.id, configure)
    r = await sb.slash(server.guild, server.owner, "steward doctor")
    await r.done()
    assert "all clear" in r.embeds[0]["title"], r.embeds[0]
    return Configured(server, queue, mod_log)


def reports(env, mod_log) -> list[dict]:
    return [m.embeds[0] for m in env.sb.messages(mod_log) if m.embeds
            and m.embeds[0].get("title", "").startswith("Steward doctor")]


def codes(embed: dict) -> list[str]:
    return [code_of_title(f["name"].split(" ", 1)[1]) for f in embed.get("fields", [])]


async def test_a_healthy_server_reports_nothing(env):
    setup = await healthy_server(env)
    await env.sb.idle()
    assert reports(env, setup.mod_log) == []
    findings = await env.bot.services.doctor.repository.findings(setup.server.id)
    assert findings == []


@pytest.mark.parametrize(("which", "permission", "label"), [
    ("queue", "embed_links", "Embed Links"),
    ("queue", "attach_files", "Attach Files"),
    ("welcome", "send_messages", "Send Messages"),
    ("forum", "manage_threads", "Manage Threads"),
    ("general", "manage_messages", "Manage Messages"),
    ("general", "manage_webhooks", "Manage Webhooks"),
])
async def test_a_missing_permission_is_reported_once_then_cleared(env, which, permission,
                                                                  label):
    setup = await healthy_server(env)
    sb = env.sb
    channel = setup.queue if which == "queue" else getattr(setup.server, which)
    sb.deny(channel, permission)
    await sb.wait_for(lambda: reports(env, setup.mod_log))
    [report] = reports(env, setup.mod_log)
    [field] = report["fields"]
    assert label in field["value"] and f"<#{channel.id}>" in field["value"]
    assert "**Fix:**" in field["value"]
    # Asking again, or another event, does not repeat the report.
    r = await sb.slash(setup.server.guild, setup.server.owner, "steward doctor")
    await r.done()
    assert label in r.embeds[0]["fields"][0]["value"] and r.ephemeral
    sb.deny(setup.server.rules, "add_reactions")
    await sb.idle()
    assert len(reports(env, setup.mod_log)) == 1
    # Fixing it is announced once.
    sb.allow(channel, permission)
    await sb.wait_for(lambda: len(reports(env, setup.mod_log)) == 2)
    assert reports(env, setup.mod_log)[1]["title"] == "Steward doctor: all clear"
    await sb.idle()
    assert len(reports(env, setup.mod_log)) == 2


async def test_a_deleted_channel_is_reported_with_the_command_to_fix_it(env):
    setup = await healthy_server(env)
    await env.sb.delete_channel(setup.server.welcome)
    await env.sb.wait_for(lambda: reports(env, setup.mod_log))
    [report] = reports(env, setup.mod_log)
    assert codes(report) == ["channel.deleted"]
    assert "/steward setup welcome_channel:" in report["fields"][0]["value"]


async def test_a_deleted_moderator_role_is_reported(env):
    setup = await healthy_server(env)
    await env.bot.guild_settings.update(
        setup.server.id, lambda c: setattr(c.core, "moderator_roles",
                                           [setup.server.mod_role.id, 42]))
    await env.sb.wait_for(lambda: reports(env, setup.mod_log))
    assert codes(reports(env, setup.mod_log)[0]) == ["role.deleted"]


async def test_a_group_role_above_steward_is_a_hierarchy_problem(env):
    setup = await healthy_server(env)
    server, sb = setup.server, env.sb
    group_role = sb.add_role(server.guild, "Colorectal")
    await sb.wait_for(lambda: env.bot.get_guild(server.id).get_role(group_role.id))
    r = await sb.slash(server.guild, server.owner, "welcome group add", name="Colorectal",
                       options={"channel": server.forum}, role=group_role)
    await r.done()
    await sb.idle()
    assert reports(env, setup.mod_log) == []
    # Someone drags the Steward role to the bottom of the list.
    bot_role = sb.bot_role(server.guild)
    bot_role.position = 1
    sb.set_bot_permissions(server.guild, bot_role.permissions)
    await sb.wait_for(lambda: reports(env, setup.mod_log))
    [report] = reports(env, setup.mod_log)
    assert "role.hierarchy" in codes(report)
    field = next(f for f in report["fields"]
                 if code_of_title(f["name"].split(" ", 1)[1]) == "role.hierarchy")
    assert f"<@&{group_role.id}>" in field["value"] and "drag the Steward role" in field["value"]


async def test_message_content_going_missing_is_noticed_and_cleared(env):
    setup = await healthy_server(env)
    sb, server = env.sb, setup.server
    sb.set_privileged_intent("message_content", False)  # switched off while running
    try:
        for n in range(CONTENT_EMPTY_THRESHOLD):
            await sb.post(server.general, server.member, f"how are you all doing {n}")
        await sb.wait_for(lambda: reports(env, setup.mod_log))
        assert codes(reports(env, setup.mod_log)[0]) == ["gateway.message_content"]
        assert "MESSAGE CONTENT INTENT" in reports(env, setup.mod_log)[0]["fields"][0]["value"]
    finally:
        sb.set_privileged_intent("message_content", True)
    await sb.post(server.general, server.member, "thanks, better today")
    await sb.wait_for(lambda: len(reports(env, setup.mod_log)) == 2)
    assert reports(env, setup.mod_log)[1]["title"] == "Steward doctor: all clear"


async def test_empty_messages_with_attachments_do_not_count(env):
    setup = await healthy_server(env)
    for _ in range(CONTENT_EMPTY_THRESHOLD + 1):
        await env.sb.post(setup.server.general, setup.server.member, "",
                          attachments=[("scan.png", b"\x89PNG")])
    await env.sb.idle()
    assert reports(env, setup.mod_log) == []


async def test_a_feature_probe_adds_its_findings(env):
    setup = await healthy_server(env)
    doctor = env.bot.services.doctor

    async def stuck(guild_id: int) -> list[Finding]:
        if guild_id != setup.server.id:
            return []
        return [Finding("queue.stuck", "linkhold", Severity.WARNING,
                        "2 held posts have waited more than 2 days.",
                        "Open the queue channel and decide them.")]

    doctor.add_probe("test-stuck", stuck)
    try:
        r = await env.sb.slash(setup.server.guild, setup.server.owner, "steward doctor")
        await r.done()
        # A code the doctor has no title for is shown under a plain heading, never as code.
        for embed in (r.embeds[0], reports(env, setup.mod_log)[0]):
            [field] = embed["fields"]
            assert field["name"] == "⚠️ Something needs attention"
            assert field["value"].startswith("2 held posts have waited more than 2 days.")
    finally:
        doctor.add_probe("test-stuck", _nothing)


async def _nothing(guild_id: int) -> list[Finding]:
    return []


async def test_problems_are_not_reported_again_after_a_restart(env, capsys):
    setup = await healthy_server(env)
    env.sb.deny(setup.server.welcome, "send_messages")
    await env.sb.wait_for(lambda: reports(env, setup.mod_log))
    await env.restart()
    await env.sb.idle()
    assert len(reports(env, setup.mod_log)) == 1
    # The CLI shows what the running bot recorded.
    args = build_parser().parse_args(["doctor", "--guild", str(setup.server.id)])
    assert await run_command(args, env.bot.settings) == 1
    out = capsys.readouterr().out
    assert "[PROBLEM] channel.permission" in out and "Send Messages" in out
    assert "Fix: Open" in out


async def test_the_cli_says_when_the_bot_never_checked_a_server(env, capsys):
    args = build_parser().parse_args(["doctor", "--guild", "12345"])
    assert await run_command(args, env.bot.settings) == 1
    assert "has not checked server 12345" in capsys.readouterr().out


async def test_a_rate_limited_report_is_still_posted_once(env):
    setup = await healthy_server(env)
    env.sb.fail("POST /channels/{channel_id}/messages", 429, times=1, channel=setup.mod_log)
    env.sb.deny(setup.queue, "embed_links")
    await env.sb.wait_for(lambda: reports(env, setup.mod_log))
    await env.sb.idle()
    assert len(reports(env, setup.mod_log)) == 1


async def test_non_admins_cannot_run_the_doctor(env):
    setup = await healthy_server(env)
    r = await env.sb.slash(setup.server.guild, setup.server.moderator, "steward doctor")
    await r.done()
    assert r.ephemeral and "Only server admins" in r.texts[-1] and not r.embeds


@pytest.mark.parametrize("setting", ["moderator", "exempt"])
async def test_everyone_or_an_integration_role_given_powers_is_flagged(env, setting):
    """A role the commands refuse that got into the settings another way (older version,
    hand-edited database) is flagged with the command that removes it."""
    setup = await healthy_server(env)
    server = setup.server
    bot_role = env.sb.bot_role(server.guild)

    def give_powers(config):
        if setting == "moderator":
            config.core.moderator_roles = [server.mod_role.id, server.id]
        else:
            config.linkhold.exempt_roles = [bot_role.id]

    await env.bot.guild_settings.update(server.id, give_powers)
    await env.sb.wait_for(lambda: reports(env, setup.mod_log))
    [report] = reports(env, setup.mod_log)
    assert codes(report) == ["role.unusable_power"]
    [field] = report["fields"]
    if setting == "moderator":
        assert "every member counts as a moderator" in field["value"]
        assert "/steward settings moderator_role:" in field["value"]
    else:
        assert f"<@&{bot_role.id}>" in field["value"]
        assert "/linkhold unexempt role:" in field["value"]
