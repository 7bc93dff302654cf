"""Forgetting a member end to end: /privacy forget leaves no trace in any table of the database."""

from __future__ import annotations

import itertools
import json
import sqlite3

import pytest
import pytest_asyncio

from bot.cli import build_parser, run_command
from bot.db.database import to_db_time
from bot.db.privacy import FEATURE_TABLES
from bot.services.privacy import FOLLOWUP_PINGS
from tests.steward_env import running_env, scan_database

pytestmark = [pytest.mark.sandbox, pytest.mark.asyncio(loop_scope="session")]

SECRET = "my scan results were not good, scared"
MESSAGE_IDS = itertools.count(7_000_001)  # small: can never collide with a snowflake

# Columns that hold ids of things, not people. Any other *_id / *_by column must be handled by
# bot.db.privacy.FEATURE_TABLES (or the audit anonymizer): a new feature table fails here
# until its people columns are declared.
NOT_PEOPLE = {
    "id", "guild_id", "channel_id", "message_id", "parent_id", "queue_channel_id",
    "queue_message_id", "question_message_id", "tag_message_id", "answer_message_id",
    "destination_id", "webhook_id", "repost_id", "followup_id", "hold_id", "group_id",
    "role_id", "card_channel_id", "card_message_id",
}
# Columns named like a person's that hold something else: a sharded process's claim token.
NOT_PEOPLE_COLUMNS = {("reminders", "claimed_by")}
AUDIT_PEOPLE = {("audit_log", "actor_id"), ("audit_log", "target_id")}


def people_columns() -> set[tuple[str, str]]:
    declared = set(AUDIT_PEOPLE)
    for specs in FEATURE_TABLES.values():
        for spec in specs:
            declared.update((spec.table, c) for c in spec.about + spec.by)
    return declared


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory):
    async with running_env(tmp_path_factory.mktemp("privacy")) as steward:
        yield steward


@pytest.fixture(autouse=True)
def _reset(env):
    env.sb.reset()


async def seed(env, server, person: int, other: int, moderator: int) -> None:
    """Rows about `person` in every feature table, and rows where they acted for `other`."""
    db, now, g = env.bot.db, to_db_time(env.clock.now()), server.id

    async def insert(sql: str, *params) -> int:
        return await db.insert(sql, params)

    for n, (member, decider) in enumerate(((person, moderator), (other, person))):
        hold = await insert(
            "INSERT INTO holds (guild_id, channel_id, message_id, member_id, kind, content, "
            "links, dup_key, status, decided_by, decided_at, created_at) "
            "VALUES (?, ?, ?, ?, 'message', ?, '[]', ?, 'approved', ?, ?, ?)",
            g, server.general.id, next(MESSAGE_IDS), member, SECRET, f"k{n}", decider, now, now)
        await insert("INSERT INTO hold_attachments (hold_id, position, filename, size, data) "
                     "VALUES (?, 0, 'scan.png', 4, ?)", hold, b"\x89PNG")
        await insert("INSERT INTO trusted_members (guild_id, member_id, trusted_by, trusted_at)"
                     " VALUES (?, ?, ?, ?)", g, member, decider, now)
        repost = await insert(
            "INSERT INTO reposts (guild_id, member_id, moderator_id, destination_id, mode, "
            "source, idem_key, status, created_at) VALUES (?, ?, ?, ?, 'webhook', 'manual', "
            "?, 'published', ?)", g, member, decider, server.general.id, f"i{n}", now)
        await insert("INSERT INTO repost_messages (repost_id, position, message_id) "
                     "VALUES (?, 0, ?)", repost, next(MESSAGE_IDS))
        followup = await insert(
            "INSERT INTO followups (guild_id, channel_id, in_thread, question_message_id, "
            "op_id, asker_id, days, asked_at) VALUES (?, ?, 1, ?, ?, ?, 7, ?)",
            g, server.general.id, next(MESSAGE_IDS), member, decider, now)
        await insert("INSERT INTO reminders (guild_id, kind, followup_id, channel_id, "
                     "member_id, created_by, note, due_at, created_at, updated_at) "
                     "VALUES (?, 'remind', ?, ?, ?, ?, ?, ?, ?, ?)",
                     g, followup, server.general.id, member, decider, SECRET, now + 10**9,
                     now, now)
        await insert("INSERT INTO followup_subscribers (followup_id, user_id, created_at) "
                     "VALUES (?, ?, ?)", followup, decider, now)
        await insert("INSERT INTO care_alerts (guild_id, member_id, channel_id, message_id, "
                     "matched, created_at, quiet_until, claimed_by, support_by) "
                     "VALUES (?, ?, ?, ?, 'want to die', ?, ?, ?, ?)",
                     g, member, server.general.id, next(MESSAGE_IDS), now, now, decider, decider)
        await insert("INSERT INTO do_not_tag (guild_id, member_id, reason, marked_by, marked_at) "
                     "VALUES (?, ?, 'asked', ?, ?)", g, member, decider, now)
    await insert("INSERT INTO member_post_counts (guild_id, member_id, accepted, updated_at) "
                 "VALUES (?, ?, 1, ?)", g, person, now)
    await insert("INSERT INTO followup_prefs (guild_id, user_id, pings, notify_dm, updated_at) "
                 "VALUES (?, ?, 0, 1, ?)", g, person, now)
    group = await insert("INSERT INTO welcome_groups (guild_id, name, name_key, channel_id, "
                         "created_at) VALUES (?, 'Grief', 'grief', ?, ?)",
                         g, server.forum.id, now)
    await insert("INSERT INTO welcome_suggestions (guild_id, member_id, group_id, "
                 "suggested_at) VALUES (?, ?, ?, ?)", g, person, group, now)
    await insert("INSERT INTO welcome_pending (guild_id, member_id, joined_at, status, due_at) "
                 "VALUES (?, ?, ?, 'ready', ?)", g, person, now, now + 10**9)
    audit = env.bot.audit
    await audit.record(g, None, "hold.created", person, {"jump": "https://discord.com/x"})
    await audit.record(g, person, "followup.asked", other, {"op": other})
    await audit.record(g, moderator, "trust.granted", other, {"note": f"asked by <@{person}>"})


