"""Welcomes end to end: the real StewardBot against the Discord sandbox, asserting on the wire.

The decisions themselves (who is greeted when, bursts, suggestions, the picker's roles) are
tested without Discord in tests/services/test_welcome_service.py; these are the stories."""

from __future__ import annotations

from itertools import count

import discord
import pytest
import pytest_asyncio

from bot.app import StewardBot
from bot.domain.audit import title_of
from bot.services.welcome import WelcomeService
from sandbox import MemberFlags
from tests.waits import eventually

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

_names = count()


def fresh(prefix: str = "newcomer") -> str:
    """A user name never used before in this module."""
    return f"{prefix}{next(_names)}"


class Env:
    """The standard server (tests/conftest.py) plus what the welcome tests need."""

    def __init__(self, steward) -> None:
        sb = steward.sb
        server = steward.server
        self.steward = steward
        self.sb = sb
        self.clock = steward.clock
        self.guild = server.guild
        self.owner = server.owner
        self.moderator = server.mod
        self.regular = server.member
        self.welcome = server.welcome
        self.general = server.general
        self.rules = server.rules
        self.mod_log = server.modlog
        self.forum = server.forum
        self.mod_role = server.moderators
        # The standard server hides #mod-log from @everyone; a real admin lets Steward in.
        for private in (self.mod_log, server.queue):
            sb.set_overwrite(private, sb.bot_role(self.guild), allow=["view_channel"])
        self.grief_channel = sb.add_text_channel(self.guild, "grief")
        self.admin_role = sb.add_role(self.guild, "Admins", ["manage_guild"])
        self.colorectal_role = sb.add_role(self.guild, "Colorectal")
        self.grief_role = sb.add_role(self.guild, "Grief")
        self.admin = sb.add_member(self.guild, "admin", roles=[self.admin_role])
        # A second server with many groups, for the picker's paging.
        self.big = sb.add_guild("Many Groups", "bigowner")
        self.big_owner = sb.member(self.big, "bigowner")
        self.big_channel = sb.add_text_channel(self.big, "lobby")

    @property
    def bot(self) -> StewardBot:
        return self.steward.bot

    async def restart(self) -> StewardBot:
        return await self.steward.restart()

    @property
    def service(self) -> WelcomeService:
        return self.bot.services.welcome


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(steward):
    environment = Env(steward)
    sb = steward.sb
    e = environment
    await sb.wait_for(lambda: e.bot.get_guild(e.big.id) is not None
                      and e.bot.get_guild(e.guild.id).get_role(e.grief_role.id) is not None)
    # Server setup through the real commands.
    r = await sb.slash(e.guild, e.owner, "welcome settings", options={"channel": e.welcome})
    await r.done()
    assert f"<#{e.welcome.id}>" in r.content
    r = await sb.slash(e.guild, e.owner, "welcome group add", name="Colorectal Cancer",
                       options={"channel": e.forum}, description="Bowel and colon cancer",
                       keywords="colon, colorectal, bowel, ostomy", role=e.colorectal_role)
    await r.done()
    assert "Added **Colorectal Cancer**" in r.content, r.content
    r = await sb.slash(e.guild, e.owner, "welcome group add", name="Grief and Loss",
                       options={"channel": e.grief_channel}, keywords="grief, bereavement",
                       role=e.grief_role)
    await r.done()
    assert "Added" in r.content, r.content
    return environment


@pytest.fixture(autouse=True)
def _quiet_period_and_explicit_mentions(env):
    """A quiet minute before each test (no burst carry-over); afterwards, every message the
    bot sent set allowed_mentions explicitly and never allowed @everyone or roles."""
    env.clock.advance(minutes=1)
    yield
    for request in env.sb.requests:
        if request.method != "POST" or not (request.route.endswith("/messages")
                                            or request.route.endswith("/callback")
                                            or "/webhooks/" in request.path):
            continue
        body = request.json or {}
        if not (body.get("content") or (body.get("data") or {}).get("content")):
            continue
        mentions = request.allowed_mentions
        assert mentions is not None, f"no allowed_mentions on {request.path}"
        assert "everyone" not in mentions.get("parse", []) and "roles" not in mentions.get(
            "parse", []) and not mentions.get("roles"), mentions


