"""Issue 14's pure rules: the trusted role exempts from holds, the doctor's findings about the
trusted role and Steward's AutoMod rule, and the promotion moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.automod import promotion_due
from bot.domain.doctor import Severity, automod_findings
from bot.domain.holds import HoldPolicy, MemberFacts, exemption, judge
from bot.domain.links import find_links
from config.guild import LinkHoldSettings

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=400)

HEALTHY = {"automod_on": True, "trusted_role": 7, "role_exists": True, "role_position": 2,
           "role_managed": False, "bot_top_position": 5, "manage_roles": True,
           "manage_guild": True}


def test_the_trusted_role_exempts_a_new_member_from_bot_side_holds():
    policy = HoldPolicy.from_settings(LinkHoldSettings(trusted_role=7))
    newbie = MemberFacts(1, NOW - timedelta(hours=1), OLD, role_ids=frozenset({7}))
    assert exemption(newbie, policy) == "trusted"
    verdict = judge(newbie, find_links("https://spam.example/x"), [10], NOW, policy)
    assert not verdict.held
    without = MemberFacts(1, NOW - timedelta(hours=1), OLD, role_ids=frozenset({8}))
    assert judge(without, find_links("https://spam.example/x"), [10], NOW, policy).held
    assert exemption(without, HoldPolicy.from_settings(LinkHoldSettings())) is None


def test_a_healthy_setup_has_no_findings():
    assert automod_findings(**HEALTHY) == []


def test_a_trusted_role_above_steward_is_explained_with_the_fix():
    [finding] = automod_findings(**{**HEALTHY, "role_position": 5})
    assert finding.code == "trusted_role.hierarchy" and finding.severity is Severity.PROBLEM
    assert "AutoMod keeps blocking" in finding.message and "drag the Steward role" in finding.fix


def test_missing_manage_roles_and_manage_server_each_explained():
    found = automod_findings(**{**HEALTHY, "manage_roles": False, "manage_guild": False})
    subjects = {f.subject: f for f in found}
    assert "Manage Roles" in subjects["manage_roles:trusted_role"].fix
    guild = subjects["manage_guild:automod"]
    assert "bot-side holds carry on" in guild.message and "Manage Server" in guild.fix
    # AutoMod off: Manage Server isn't needed for it.
    off = automod_findings(**{**HEALTHY, "automod_on": False, "manage_guild": False})
    assert off == []


def test_automod_without_a_trusted_role_warns_that_veterans_are_blocked_too():
    [finding] = automod_findings(**{**HEALTHY, "trusted_role": None, "role_exists": False})
    assert finding.severity is Severity.WARNING and "veterans too" in finding.message


def test_a_managed_role_and_a_refused_rule_and_overflow_are_reported():
    found = automod_findings(**{**HEALTHY, "role_managed": True, "rule_refused": "400 50035",
                                "truncated": ("3 ignored channels did not fit",)})
    assert {f.code for f in found} == {"trusted_role.managed", "automod.refused",
                                       "automod.limits"}


def test_promotion_due_is_the_end_of_the_hold_period_or_waits_for_posts():
    policy = HoldPolicy(hold_days=3, min_posts=0, min_account_age_days=30)
    joined = NOW - timedelta(days=1)
    assert promotion_due(joined, OLD, 0, policy, NOW) == joined + timedelta(days=3)
    young = NOW - timedelta(days=10)
    assert promotion_due(joined, young, 0, policy, NOW) == young + timedelta(days=30)
    assert promotion_due(None, OLD, 0, policy, NOW) is None
    posts = HoldPolicy(hold_days=3, min_posts=2)
    assert promotion_due(joined, OLD, 1, posts, NOW) is None
    assert promotion_due(NOW - timedelta(days=9), OLD, 2, posts, NOW) == NOW
