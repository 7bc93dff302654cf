"""The doctor service with fake facts and a fake mod log: record, report once, clear."""

from collections.abc import Sequence

import pytest

from bot.clock import FakeClock
from bot.db import Database, migrate
from bot.db.audit import AuditRepository
from bot.db.doctor import DoctorRepository
from bot.db.guild_settings import GuildSettingsRepository
from bot.domain.doctor import (
    CONTENT_EMPTY_THRESHOLD,
    ChannelFacts,
    Finding,
    GuildFacts,
    RoleFacts,
    Severity,
)
from bot.services.audit import AuditService
from bot.services.doctor import DoctorService, PostOutcome, ServerRef, server_refs
from bot.services.guild_settings import GuildSettingsService
from config.guild import GuildConfig

GUILD = 900_000_000_000_000_021
MOD_LOG = 700_000_000_000_000_021
QUEUE = 700_000_000_000_000_022
MOD_ROLE = 600_000_000_000_000_021
ALL = frozenset({"view_channel", "send_messages", "embed_links", "read_message_history",
                 "attach_files", "manage_messages", "manage_webhooks", "manage_threads",
                 "send_messages_in_threads", "manage_roles"})


class FakeGuild:
    """The Discord side, as plain facts: every configured channel is fine unless told."""

    def __init__(self) -> None:
        self.visible = True
        self.missing: dict[int, frozenset[str]] = {}
        self.reads: list[list[ServerRef]] = []

    def read(self, guild_id: int, config: GuildConfig,
             refs: Sequence[ServerRef]) -> GuildFacts | None:
        self.reads.append(list(refs))
        if not self.visible:
            return None
        return GuildFacts(
            channels=tuple(ChannelFacts(r.setting, r.id, True, "text",
                                        ALL - self.missing.get(r.id, frozenset()))
                           for r in refs if r.kind == "channel"),
            roles=tuple(RoleFacts(r.setting, r.id, True, 1) for r in refs if r.kind == "role"),
            group_roles=tuple(RoleFacts(r.setting, r.id, True, 1)
                              for r in refs if r.kind == "group_role"),
            bot_top_role_position=10,
            bot_guild_permissions=ALL,
        )


class FakeModLog:
    def __init__(self) -> None:
        self.posts: list[tuple[int, int, list[str]]] = []
        self.outcome: PostOutcome = "posted"

    async def post(self, guild_id: int, channel_id: int,
                   findings: Sequence[Finding]) -> PostOutcome:
        if self.outcome == "posted":
            self.posts.append((guild_id, channel_id, [f.code for f in findings]))
        return self.outcome


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "doctor.sqlite3")
    await migrate(database)
    yield database
    await database.close()


@pytest.fixture
async def settings(db):
    clock = FakeClock()
    service = GuildSettingsService(GuildSettingsRepository(db), clock,
                                   AuditService(AuditRepository(db), clock))

    def healthy(config: GuildConfig) -> None:
        config.core.mod_log_channel = MOD_LOG
        config.core.moderator_roles = [MOD_ROLE]
        config.linkhold.queue_channel = QUEUE

    await service.update(GUILD, healthy)
    return service


@pytest.fixture
def guild():
    return FakeGuild()


@pytest.fixture
def mod_log():
    return FakeModLog()


@pytest.fixture
def doctor(db, settings, guild, mod_log):
    return DoctorService(DoctorRepository(db), settings, FakeClock(), reader=guild,
                         poster=mod_log)


async def test_a_healthy_guild_has_no_findings_and_posts_nothing(doctor, mod_log):
    assert await doctor.check_and_report(GUILD) == []
    assert mod_log.posts == []
    assert await doctor.repository.findings(GUILD) == []


async def test_a_problem_is_recorded_reported_once_and_its_fix_announced_once(
        doctor, guild, mod_log):
    guild.missing[QUEUE] = frozenset({"embed_links"})
    [finding] = await doctor.check_and_report(GUILD)
    assert finding.code == "channel.permission" and "Embed Links" in finding.message
    await doctor.check_and_report(GUILD)
    assert mod_log.posts == [(GUILD, MOD_LOG, ["channel.permission"])]
    [recorded] = await doctor.repository.findings(GUILD)
    assert recorded.finding == finding
    guild.missing.clear()
    assert await doctor.check_and_report(GUILD) == []
    await doctor.check_and_report(GUILD)
    assert mod_log.posts[1:] == [(GUILD, MOD_LOG, [])]