async def join(env: Env, who=None, **kwargs):
    """A join a few seconds after the previous one: a lone join, never a burst."""
    env.clock.advance(seconds=3)
    return await env.sb.join(kwargs.pop("guild", env.guild), who or fresh(), **kwargs)


async def welcome_for(env: Env, member, *, channel=None):
    """The welcome message that mentions `member`."""
    return await env.sb.wait_for_message(
        channel or env.welcome, lambda m: f"<@{member.id}>" in m.content)


def welcomes_mentioning(env: Env, member) -> list:
    return [m for m in env.sb.messages(env.welcome) if f"<@{member.id}>" in m.content]


async def greeted(env: Env, member) -> bool:
    return await env.service.repository.record(env.guild.id, member.id) is not None


# --- the welcome -------------------------------------------------------------------------------


async def test_a_lone_join_is_welcomed_at_once_pinging_only_them(env):
    sb = env.sb
    member = await join(env)
    message = await welcome_for(env, member)
    assert message.content.startswith(f"Welcome to Hope Together, <@{member.id}>!")
    assert f"<#{env.rules.id}>" in message.content
    assert f"<#{env.forum.id}>" in message.content  # {groups}
    assert "first 3 days" in message.content  # link holds are on by default
    assert sb.mentions_pinged(message) == {member.id}
    assert message.allowed_mentions["parse"] == []
    assert message.allowed_mentions["users"] == [str(member.id)]
    button = message.components[0]["components"][0]
    assert button["label"] == "Find your support group"
    assert button["custom_id"] == f"steward:welcome:pick:{env.guild.id}"


async def test_dm_welcome_and_closed_dms(env):
    sb = env.sb

    def dm_on(config):
        config.welcome.dm = True

    def dm_off(config):
        config.welcome.dm = False

    await env.bot.guild_settings.update(env.guild.id, dm_on)
    try:
        open_user = await join(env)
        dm = await sb.wait_for_message(open_user, lambda m: "Welcome" in m.content)
        assert dm.components[0]["components"][0]["label"] == "Find your support group"
        r = await sb.click(dm, "Find your support group", by=open_user)  # works from a DM
        await r.done()
        assert "Choose the groups" in r.content
        closed = sb.add_user(fresh("closed"))
        sb.close_dms(closed)
        before = len(sb.requests)
        member = await join(env, closed)
        await welcome_for(env, member)  # the channel welcome still goes out
        refused = await sb.wait_for_request("POST /channels/{channel_id}/messages",
                                            lambda r: r.error_code == 50007, after=before)
        assert refused.status == 403
        assert sb.dms(closed) == []
        # the bot is fine afterwards
        later = await join(env)
        await welcome_for(env, later)
    finally:
        await env.bot.guild_settings.update(env.guild.id, dm_off)


async def test_missing_permission_in_welcome_channel_alerts_the_mod_log(env):
    sb = env.sb
    bot_member = sb.bot_member(env.guild)
    sb.set_overwrite(env.welcome, bot_member, deny=["send_messages"])
    try:
        member = await join(env)
        alert = await sb.wait_for_message(
            env.mod_log,
            lambda m: any(e.get("title") == title_of("welcome.failed") for e in m.embeds))
        text = alert.embeds[0]["description"]
        assert f"<@{member.id}>" in text and "missing Send Messages" in text
        assert welcomes_mentioning(env, member) == []
    finally:
        sb.set_overwrite(env.welcome, bot_member)
    # After the fix, a moderator can re-send it.
    r = await sb.slash(env.guild, env.moderator, "welcome resend", member=member)
    await r.done()
    assert "Welcome posted again" in r.texts[-1]
    assert len(welcomes_mentioning(env, member)) == 1


