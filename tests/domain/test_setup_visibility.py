"""The doctor's rule for moderators-only channels when no moderator role is set (pure)."""

from bot.domain.doctor import (
    MODERATORS_CANT_SEE,
    GuildFacts,
    Severity,
    StaffVisibility,
    diagnose,
)

QUEUE = StaffVisibility("linkhold.queue_channel", 2, unseen_by=(20,))
LOG = StaffVisibility("core.mod_log_channel", 1, unseen_by=(20, 21))


def hidden(findings):
    return [f for f in findings if f.code == MODERATORS_CANT_SEE]


def test_no_moderator_role_and_hidden_channels_is_one_warning_naming_roles_and_channels():
    [finding] = hidden(diagnose(GuildFacts(moderator_roles_configured=False,
                                           staff_visibility=(QUEUE, LOG))))
    assert finding.severity is Severity.WARNING
    assert finding.subject == "core.moderator_roles"
    for text in (finding.message, finding.fix):
        assert "<@&20>" in text and "<@&21>" in text and "<#1>" in text and "<#2>" in text
    assert "/steward setup moderator_role:" in finding.fix and "View Channel" in finding.fix


def test_configured_moderator_roles_that_cant_see_are_named_with_the_view_fix():
    [finding] = hidden(diagnose(GuildFacts(moderator_roles_configured=True,
                                           staff_visibility=(QUEUE, LOG))))
    assert finding.severity is Severity.WARNING
    assert "moderator roles" in finding.message and "<@&20>" in finding.message
    assert "View Channel" in finding.fix and "/steward setup" not in finding.fix


def test_configured_moderator_roles_that_can_see_need_no_warning():
    visible = (StaffVisibility("linkhold.queue_channel", 2), StaffVisibility(
        "core.mod_log_channel", 1))
    assert hidden(diagnose(GuildFacts(moderator_roles_configured=True,
                                      staff_visibility=visible))) == []


def test_nothing_to_say_when_every_manage_messages_role_can_see_or_there_is_none():
    visible = (StaffVisibility("linkhold.queue_channel", 2), StaffVisibility(
        "core.mod_log_channel", 1))
    assert hidden(diagnose(GuildFacts(moderator_roles_configured=False,
                                      staff_visibility=visible))) == []
    assert hidden(diagnose(GuildFacts(moderator_roles_configured=False))) == []


def test_one_channel_used_for_both_is_named_once():
    both = (StaffVisibility("linkhold.queue_channel", 5, (20,)),
            StaffVisibility("core.mod_log_channel", 5, (20,)))
    [finding] = hidden(diagnose(GuildFacts(moderator_roles_configured=False,
                                           staff_visibility=both)))
    assert finding.message.count("<#5>") == 1
