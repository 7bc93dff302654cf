"""The doctor's rules over facts: each misconfiguration gives one finding with its exact fix."""

from hypothesis import given
from hypothesis import strategies as st

from bot.db import Database, migrate
from bot.db.doctor import DoctorRepository
from bot.domain.doctor import (
    CHANNEL_NEEDS,
    MAX_LISTED,
    PERMISSION_LABELS,
    ChannelFacts,
    FeatureUse,
    Finding,
    GuildFacts,
    RoleFacts,
    Severity,
    check_channel,
    content_missing,
    diagnose,
    fingerprint,
    label,
    member_channel_needs,
)

ALL = frozenset(PERMISSION_LABELS)


def healthy(**changes) -> GuildFacts:
    base = dict(
        channels=(
            ChannelFacts("core.mod_log_channel", 1, True, "text", ALL),
            ChannelFacts("linkhold.queue_channel", 2, True, "text", ALL),
            ChannelFacts("welcome.channel", 3, True, "text", ALL),
            ChannelFacts("followup.autocheck_forums", 4, True, "forum", ALL),
        ),
        roles=(RoleFacts("core.moderator_roles", 10, True, 3),),
        group_roles=(RoleFacts("welcome.group_roles", 11, True, 2),),
        member_channels=(ChannelFacts("member", 5, True, "text", ALL),),
        bot_top_role_position=5,
        bot_guild_permissions=ALL,
    )
    base.update(changes)
    return GuildFacts(**base)


def codes(findings):
    return [(f.code, f.subject) for f in findings]


def test_a_healthy_guild_has_no_findings():
    assert diagnose(healthy()) == []


def test_a_deleted_channel_is_reported_with_the_setup_option_to_fix_it():
    facts = healthy(channels=(ChannelFacts("linkhold.queue_channel", 2, exists=False),))
    [finding] = diagnose(facts)
    assert finding.code == "channel.deleted" and finding.severity is Severity.PROBLEM
    assert "id 2" in finding.message
    assert "/steward setup queue_channel:" in finding.fix and "create_missing" in finding.fix


def test_a_missing_permission_names_exactly_what_is_missing_and_where():
    granted = ALL - {"embed_links", "attach_files"}
    [finding] = check_channel(ChannelFacts("linkhold.queue_channel", 2, True, "text", granted))
    assert finding.code == "channel.permission"
    assert "Embed Links, Attach Files" in finding.message and "<#2>" in finding.message
    assert "allow Embed Links, Attach Files" in finding.fix
    assert "Manage Messages" not in finding.message


def test_a_forum_configured_as_queue_is_the_wrong_kind():
    [finding] = check_channel(ChannelFacts("linkhold.queue_channel", 2, True, "forum", ALL))
    assert finding.code == "channel.kind" and "text" in finding.fix


def test_unknown_channel_settings_get_the_generic_need():
    assert check_channel(ChannelFacts("future.some_channel", 7, True, "text",
                                      frozenset({"view_channel", "send_messages"}))) == []
    [finding] = check_channel(ChannelFacts("future.some_channel", 7, True, "text",
                                           frozenset({"view_channel"})))
    assert "Send Messages" in finding.message


@given(st.sets(st.sampled_from(sorted(PERMISSION_LABELS))),
       st.sampled_from(sorted(CHANNEL_NEEDS)))
def test_the_missing_list_is_what_to_allow_to_make_the_channel_work(granted, setting):
    need = CHANNEL_NEEDS[setting]
    facts = ChannelFacts(setting, 9, True, need.kinds[0], frozenset(granted))
    findings = [f for f in check_channel(facts) if f.code == "channel.permission"]
    missing = [p for p in need.permissions if p not in granted]
    if "view_channel" in missing:
        missing = ["view_channel"]  # without it Discord grants nothing else: fix that first
    elif "send_messages" not in granted:
        missing = [p for p in missing if p not in ("embed_links", "attach_files")]
    if not missing:
        assert findings == []
    else:
        [finding] = findings
        assert finding.message.endswith(", ".join(label(p) for p in missing) + ".")


def test_a_channel_steward_cannot_see_only_asks_for_view_channel():
    [finding] = check_channel(ChannelFacts("linkhold.queue_channel", 2, True, "text",
                                           frozenset()))
    assert finding.message.endswith("missing: View Channel.")


def test_a_member_channel_is_not_reported_twice_when_it_is_also_configured():
    welcome = ChannelFacts("welcome.channel", 3, True, "text",
                           ALL - {"send_messages", "embed_links", "attach_files"})
    facts = healthy(channels=(welcome,), member_channels=(
        ChannelFacts("member", 3, True, "text", welcome.granted),))
    assert codes(diagnose(facts)) == [("channel.permission", "welcome.channel:3")]


def test_member_channels_lacking_a_permission_are_listed_once_and_capped():
    lacking = tuple(ChannelFacts("member", 100 + i, True, "text", ALL - {"manage_messages"})
                    for i in range(MAX_LISTED + 3))
    [finding] = diagnose(healthy(member_channels=lacking))
    assert (finding.code, finding.subject) == ("member_channels.permission", "manage_messages")
    assert f"{MAX_LISTED + 3} channel(s)" in finding.message and "and 3 more" in finding.message
    assert "<#100>" in finding.message and f"<#{100 + MAX_LISTED}>" not in finding.message


def test_member_channel_needs_follow_the_features():
    assert "manage_webhooks" in member_channel_needs(FeatureUse())
    assert "manage_webhooks" not in member_channel_needs(FeatureUse(repost_webhooks=False))
    assert "manage_messages" not in member_channel_needs(FeatureUse(linkhold=False))


