"""An in-process imitation of Discord (REST v10 + gateway) for the real discord.py client.

Quick start (see ``sandbox/README.md`` for the full tour)::

    from sandbox import Sandbox
    from sandbox.harness import connected_client

    sb = Sandbox()
    await sb.start()
    guild = sb.add_guild("Hope Together")
    general = sb.add_text_channel(guild, "general")
    anna = sb.add_member(guild, "anna")
    async with connected_client(sb, client):
        await sb.post(general, anna, "hello")
        reply = await sb.wait_for_message(general)
"""

from sandbox.automod import Blocked, MessageBlocked
from sandbox.clock import RealClock, SupportsNow, snowflake_time
from sandbox.errors import ApiError, SandboxError
from sandbox.interactions import InteractionResult, Modal
from sandbox.models import (
    Attachment,
    Channel,
    ChannelType,
    Command,
    Guild,
    Member,
    MemberFlags,
    Message,
    MessageFlags,
    Role,
    User,
    Webhook,
)
from sandbox.records import Recorded
from sandbox.retention import Retention
from sandbox.scenario import Sandbox

__all__ = [
    "ApiError",
    "Attachment",
    "Blocked",
    "Channel",
    "ChannelType",
    "Command",
    "Guild",
    "InteractionResult",
    "Member",
    "MemberFlags",
    "Message",
    "MessageBlocked",
    "MessageFlags",
    "Modal",
    "RealClock",
    "Recorded",
    "Retention",
    "Role",
    "Sandbox",
    "SandboxError",
    "SupportsNow",
    "User",
    "Webhook",
    "snowflake_time",
]