async def test_rate_limit_and_server_error_then_success(env):
    sb = env.sb
    sb.fail("POST /channels/{channel_id}/messages", status=429, times=1, channel=env.welcome)
    member = await join(env)
    await welcome_for(env, member)
    sb.fail("POST /channels/{channel_id}/messages", status=500, times=1, channel=env.welcome,
            retry_after=0)
    other = await join(env)
    await welcome_for(env, other, )
    await sb.idle()
    assert len(welcomes_mentioning(env, member)) == 1
    assert len(welcomes_mentioning(env, other)) == 1


async def test_a_429_storm_longer_than_discord_py_retries_greets_later_once(env):
    sb = env.sb
    # discord.py tries a request 5 times on 429s; a longer storm reaches Steward as an error.
    sb.fail("POST /channels/{channel_id}/messages", 429, times=6, channel=env.welcome,
            retry_after=0.01)
    member = await join(env)
    await eventually(lambda: _retry_scheduled(env, member))
    assert welcomes_mentioning(env, member) == [] and await greeted(env, member)
    env.clock.advance(seconds=31)  # the storm is over by the first retry
    message = await welcome_for(env, member)
    assert sb.mentions_pinged(message) == {member.id}
    await sb.idle()
    env.clock.advance(minutes=10)
    marker = await join(env)
    await welcome_for(env, marker)
    await sb.idle()
    assert len(welcomes_mentioning(env, member)) == 1
    record = await env.service.repository.record(env.guild.id, member.id)
    assert record.message_id == message.id
    modlog = sb.messages(env.mod_log)
    assert not any(e.get("title") == title_of("welcome.failed") and f"<@{member.id}>" in
                   e.get("description", "") for m in modlog for e in m.embeds)


async def _retry_scheduled(env, member) -> bool:
    pending = await env.bot.services.scheduler.repository.list_pending(env.guild.id, 500)
    return any(r.kind == "welcome" and r.member_id == member.id for r in pending)


async def test_command_visibility(env):
    sb = env.sb
    assert sb.can_use_command(env.guild, env.regular, "groups")
    assert not sb.can_use_command(env.guild, env.regular, "welcome")
    assert sb.can_use_command(env.guild, env.moderator, "welcome")


# --- rejoin and resend -------------------------------------------------------------------------


async def test_a_rejoin_gets_no_second_welcome_but_moderators_can_resend(env):
    sb = env.sb
    member = await join(env)
    await welcome_for(env, member)
    await sb.leave(env.guild, member)
    again = await join(env, member.user)
    assert again.flags & MemberFlags.DID_REJOIN
    marker = await join(env)
    await welcome_for(env, marker)
    await sb.idle()
    assert len(welcomes_mentioning(env, member)) == 1
    r = await sb.slash(env.guild, env.regular, "welcome resend", member=again)
    await r.done()
    assert "Only moderators" in r.texts[-1]
    r = await sb.slash(env.guild, env.moderator, "welcome resend", member=again)
    await r.done()
    assert r.ephemeral and "Welcome posted again" in r.texts[-1]
    resent = welcomes_mentioning(env, member)
    assert len(resent) == 2 and sb.mentions_pinged(resent[-1]) == {member.id}


# --- screening and onboarding ------------------------------------------------------------------


async def test_rules_screening_waits_for_the_pending_flag(env):
    sb = env.sb
    member = await join(env, pending=True)
    await eventually(lambda: env.service.repository.pending(env.guild.id, member.id))
    assert welcomes_mentioning(env, member) == []
    await sb.update_member(env.guild, member, pending=False)
    message = await welcome_for(env, member)
    assert sb.mentions_pinged(message) == {member.id}