async def test_a_failed_post_is_tried_again_next_time(doctor, guild, mod_log):
    guild.missing[QUEUE] = frozenset({"attach_files"})
    mod_log.outcome = "failed"
    await doctor.check_and_report(GUILD)
    assert mod_log.posts == []
    mod_log.outcome = "posted"
    await doctor.check_and_report(GUILD)
    assert mod_log.posts == [(GUILD, MOD_LOG, ["channel.permission"])]


async def test_findings_nobody_could_see_are_not_followed_by_an_all_clear(doctor, guild,
                                                                         mod_log):
    guild.missing[MOD_LOG] = frozenset({"view_channel"})
    mod_log.outcome = "impossible"
    assert [f.code for f in await doctor.check_and_report(GUILD)] == ["channel.permission"]
    guild.missing.clear()
    mod_log.outcome = "posted"
    assert await doctor.check_and_report(GUILD) == []
    assert mod_log.posts == []


async def test_a_guild_the_bot_is_not_in_records_nothing(doctor, guild, mod_log):
    guild.visible = False
    assert await doctor.check_and_report(GUILD) == []
    assert await doctor.repository.last_run(GUILD) is None and mod_log.posts == []


async def test_without_a_mod_log_the_findings_are_recorded_not_posted(db, guild, mod_log):
    clock = FakeClock()
    bare = GuildSettingsService(GuildSettingsRepository(db), clock)
    doctor = DoctorService(DoctorRepository(db), bare, clock, reader=guild, poster=mod_log)
    codes = {f.subject for f in await doctor.check_and_report(GUILD)}
    assert codes == {"core.mod_log_channel", "linkhold.queue_channel"}
    assert mod_log.posts == []
    assert len(await doctor.repository.findings(GUILD)) == 2


async def test_message_content_going_missing_is_a_finding_until_text_arrives(doctor):
    changed = [doctor.observe_message(GUILD, empty=True)
               for _ in range(CONTENT_EMPTY_THRESHOLD)]
    assert changed == [False] * (CONTENT_EMPTY_THRESHOLD - 1) + [True]
    assert [f.code for f in await doctor.check_and_report(GUILD)] == [
        "gateway.message_content"]
    assert doctor.observe_message(GUILD, empty=False) is True
    assert await doctor.check_and_report(GUILD) == []


async def test_probes_add_findings_and_a_failing_probe_is_a_warning(doctor, mod_log):
    async def stuck(guild_id: int) -> list[Finding]:
        return [Finding("queue.stuck", "linkhold", Severity.WARNING, "2 posts wait.",
                        "Decide them.")]

    async def broken(guild_id: int) -> list[Finding]:
        raise RuntimeError("boom")

    doctor.add_probe("linkhold", stuck)
    doctor.add_probe("followups", broken)
    codes = [f.code for f in await doctor.check_and_report(GUILD)]
    assert codes == ["probe.failed", "queue.stuck"]


async def test_group_roles_from_features_are_read_with_the_settings_ones(doctor, guild):
    async def groups(guild_id: int) -> list[tuple[str, int]]:
        return [("welcome group Colorectal", 555)]

    doctor.add_group_roles("welcome", groups)
    await doctor.check_and_report(GUILD)
    kinds = {(r.kind, r.id) for r in guild.reads[-1]}
    assert ("group_role", 555) in kinds and ("role", MOD_ROLE) in kinds
    assert ("channel", MOD_LOG) in kinds and ("channel", QUEUE) in kinds


def test_server_refs_find_every_channel_and_role_in_the_settings():
    config = GuildConfig()
    config.core.moderator_roles = [1, 2]
    config.followup.autocheck_forums = {30: 7}
    config.linkhold.exempt_roles = [4]
    refs = {(r.setting, r.kind, r.id) for r in server_refs(config)}
    assert refs == {("core.moderator_roles", "role", 1), ("core.moderator_roles", "role", 2),
                    ("followup.autocheck_forums", "channel", 30),
                    ("linkhold.exempt_roles", "role", 4)}