def columns_holding(path, needle: int) -> set[tuple[str, str]]:
    return {tuple(hit.split(".")) for hit in scan_database(path, needle)}


async def test_forget_removes_every_trace_from_every_table(env):
    server = await env.add_server()
    sb = env.sb
    person = await sb.join(server.guild, "frightened-newcomer")  # a real welcome record
    await sb.wait_for(lambda: columns_holding(env.db_path, person.id))
    await seed(env, server, person.id, server.member.id, server.moderator.id)
    before = columns_holding(env.db_path, person.id)
    # Every column that can hold a person is declared, and the seed reached all of them.
    with sqlite3.connect(env.db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE "
                                             "type = 'table'")]
        columns = {(t, r[1]) for t in tables for r in conn.execute(f'PRAGMA table_info("{t}")')
                   if r[1].endswith(("_id", "_by"))}
    unknown = ({c for c in columns if c[1] not in NOT_PEOPLE} - people_columns()
               - NOT_PEOPLE_COLUMNS)
    assert not unknown, f"declare these in bot.db.privacy.FEATURE_TABLES: {sorted(unknown)}"
    assert people_columns() <= before, sorted(people_columns() - before)

    r = await sb.slash(server.guild, server.admin, "privacy forget", member=person)
    await r.done()
    assert r.ephemeral and "can't be undone" in r.content
    click = await sb.click(r.message, "Forget everything", by=server.admin)
    await click.done()
    report = r.message.content
    assert report.startswith("Done.") and "Audit entries (their name replaced)" in report

    assert scan_database(env.db_path, person.id) == []
    with sqlite3.connect(env.db_path) as conn:
        blob = b"".join(bytes(str(row), "utf-8") for row in conn.execute(
            "SELECT content FROM holds WHERE guild_id = ?", (server.id,)))
        # The other member's hold stays; the forgotten moderator's decision keeps their
        # pseudonym (not their id, not a blank).
        pseudonym = env.bot.services.privacy.pseudonym(server.id, person.id)
        assert conn.execute("SELECT COUNT(*) FROM holds WHERE member_id = ? AND decided_by "
                            "= ?", (server.member.id, pseudonym)).fetchone() == (1,)
        assert conn.execute("SELECT moderator_id FROM reposts WHERE member_id = ?",
                            (server.member.id,)).fetchone() == (pseudonym,)
        details = [json.loads(d) for (d,) in conn.execute(
            "SELECT details FROM audit_log WHERE guild_id = ? AND action = 'trust.granted'",
            (server.id,))]
    assert SECRET.encode() in blob  # the other member's post (their own, not forgotten)
    assert details == [{"note": "[removed]"}]
    privacy = env.bot.services.privacy
    assert await privacy.has_opted_out(server.id, person.id, FOLLOWUP_PINGS)
    [entry] = await env.bot.audit.repository.recent(server.id, action_prefix="privacy.")
    assert entry.actor_id == server.admin.id and entry.target_id is None
    assert entry.details["pseudonym"].startswith("former-")
    assert all(not sb.mentions_pinged(m) for m in sb.messages(server.general))