async def test_onboarding_waits_for_completed_onboarding(env):
    sb = env.sb
    member = await join(env, flags=MemberFlags.STARTED_ONBOARDING)
    await eventually(lambda: env.service.repository.pending(env.guild.id, member.id))
    await sb.update_member(env.guild, member, roles=[env.grief_role])  # picks in Onboarding
    await sb.idle()
    assert welcomes_mentioning(env, member) == []
    await sb.update_member(env.guild, member, flags=MemberFlags.STARTED_ONBOARDING
                           | MemberFlags.COMPLETED_ONBOARDING)
    message = await welcome_for(env, member)
    assert "You picked **Grief and Loss**" in message.content


async def test_screening_completed_for_a_join_steward_missed(env):
    sb = env.sb
    missed = sb.add_member(env.guild, fresh(), joined_at=env.clock.now(), pending=True)
    long_ago = sb.add_member(env.guild, fresh("old"), pending=True)  # joined 30 days ago
    await env.restart()  # Steward learns about both only from the member list
    await sb.update_member(env.guild, long_ago, pending=False)
    await sb.update_member(env.guild, missed, pending=False)
    await welcome_for(env, missed)
    await sb.idle()
    assert welcomes_mentioning(env, long_ago) == []


async def test_restart_while_in_screening_still_greets(env):
    sb = env.sb
    completes = await join(env, pending=True)
    times_out = await join(env, pending=True)
    leaves = await join(env, pending=True)
    for m in (completes, times_out, leaves):
        await eventually(lambda m=m: env.service.repository.pending(env.guild.id, m.id))
    await env.restart()
    await sb.update_member(env.guild, completes, pending=False)
    await welcome_for(env, completes)
    await sb.leave(env.guild, leaves)
    await eventually(lambda: _absent(env, leaves))
    env.clock.advance(minutes=11)
    await welcome_for(env, times_out)
    await sb.idle()
    assert welcomes_mentioning(env, leaves) == []
    assert len(welcomes_mentioning(env, completes)) == 1


async def _absent(env, member) -> bool:
    return await env.service.repository.pending(env.guild.id, member.id) is None


# --- bursts ------------------------------------------------------------------------------------


async def test_join_burst_is_coalesced_pinging_only_those_greeted_without_dms(env):
    sb = env.sb
    env.clock.advance(minutes=5)  # a quiet period first

    def dm_on(config):
        config.welcome.dm = True

    def dm_off(config):
        config.welcome.dm = False

    await env.bot.guild_settings.update(env.guild.id, dm_on)
    try:
        members = [await sb.join(env.guild, fresh("burst")) for _ in range(30)]
        # The first five (the threshold) are greeted at once, one by one.
        for m in members[:5]:
            await welcome_for(env, m)
        leaver = members[10]
        await eventually(lambda: env.service.repository.pending(env.guild.id, members[-1].id))
        await sb.leave(env.guild, leaver)
        await eventually(lambda: _absent(env, leaver))
        assert all(welcomes_mentioning(env, m) == [] for m in members[5:])
        env.clock.advance(seconds=10)
        stayed = [m for m in members[5:] if m is not leaver]
        await welcome_for(env, stayed[-1])
        await sb.idle()
        bursts = [msg for msg in sb.messages(env.welcome)
                  if any(f"<@{m.id}>" in msg.content for m in stayed)]
        assert len(bursts) == 2  # 24 members: 20 + 4 mentions
        mentioned: list[int] = []
        for msg in bursts:
            pinged = sb.mentions_pinged(msg)
            assert 0 < len(pinged) <= 20
            assert msg.allowed_mentions["users"] == [str(i) for i in pinged]
            mentioned += list(pinged)
            assert [c["label"] for row in msg.components for c in row["components"]] == [
                "Find your support group"]
            assert msg.content.startswith("A warm welcome to everyone who just joined")
        assert sorted(mentioned) == sorted(m.id for m in stayed)
        assert welcomes_mentioning(env, leaver) == []
        for m in members[5:]:
            assert sb.dms(m) == []  # no DMs during a burst
        for m in members:
            assert len(welcomes_mentioning(env, m)) == (0 if m is leaver else 1)
    finally:
        await env.bot.guild_settings.update(env.guild.id, dm_off)


