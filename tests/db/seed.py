"""Rows in every table, written through the repositories (for migrate-db and privacy tests).

Ids are real-sized snowflakes (past 32 bits) so a narrow column type would show.
"""

from datetime import UTC, datetime, timedelta

from bot.db.audit import AuditRepository
from bot.db.care import CareRepository, DoNotTagRepository
from bot.db.doctor import DoctorRepository
from bot.db.followups import FollowupRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.db.hold_members import HighWaterRepository, PostCountRepository, TrustRepository
from bot.db.holds import HeldLink, HoldRepository, NewAttachment, NewHold
from bot.db.privacy import PrivacyRepository
from bot.db.promotions import PromotionRepository
from bot.db.reminders import NewReminder, ReminderRepository
from bot.db.reposts import RepostRepository
from bot.db.welcome import WelcomeRepository
from bot.domain.doctor import Finding, Severity

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD = 1_100_000_000_000_000_001
MOD = 1_200_000_000_000_000_002
CHANNEL = 1_300_000_000_000_000_003


async def seed_member(db, member: int, n: int = 0) -> None:
    """Everything a member leaves behind in one guild, in every feature's tables."""
    at = NOW + timedelta(minutes=n)
    message = 1_400_000_000_000_000_000 + member % 1_000_000 * 100 + n
    await AuditRepository(db).append(GUILD, MOD, "hold.created", member,
                                     {"jump": f"https://discord.com/channels/{GUILD}/1/2",
                                      "members": [member]}, at)
    reposts = RepostRepository(db)
    record, _ = await reposts.begin(guild_id=GUILD, member_id=member, moderator_id=MOD,
                                    destination_id=CHANNEL, mode="webhook", source="manual",
                                    key=f"k{member}-{n}", head_len=3, tail_len=4, part_count=1,
                                    now=at)
    await reposts.add_message(record.id, 0, message)
    await reposts.mark_published(record.id, "dm", at)
    holds = HoldRepository(db)
    hold = await holds.create(NewHold(
        guild_id=GUILD, channel_id=CHANNEL, message_id=message + 1, member_id=member,
        kind="message", content="my scan results, see https://example.org/x",
        links=(HeldLink("x", "https://example.org/x", "example.org"),), dup_key=f"d{member}",
        attachments=(NewAttachment(0, "scan.png", 4, "image/png", b"\x00\x01\xfe\xff"),)), at)
    assert hold is not None
    await holds.reject(hold.id, MOD, "reject", "spam", at)
    await TrustRepository(db).trust(GUILD, member, MOD, at)
    await PostCountRepository(db).add(GUILD, member, at, 2)
    promotions = PromotionRepository(db)
    await promotions.remember(GUILD, member, at)
    await promotions.set_due(GUILD, member, at + timedelta(days=3))
    care = CareRepository(db)
    alert = await care.create(guild_id=GUILD, member_id=member, channel_id=CHANNEL,
                              message_id=message + 4, matched=("can't go on",), now=at,
                              quiet_until=at + timedelta(hours=24))
    assert alert is not None
    await care.claim(alert.id, MOD, at)
    await DoNotTagRepository(db).mark(GUILD, member, "asked", MOD, at)
    followups = FollowupRepository(db)
    followup = await followups.create(guild_id=GUILD, channel_id=CHANNEL, in_thread=True,
                                      question_message_id=message + 2, op_id=member,
                                      asker_id=MOD, days=7, now=at)
    await followups.set_tag(followup.id, message + 3)
    await followups.subscribe(followup.id, member, at)
    await followups.set_prefs(GUILD, member, at, pings=False)
    await ReminderRepository(db).add(NewReminder(GUILD, "checkin", CHANNEL, at + timedelta(days=1),
                                                 member_id=member, created_by=MOD,
                                                 followup_id=followup.id, note="how are you?"),
                                     at)
    welcome = WelcomeRepository(db)
    await welcome.claim(GUILD, [member], "single", at)
    await welcome.set_message(GUILD, [member], CHANNEL, message + 4)
    await welcome.add_pending(GUILD, member + 1, at, "screening", at + timedelta(hours=1))
    group = await welcome.group_named(GUILD, "Carers")
    if group is None:
        group = await welcome.add_group(GUILD, "Carers", CHANNEL, "for carers", ("carer",),
                                        None, at)
    await welcome.claim_suggestion(GUILD, member, group.id, at)
    await PrivacyRepository(db).add_opt_out(GUILD, "welcome.dm", f"{member:x}", at)


async def seed_every_table(db, members=(1_500_000_000_000_000_005, 1_600_000_000_000_000_006)):
    """A populated installation: two members' traces plus the per-guild tables."""
    await GuildSettingsRepository(db).save(GUILD, '{"linkhold": {"hold_days": 5}}', NOW)
    await HighWaterRepository(db).save({GUILD: 1_700_000_000_000_000_007}, NOW)
    await DoctorRepository(db).save(
        GUILD, [Finding("channel.permission", "mod_queue", Severity.PROBLEM, "Can't post.",
                        "Give Steward Send Messages.")], "fp1", NOW)
    await DoctorRepository(db).mark_reported(GUILD, "fp1", NOW)
    for n, member in enumerate(members):
        await seed_member(db, member, n)