def test_a_group_role_above_the_bot_is_a_hierarchy_problem():
    facts = healthy(group_roles=(RoleFacts("welcome.group_roles", 11, True, position=7),))
    [finding] = diagnose(facts)
    assert finding.code == "role.hierarchy" and "drag the Steward role above <@&11>" in finding.fix


def test_group_roles_need_manage_roles_and_must_not_be_managed():
    facts = healthy(bot_guild_permissions=ALL - {"manage_roles"},
                    group_roles=(RoleFacts("welcome.group_roles", 11, True, 1, managed=True),))
    assert codes(diagnose(facts)) == [("role.managed", "welcome.group_roles:11"),
                                      ("server.permission", "manage_roles")]


def test_without_group_roles_manage_roles_is_not_needed():
    assert diagnose(healthy(group_roles=(), bot_guild_permissions=ALL - {"manage_roles"})) == []


def test_a_deleted_moderator_role_is_reported():
    [finding] = diagnose(healthy(roles=(RoleFacts("core.moderator_roles", 10, False),)))
    assert finding.code == "role.deleted" and "/steward settings moderator_role:" in finding.fix


def test_missing_message_content_points_at_the_developer_portal():
    assert not content_missing(4) and content_missing(5)
    [finding] = diagnose(healthy(content_missing=True))
    assert finding.code == "gateway.message_content" and "MESSAGE CONTENT" in finding.fix


def test_missing_settings_problems_come_before_warnings():
    findings = diagnose(healthy(mod_log_configured=False, queue_configured=False))
    assert [f.severity for f in findings] == [Severity.PROBLEM, Severity.WARNING]
    assert not diagnose(healthy(queue_configured=False, features=FeatureUse(linkhold=False),
                                member_channels=()))


def test_probe_findings_are_included_and_deduplicated():
    stuck = Finding("queue.stuck", "linkhold", Severity.WARNING, "3 held posts waited 2 days.",
                    "Open the queue channel and decide them.")
    assert diagnose(healthy(extra=(stuck, stuck))) == [stuck]


def test_fingerprint_follows_what_was_found_not_the_wording():
    a = Finding("channel.deleted", "x:1", Severity.PROBLEM, "one wording", "fix")
    b = Finding("channel.deleted", "x:1", Severity.PROBLEM, "other wording", "fix")
    c = Finding("channel.deleted", "x:2", Severity.PROBLEM, "one wording", "fix")
    assert fingerprint([a]) == fingerprint([b]) != fingerprint([a, c])
    assert fingerprint([a, c]) == fingerprint([c, a])


async def test_the_repository_keeps_first_seen_and_reports_each_fingerprint_once(tmp_path):
    from datetime import UTC, datetime, timedelta

    db = await Database.open(tmp_path / "d.sqlite3")
    await migrate(db)
    repo = DoctorRepository(db)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    a = Finding("channel.deleted", "x:1", Severity.PROBLEM, "gone", "pick another")
    b = Finding("setting.missing", "core.mod_log_channel", Severity.WARNING, "none", "set it")
    await repo.save(1, [a, b], fingerprint([a, b]), t0)
    await repo.save(1, [a], fingerprint([a]), t0 + timedelta(hours=1))
    [recorded] = await repo.findings(1)
    assert recorded.finding == a and recorded.first_seen == t0
    assert recorded.last_seen == t0 + timedelta(hours=1)
    assert await repo.mark_reported(1, fingerprint([a]), t0) is True
    assert await repo.mark_reported(1, fingerprint([a]), t0) is False
    run = await repo.last_run(1)
    assert run is not None and run.reported_fingerprint == run.fingerprint
    assert await repo.last_run(2) is None and await repo.findings(2) == []
    await db.close()


def test_everyone_or_an_integration_role_with_steward_powers_is_a_problem():
    facts = healthy(roles=(RoleFacts("core.moderator_roles", 1, True, 0, everyone=True),
                           RoleFacts("linkhold.exempt_roles", 12, True, 4, managed=True)))
    everyone, managed = diagnose(facts)
    assert codes([everyone, managed]) == [("role.unusable_power", "core.moderator_roles:1"),
                                          ("role.unusable_power", "linkhold.exempt_roles:12")]
    assert everyone.severity is Severity.PROBLEM
    assert "every member counts as a moderator" in everyone.message
    assert "/steward settings moderator_role:" in everyone.fix
    assert "/linkhold unexempt role:" in managed.fix and "<@&12>" in managed.message


def test_every_finding_steward_reports_has_a_title_in_words():
    import ast
    from pathlib import Path

    from bot.domain import doctor as rules
    from bot.domain.doctor_titles import code_of_title, title_of
    from bot.i18n import speaking

    codes = set()
    for path in Path("bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Finding":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    codes.add(first.value)
                elif isinstance(first, ast.Name):
                    codes.add(getattr(rules, first.id))
    assert len(codes) > 20
    for code in codes:
        finding = rules.Finding(code, "x", rules.Severity.WARNING, "m", "f")
        assert title_of(finding) != "Something needs attention", code
        assert code_of_title(title_of(finding)) == code
    queue = rules.Finding("channel.permission", "linkhold.queue_channel:1",
                          rules.Severity.PROBLEM, "m", "f")
    assert title_of(queue) == "Permissions missing in the queue channel"
    assert code_of_title("Permissions missing in the queue channel") == "channel.permission"
    with speaking("es"):
        assert "channel" not in title_of(queue) and "." not in title_of(queue)