async def test_restart_during_a_burst_greets_the_batch_once(env):
    sb = env.sb
    env.clock.advance(minutes=5)
    members = [await sb.join(env.guild, fresh("restart-burst")) for _ in range(9)]
    for m in members[:5]:
        await welcome_for(env, m)
    await eventually(lambda: env.service.repository.pending(env.guild.id, members[-1].id))
    await env.restart()
    env.clock.advance(seconds=11)
    await welcome_for(env, members[-1])
    await sb.idle()
    for m in members:
        assert len(welcomes_mentioning(env, m)) == 1


# --- templates ---------------------------------------------------------------------------------


async def test_template_validation_preview_and_custom_welcome(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.owner, "welcome message", template="Hi {user} {member.id}")
    await r.done()
    assert "can't be used" in r.content and "{member_count}" in r.content
    r = await sb.slash(env.guild, env.moderator, "welcome message", template="Hi {member}")
    await r.done()
    assert "Only server admins" in r.content
    r = await sb.slash(env.guild, env.owner, "welcome message",
                       template="@everyone Hi {member}, member #{member_count} of {server}! "
                                f"Links wait {{link_days}} days. <@&{env.mod_role.id}>")
    await r.done()
    assert "Saved" in r.content
    try:
        r = await sb.slash(env.guild, env.owner, "welcome preview")
        await r.done()
        assert r.ephemeral and "member #" in r.content and "Links wait 3 days" in r.content
        member = await join(env)
        message = await welcome_for(env, member)
        assert "@everyone" not in message.content and f"<@&{env.mod_role.id}>" not in (
            message.content)
        assert sb.mentions_pinged(message, respect_permissions=True) == {member.id}
    finally:
        r = await sb.slash(env.guild, env.owner, "welcome message", template="default")
        await r.done()


# --- the directory and group roles -------------------------------------------------------------


async def test_unsafe_group_roles_are_refused(env):
    sb = env.sb
    g = env.guild
    with_perms = sb.add_role(g, "Helpers", ["manage_messages"])
    above_bot = sb.add_role(g, "Above", above_bot=True)
    cases = [
        (with_perms, env.owner, "grants permissions"),
        (sb.bot_role(g), env.owner, "managed"),
        (above_bot, env.owner, "not below my highest role"),
        (env.mod_role, env.owner, "grants permissions"),
    ]
    # An admin whose top role is below the group role.
    above_admin = sb.add_role(g, "Above admin")
    cases.append((above_admin, env.admin, "not below your highest role"))
    for role, who, reason in cases:
        r = await sb.slash(g, who, "welcome group add", name=fresh("Unsafe"),
                           options={"channel": env.general}, role=role)
        await r.done()
        assert r.ephemeral and reason in r.content, (role.name, r.content)
    r = await sb.slash(g, env.regular, "welcome group add", name="Nope",
                       options={"channel": env.general})
    await r.done()
    assert "Only server admins" in r.content
    assert [grp.name for grp in await env.service.groups(g.id)] == [
        "Colorectal Cancer", "Grief and Loss"]


