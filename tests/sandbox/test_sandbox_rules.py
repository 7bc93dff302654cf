"""The sandbox's Discord rules as pure functions: limits, mentions, permissions, snowflakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest

from sandbox.clock import SnowflakeGenerator
from sandbox.errors import ApiError
from sandbox.mentions import pinged
from sandbox.models import Channel, ChannelType, Guild, Member, Overwrite, Role, User
from sandbox.permissions import bits, channel_permissions, has
from sandbox.validation import (
    validate_message,
    validate_modal,
    validate_webhook_username,
)


def code_of(fn, *args, **kwargs) -> int:
    with pytest.raises(ApiError) as info:
        fn(*args, **kwargs)
    return info.value.code


def button(i: int, **extra) -> dict:
    return {"type": 2, "style": 1, "label": f"b{i}", "custom_id": f"c{i}", **extra}


@pytest.mark.parametrize("payload", [
    {"content": "x" * 2001},
    {"embeds": [{"title": "t" * 257}]},
    {"embeds": [{"description": "d" * 4097}]},
    {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]},
    {"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]},
    {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
    {"embeds": [{"footer": {"text": "f" * 2049}}]},
    {"embeds": [{"author": {"name": "a" * 257}}]},
    {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
    {"embeds": [{"title": "t"}] * 11},
    {"components": [{"type": 1, "components": [button(0)]}] * 6},
    {"components": [{"type": 1, "components": [button(i) for i in range(6)]}]},
    {"components": [{"type": 1, "components": [button(0, custom_id="c" * 101)]}]},
    {"components": [{"type": 1, "components": [button(0, label="l" * 81)]}]},
    {"components": [{"type": 1, "components": [{"type": 3, "custom_id": "s", "options": [
        {"label": str(i), "value": str(i)} for i in range(26)]}]}]},
    {"content": "hi", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
], ids=lambda p: next(iter(p)))
def test_message_limits_are_50035(payload):
    assert code_of(validate_message, payload) == 50035


def test_empty_message_is_50006_but_files_or_embeds_are_fine():
    assert code_of(validate_message, {"content": ""}) == 50006
    validate_message({"content": ""}, file_count=1)
    validate_message({"embeds": [{"title": "t"}]})
    validate_message({"content": "x" * 2000})


@pytest.mark.parametrize("name", ["", "x" * 81, "Discord Helper", "clyde", "my CLYDE bot"])
def test_bad_webhook_usernames(name):
    assert code_of(validate_webhook_username, name) == 50035


def test_good_webhook_username():
    validate_webhook_username("anna (via Steward)")


def _modal(**over) -> dict:
    data = {"custom_id": "m", "title": "Report", "components": [
        {"type": 18, "label": "Why", "component": {"type": 4, "custom_id": "why", "style": 2}}]}
    data.update(over)
    return data


@pytest.mark.parametrize("data", [
    _modal(title="t" * 46),
    _modal(components=[]),
    _modal(components=_modal()["components"] * 6),
    _modal(components=[{"type": 18, "label": "l" * 46, "component": {"type": 4,
                                                                     "custom_id": "a"}}]),
    _modal(components=[{"type": 1, "components": [{"type": 4, "custom_id": "a",
                                                   "label": "x", "max_length": 4001}]}]),
], ids=["title", "empty", "six", "label", "max_length"])
def test_modal_limits(data):
    assert code_of(validate_modal, data) == 50035


def test_modal_ok():
    validate_modal(_modal())


def test_mentions_semantics():
    content = "<@111111111111111111> <@&222222222222222222> @everyone"
    everything = {111111111111111111, 222222222222222222, "everyone"}
    assert pinged(content, None) == everything
    assert pinged(content, {"parse": []}) == set()
    assert pinged(content, {"parse": [], "users": ["111111111111111111"]}) == {
        111111111111111111}
    assert pinged(content, {"parse": ["roles", "everyone"]}) == {222222222222222222, "everyone"}
    assert pinged("hi", None, replied_user_id=5) == {5}
    assert pinged("hi", {"parse": []}, replied_user_id=5) == set()
    assert pinged("hi", {"parse": [], "replied_user": True}, replied_user_id=5) == {5}


def _guild() -> tuple[Guild, Member, Role]:
    guild = Guild(id=1, name="g", owner_id=99)
    guild.roles[1] = Role(1, 1, "@everyone", bits("view_channel", "send_messages"))
    mods = Role(2, 1, "mods", bits("manage_messages"), position=1)
    guild.roles[2] = mods
    user = User(10, "anna")
    member = Member(1, user, datetime.now(UTC), roles=[2])
    guild.members[10] = member
    return guild, member, mods


def test_permission_overwrites_order():
    guild, member, mods = _guild()
    chan = Channel(id=50, type=ChannelType.TEXT, name="c", guild_id=1)
    assert has(channel_permissions(guild, member, chan), "send_messages", "manage_messages")
    chan.overwrites[1] = Overwrite(1, 0, deny=bits("send_messages"))
    assert not has(channel_permissions(guild, member, chan), "send_messages")
    chan.overwrites[2] = Overwrite(2, 0, allow=bits("send_messages"))
    assert has(channel_permissions(guild, member, chan), "send_messages")
    chan.overwrites[10] = Overwrite(10, 1, deny=bits("send_messages"))
    assert not has(channel_permissions(guild, member, chan), "send_messages")
    chan.overwrites[1] = Overwrite(1, 0, deny=bits("view_channel"))
    assert channel_permissions(guild, member, chan) == 0
    mods.permissions |= bits("administrator")
    assert channel_permissions(guild, member, chan) == discord.Permissions.all().value


def test_threads_inherit_and_timeouts_restrict():
    guild, member, _ = _guild()
    parent = Channel(id=50, type=ChannelType.TEXT, name="c", guild_id=1)
    parent.overwrites[10] = Overwrite(10, 1, deny=bits("send_messages"))
    thread = Channel(id=51, type=ChannelType.PUBLIC_THREAD, name="t", guild_id=1, parent_id=50)
    guild.channels = {50: parent, 51: thread}
    assert not has(channel_permissions(guild, member, thread), "send_messages")
    now = datetime.now(UTC)
    member.communication_disabled_until = now + timedelta(minutes=5)
    perms = channel_permissions(guild, member, parent, now)
    assert has(perms, "view_channel") and not has(perms, "manage_messages")


def test_snowflakes_follow_a_frozen_clock_and_stay_unique():
    class Frozen:
        def now(self) -> datetime:
            return datetime(2026, 1, 5, tzinfo=UTC)

    gen = SnowflakeGenerator(Frozen())
    ids = [gen.next() for _ in range(100)]
    assert ids == sorted(set(ids))
    assert discord.utils.snowflake_time(ids[0]) == datetime(2026, 1, 5, tzinfo=UTC)
    past = gen.next(datetime(2025, 1, 1, tzinfo=UTC))
    assert discord.utils.snowflake_time(past) == datetime(2025, 1, 1, tzinfo=UTC)