async def test_members_cannot_forget_anyone(env):
    server = await env.add_server()
    r = await env.sb.slash(server.guild, server.member, "privacy forget", member=server.helper)
    await r.done()
    assert r.ephemeral and "Only server admins" in r.texts[-1]


async def test_a_moderator_cannot_forget_and_so_cannot_erase_their_own_trail(env):
    server = await env.add_server()
    sb = env.sb
    await env.bot.audit.record(server.id, server.moderator.id, "hold.rejected",
                               server.member.id, {"hold": 1})
    r = await sb.slash(server.guild, server.moderator, "privacy forget", member=server.moderator)
    await r.done()
    assert r.ephemeral and "Only server admins" in r.texts[-1], r.texts
    assert r.message is None or not r.message.buttons()
    [entry] = await env.bot.audit.repository.recent(server.id, action_prefix="hold.")
    assert entry.actor_id == server.moderator.id
    # An admin can; the moderator's action then stays attributed to their pseudonym.
    r = await sb.slash(server.guild, server.admin, "privacy forget", member=server.moderator)
    await r.done()
    click = await sb.click(r.message, "Forget everything", by=server.admin)
    await click.done()
    [entry] = await env.bot.audit.repository.recent(server.id, action_prefix="hold.")
    pseudonym = env.bot.services.privacy.pseudonym(server.id, server.moderator.id)
    assert entry.actor_id == pseudonym and entry.target_id == server.member.id
    [forgot] = await env.bot.audit.repository.recent(server.id, action_prefix="privacy.")
    assert forgot.actor_id == server.admin.id
    assert forgot.details["pseudonym"] == entry.details["actor"]


async def test_only_the_asking_admin_can_confirm_and_only_while_an_admin(env):
    server = await env.add_server()
    sb = env.sb
    await env.bot.audit.record(server.id, None, "hold.created", server.member.id)
    second_admin = sb.add_member(server.guild, "second-admin", roles=[server.admin_role])
    r = await sb.slash(server.guild, server.admin, "privacy forget", member=server.member)
    await r.done()
    other = await sb.click(r.message, "Forget everything", by=second_admin)
    await other.done()
    assert "who asked" in other.texts[-1]
    await sb.update_member(server.guild, server.admin, roles=[])
    demoted = await sb.click(r.message, "Forget everything", by=server.admin)
    await demoted.done()
    assert "Only server admins" in demoted.texts[-1]
    assert scan_database(env.db_path, server.member.id) == ["audit_log.target_id"]


async def test_cancel_removes_nothing(env):
    server = await env.add_server()
    await env.bot.audit.record(server.id, None, "hold.created", server.member.id)
    r = await env.sb.slash(server.guild, server.admin, "privacy forget", member=server.member)
    await r.done()
    click = await env.sb.click(r.message, "Cancel", by=server.admin)
    await click.done()
    assert "nothing was removed" in r.message.content
    assert scan_database(env.db_path, server.member.id) == ["audit_log.target_id"]


async def test_the_command_line_forgets_too(env, capsys):
    server = await env.add_server()
    await seed(env, server, server.helper.id, server.member.id, server.moderator.id)
    args = build_parser().parse_args(["forget", "--guild", str(server.id), "--user",
                                      str(server.helper.id), "--yes"])
    assert await run_command(args, env.bot.settings) == 0
    out = capsys.readouterr().out
    assert "linkhold:" in out and "audit: " in out and "anonymized" in out
    assert scan_database(env.db_path, server.helper.id) == []


async def test_retention_purges_expired_hold_content_from_the_file_and_wal(env):
    server = await env.add_server()
    db, privacy = env.bot.db, env.bot.services.privacy
    marker = "RETENTION-" + "z" * 40
    old = to_db_time(env.clock.now())
    await db.insert(
        "INSERT INTO holds (guild_id, channel_id, message_id, member_id, kind, content, links, "
        "dup_key, status, decided_at, created_at) VALUES (?, ?, 1, ?, 'message', ?, '[]', 'k', "
        "'rejected', ?, ?)", (server.id, server.general.id, server.member.id, marker, old, old))
    files = [env.db_path, env.db_path.with_name(env.db_path.name + "-wal")]

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in files if p.exists())

    assert marker.encode() in on_disk()
    env.clock.advance(days=31)  # past linkhold.retention_days (30)
    report = await privacy.purge()
    assert report.removed.get("linkhold", 0) >= 1 and not report.failed
    assert marker.encode() not in on_disk()