async def test_group_edit_remove_and_autocomplete(env):
    sb = env.sb
    r = await sb.slash(env.guild, env.owner, "welcome group add", name="Caregivers",
                       options={"channel": env.general}, keywords="caregiver, carer")
    await r.done()
    assert "Added" in r.content
    r = await sb.slash(env.guild, env.owner, "welcome group add", name="caregivers",
                       options={"channel": env.general})
    await r.done()
    assert "already a group called" in r.content
    r = await sb.autocomplete(env.guild, env.owner, "welcome group edit", focused="name",
                              name="car")
    await r.responded()
    assert [c["value"] for c in r.autocomplete_choices] == ["Caregivers"]
    for outsider in (env.regular, env.moderator):  # group settings are admins' only
        r = await sb.autocomplete(env.guild, outsider, "welcome group edit", focused="name",
                                  name="car")
        await r.responded()
        assert r.autocomplete_choices == []
    r = await sb.autocomplete(env.guild, env.owner, "welcome group remove", focused="name",
                              name="loss")
    await r.responded()
    assert [c["value"] for c in r.autocomplete_choices] == ["Grief and Loss"]
    r = await sb.slash(env.guild, env.owner, "welcome group edit", name="Caregivers",
                       new_name="Carers", description="For those who care")
    await r.done()
    assert "Saved **Carers**" in r.content
    r = await sb.slash(env.guild, env.owner, "welcome group remove", name="Nobody")
    await r.done()
    assert "no group called" in r.content
    r = await sb.slash(env.guild, env.owner, "welcome group remove", name="carers")
    await r.done()
    assert "Removed **Carers**" in r.content


async def test_picker_assigns_and_removes_roles_and_survives_restart(env):
    sb = env.sb
    member = await join(env)
    welcome = await welcome_for(env, member)
    await env.restart()  # the button must still work
    r = await sb.click(welcome, "Find your support group", by=member)
    await r.done()
    assert r.ephemeral and "Choose the groups" in r.content
    picker = r.message
    select = picker.components[0]["components"][0]
    assert [o["label"] for o in select["options"]] == ["Colorectal Cancer", "Grief and Loss"]
    colorectal = next(o["value"] for o in select["options"] if o["label"] == "Colorectal Cancer")
    grief = next(o["value"] for o in select["options"] if o["label"] == "Grief and Loss")
    await (await sb.select(picker, [colorectal, grief], by=member)).done()
    saved = await sb.click(picker, "Save", by=member)
    await saved.done()
    await sb.wait_for(lambda: set(sb.member(env.guild, member).roles) >= {
        env.colorectal_role.id, env.grief_role.id})
    assert f"**Colorectal Cancer** meets in <#{env.forum.id}>: Bowel and colon cancer" in (
        saved.message.content)
    # Again, via /groups: pre-filled; unpick Grief.
    r = await sb.slash(env.guild, member, "groups")
    await r.done()
    select = r.message.components[0]["components"][0]
    assert {o["value"] for o in select["options"] if o.get("default")} == {colorectal, grief}
    assert "You picked **Grief and Loss**" in r.content
    await (await sb.select(r.message, [colorectal], by=member)).done()
    await (await sb.click(r.message, "Save", by=member)).done()
    await sb.wait_for(lambda: env.grief_role.id not in sb.member(env.guild, member).roles)
    assert env.colorectal_role.id in sb.member(env.guild, member).roles
    removed = [q for q in sb.requests if q.method == "DELETE" and "/roles/" in q.path]
    assert removed and removed[-1].ok


async def test_picker_without_manage_roles_explains_and_alerts_mod_log(env):
    sb = env.sb
    member = await join(env)
    await welcome_for(env, member)
    sb.set_bot_permissions(env.guild, discord.Permissions(
        sb.bot_role(env.guild).permissions & ~discord.Permissions(manage_roles=True).value))
    try:
        r = await sb.slash(env.guild, member, "groups")
        await r.done()
        value = r.message.components[0]["components"][0]["options"][0]["value"]
        await (await sb.select(r.message, [value], by=member)).done()
        saved = await sb.click(r.message, "Save", by=member)
        await saved.done()
        assert any("missing a permission" in t for t in saved.texts), saved.texts
        alert = await sb.wait_for_message(
            env.mod_log,
            lambda m: any(e.get("title") == title_of("welcome.roles_failed") for e in m.embeds))
        assert "Manage Roles" in alert.embeds[0]["description"]
        assert sb.member(env.guild, member).roles == []
    finally:
        sb.set_bot_permissions(env.guild, discord.Permissions(
            sb.bot_role(env.guild).permissions | discord.Permissions(manage_roles=True).value))


