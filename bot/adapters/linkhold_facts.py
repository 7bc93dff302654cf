"""Link holds: discord.py objects -> the service's facts, one builder per kind of fact.

Every surface a member can put a link on ends up as one `PostFacts`: a message's text, a
forward's words and embeds, a poll's question and answers, a message a user-installed app
posted for them, a thread's name. `content` is the member's words as Steward would repost them
on approval.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.domain import holds as rules
from bot.services.linkhold import FileFacts, PostFacts
from bot.services.linkhold_ports import Kind

# Message types that are a member's own post. Discord's system messages (thread created 18,
# pins 6, joins 7, boosts, AutoMod alerts 24...) never are; the application-command types only
# count for a user-installed app's post on a member's behalf.
MEMBER_POST_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
APP_POST_TYPES = MEMBER_POST_TYPES | {discord.MessageType.chat_input_command,
                                      discord.MessageType.context_menu_command}


def member_facts(
    guild: discord.Guild,
    user_id: int,
    member: discord.Member | None,
    *,
    moderator: bool = False,
    is_bot: bool = False,
) -> rules.MemberFacts:
    """What Discord knows about a post's author (`member` None: not in the server;
    `moderator`: the moderator check, made by the caller for the right channel)."""
    if member is None:
        return rules.MemberFacts(
            member_id=user_id, joined_at=None, account_created_at=rules.snowflake_time(user_id),
            is_bot=is_bot, is_owner=guild.owner_id == user_id)
    return rules.MemberFacts(
        member_id=member.id,
        joined_at=member.joined_at,
        account_created_at=member.created_at,
        is_bot=member.bot,
        is_owner=guild.owner_id == member.id,
        can_manage_messages=moderator,
        role_ids=frozenset(r.id for r in member.roles),
    )


def channel_ids(channel: object) -> tuple[int, ...]:
    """A channel, its parent and its category (ignored channels match any of them)."""
    ids = [getattr(channel, "id", 0)]
    for attr in ("parent_id", "category_id"):
        value = getattr(channel, attr, None)
        if value:
            ids.append(value)
    return tuple(ids)


def app_author(message: discord.Message, me_id: int | None) -> discord.User | None:
    """The member a user-installed app posted `message` for (None: not such a post).

    Such a message comes from the app's bot user; `interaction_metadata.user` ran the command.
    Steward's own replies and apps the server itself installed are not a member's post.
    """
    meta = message.interaction_metadata
    if meta is None or message.author.id == me_id or meta.user.bot:
        return None
    if meta.is_guild_integration():
        return None
    return meta.user


def is_member_post(message: discord.Message, *, app: bool = False) -> bool:
    """Whether the message type is a member's own post (system messages never are)."""
    return message.type in (APP_POST_TYPES if app else MEMBER_POST_TYPES)


def embed_text(embeds: Iterable[discord.Embed]) -> list[str]:
    """The words of each embed as one block: author, title, link, description, fields
    ("name: value"), footer, one per line."""
    blocks: list[str] = []
    for embed in embeds:
        lines = [x for x in (embed.author.name, embed.author.url, embed.title, embed.url,
                             embed.description) if x]
        lines.extend(": ".join(x for x in (f.name, f.value) if x) for f in embed.fields
                     if f.name or f.value)
        if embed.footer.text:
            lines.append(embed.footer.text)
        if lines:
            blocks.append("\n".join(lines))
    return blocks


def poll_text(poll: discord.Poll) -> str:
    """A poll as plain words: its question, then each answer on its own line."""
    answers = [f"- {a.media.text}" for a in poll.answers if a.media.text]
    return "\n".join([f"Poll: {poll.question}", *answers])


def post_facts(message: discord.Message, *, edited: bool = False,
               author_id: int | None = None) -> PostFacts:
    """A message as the policy sees it: a forum starter carries its title and tags; a forward
    carries the forwarded words, embeds and files; a poll its question and answers; an app's
    post (`author_id`: the member it was posted for) its words and embeds; an edit is "edit"."""
    guild = message.guild
    assert guild is not None
    channel = message.channel
    snapshots = list(getattr(message, "message_snapshots", []))
    parts = [message.content] if message.content else []
    kind: Kind = "message"
    if author_id is not None:
        kind = "app_post"
        parts.extend(embed_text(message.embeds))
    forwarded = [text for s in snapshots
                 for text in ([s.content] if s.content else []) + embed_text(s.embeds)]
    if forwarded:
        parts.extend(forwarded)
        kind = "forward"
    if message.poll is not None:
        parts.append(poll_text(message.poll))
        kind = "poll"
    content = "\n\n".join(parts)
    if edited:
        kind = "edit"
    title: str | None = None
    tags: tuple[int, ...] = ()
    if (isinstance(channel, discord.Thread) and channel.id == message.id
            and isinstance(channel.parent, discord.ForumChannel)):
        kind, title = "forum_post", channel.name
        tags = tuple(t.id for t in channel.applied_tags)
    reply_url = None
    ref = message.reference
    if ref is not None and ref.message_id and ref.type is discord.MessageReferenceType.reply:
        reply_url = f"https://discord.com/channels/{guild.id}/{ref.channel_id}/{ref.message_id}"
    items = list(message.attachments)
    for snapshot in snapshots:
        items.extend(snapshot.attachments)
    return PostFacts(
        guild_id=guild.id, channel_id=channel.id, channel_ids=channel_ids(channel),
        message_id=message.id, author_id=author_id or message.author.id, kind=kind,
        content=content,
        parent_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
        forum_title=title, forum_tag_ids=tags, reply_to_url=reply_url,
        files=tuple(FileFacts(a.filename, a.size, a.content_type, a.url) for a in items),
        upload_limit=guild.filesize_limit,
    )


def thread_facts(thread: discord.Thread, *, renamed: bool, key: int) -> PostFacts:
    """A thread's name as its owner's post: a new text-channel thread ("thread_name") or a
    thread (a forum post) renamed ("thread_rename"). `key` stands for the message id (there is
    no message): the thread's id for a new thread, the moment of a rename."""
    assert thread.owner_id is not None
    return PostFacts(
        guild_id=thread.guild.id, channel_id=thread.id, channel_ids=channel_ids(thread),
        message_id=key, author_id=thread.owner_id,
        kind="thread_rename" if renamed else "thread_name", content=thread.name,
        parent_id=thread.parent_id, upload_limit=thread.guild.filesize_limit,
    )