async def test_picker_pages_past_25_groups(env):
    sb = env.sb
    big = env.big
    roles = [sb.add_role(big, f"Topic {i:03d}") for i in range(130)]
    for i, role in enumerate(roles):
        r = await sb.slash(big, env.big_owner, "welcome group add", name=f"Topic {i:03d}",
                           options={"channel": env.big_channel}, role=role)
        await r.done()
        assert "Added" in r.content, r.content
    member = await join(env, guild=big, roles=[roles[128]])
    r = await sb.slash(big, member, "groups")
    await r.done()
    page = r.message
    selects = [row["components"][0] for row in page.components if row["components"][0]["type"] == 3]
    assert [len(s["options"]) for s in selects] == [25, 25, 25, 25]
    assert "Page 1 of 2" in page.content
    assert "You picked **Topic 128**" in page.content, page.content
    await (await sb.select(page, [selects[0]["options"][0]["value"]], by=member,
                           custom_id=selects[0]["custom_id"])).done()
    await (await sb.click(page, "Next", by=member)).done()
    selects = [row["components"][0] for row in page.components if row["components"][0]["type"] == 3]
    assert [len(s["options"]) for s in selects] == [25, 5]
    defaults = [o["label"] for s in selects for o in s["options"] if o.get("default")]
    assert defaults == ["Topic 128"]
    await (await sb.click(page, "Save", by=member)).done()
    await sb.wait_for(lambda: roles[0].id in sb.member(big, member).roles)
    assert roles[128].id in sb.member(big, member).roles  # not shown as unpicked: kept


# --- suggestions -------------------------------------------------------------------------------


async def test_keyword_suggestions_once_per_member_per_group_across_restarts(env):
    sb = env.sb
    member = await join(env)
    await welcome_for(env, member)
    await sb.post(env.general, member, "My colonoscopy is next Tuesday, I'm scared")
    await sb.post(env.general, member, "Does anyone else live with ostomies?")
    reply = await sb.wait_for_message(env.general, lambda m: "Interested in more" in m.content)
    assert reply.content == ("Interested in more discussions like this? The **Colorectal "
                             f"Cancer** group meets in <#{env.forum.id}>.")
    assert reply.reference["message_id"] == str(reply.referenced.id)
    assert "ostomies" in reply.referenced.content  # not the colonoscopy post
    assert sb.mentions_pinged(reply) == set()
    await sb.post(env.general, member, "colon cancer again")
    await env.restart()
    await sb.post(env.general, member, "bowel trouble after the colon surgery")
    await sb.post(env.general, member, "I lost my mum last year, the grief is heavy")
    await sb.wait_for_message(env.general, lambda m: "Grief and Loss" in m.content)
    await sb.idle()
    replies = [m for m in sb.messages(env.general) if "Interested in more" in m.content
               and m.referenced and m.referenced.author.id == member.id]
    assert len(replies) == 2


async def test_no_suggestion_in_group_channel_for_moderators_old_members_held_or_off(env):
    sb = env.sb
    newcomer = await join(env)
    await welcome_for(env, newcomer)
    thread, _ = await sb.forum_post(env.forum, newcomer, "Hello", "my colon cancer story")
    await sb.post(env.general, env.moderator, "colon cancer resources")
    old = sb.add_member(env.guild, fresh("old"))  # joined 30 days ago
    await sb.post(env.general, old, "colon cancer question")

    # A post held by link holds (it runs first and consumes it) gets no suggestion.
    held = await sb.post(env.general, newcomer, "colon cancer, see https://cure-news.com/x")
    await sb.wait_for_request("DELETE /channels/{channel_id}/messages/{message_id}",
                              message_id=held.id)
    r = await sb.slash(env.guild, env.owner, "welcome suggestions", state="off")
    await r.done()
    await sb.post(env.general, newcomer, "colon again")
    r = await sb.slash(env.guild, env.owner, "welcome suggestions", state="on")
    await r.done()
    # A marker that does get a suggestion, so everything before it was processed.
    await sb.post(env.general, newcomer, "bereavement")
    await sb.wait_for_message(env.general, lambda m: "Grief and Loss" in m.content)
    await sb.idle()
    suggestions = [m for m in sb.messages(env.general) if "Colorectal" in m.content
                   and m.referenced is not None
                   and m.referenced.author.id in (newcomer.id, old.id, env.moderator.id)]
    suggestions += [m for m in sb.messages(thread) if m.author.id == sb.bot_user.id]
    assert suggestions == []


async def test_power_roles_and_group_roles_never_mix(env):
    sb, g = env.sb, env.guild
    staff = sb.add_role(g, fresh("Staff "))  # no permissions: only Steward powers matter
    await sb.wait_for(lambda: env.bot.get_guild(g.id).get_role(staff.id) is not None)
    # A moderator role or an exempt role can't become a group role...
    for command, options in (("steward settings", {"moderator_role": staff}),
                             ("linkhold exempt", {"role": staff})):
        r = await sb.slash(g, env.owner, command, **options)
        await r.done()
        assert "Saved" in r.texts[-1] or "never held" in r.texts[-1], r.texts
        r = await sb.slash(g, env.owner, "welcome group add", name=fresh("Staffers"),
                           options={"channel": env.general}, role=staff)
        await r.done()
        assert r.ephemeral and "Steward powers" in r.texts[-1], (command, r.texts)
        undo = "steward settings" if command == "steward settings" else "linkhold unexempt"
        await (await sb.slash(g, env.owner, undo, **options)).done()
    await (await sb.slash(g, env.owner, "steward settings", moderator_role=staff)).done()
    r = await sb.slash(g, env.owner, "welcome group edit", name="Grief and Loss", role=staff)
    await r.done()
    assert "Steward powers" in r.texts[-1], r.texts
    await (await sb.slash(g, env.owner, "steward settings", moderator_role=staff)).done()
    assert staff.id not in env.bot.guild_settings.get(g.id).core.moderator_roles
    # ...and a group role can't be given Steward powers.
    for command, options in (("steward settings", {"moderator_role": env.grief_role}),
                             ("steward setup", {"moderator_role": env.grief_role}),
                             ("linkhold exempt", {"role": env.grief_role})):
        r = await sb.slash(g, env.owner, command, **options)
        await r.done()
        assert r.ephemeral and "support group Grief and Loss" in r.texts[-1], (command, r.texts)
    config = env.bot.guild_settings.get(g.id)
    assert env.grief_role.id not in config.core.moderator_roles
    assert env.grief_role.id not in config.linkhold.exempt_roles


async def test_a_group_role_that_gained_steward_powers_is_skipped_at_pick_time(env):
    sb, g = env.sb, env.guild
    grief = env.grief_role.id
    # Powers given behind the commands' back (an older config, an edited import).
    await env.bot.guild_settings.update(
        g.id, lambda c: setattr(c.linkhold, "exempt_roles", [*c.linkhold.exempt_roles, grief]))
    try:
        member = await join(env)
        await welcome_for(env, member)
        r = await sb.slash(g, member, "groups")
        await r.done()
        options = r.message.components[0]["components"][0]["options"]
        value = next(o["value"] for o in options if o["label"] == "Grief and Loss")
        await (await sb.select(r.message, [value], by=member)).done()
        await (await sb.click(r.message, "Save", by=member)).done()
        await sb.wait_for_message(
            env.mod_log,
            lambda m: any(e.get("title") == title_of("welcome.role_has_powers") for e in m.embeds))
        await sb.idle()
        assert grief not in sb.member(g, member).roles
    finally:
        await env.bot.guild_settings.update(
            g.id, lambda c: setattr(c.linkhold, "exempt_roles",
                                    [r for r in c.linkhold.exempt_roles if r != grief]))
