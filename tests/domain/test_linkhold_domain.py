"""Pure link-hold rules: who is new, who is exempt, allowlists, wording, duplicate keys."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.holds import (
    DEFAULT_HELD_DM,
    DEFAULT_HELD_NOTICE,
    HELD_NAMES,
    HoldPolicy,
    MemberFacts,
    clearance,
    code_span,
    describe_clearance,
    describe_wait,
    duplicate_key,
    exemption,
    is_new_member,
    judge,
    links_to_hold,
    needs_check,
    render_values,
    snowflake_at,
    snowflake_time,
)
from bot.domain.links import find_links
from bot.domain.templates import render, validate
from config.guild import LinkHoldSettings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD_ACCOUNT = NOW - timedelta(days=900)


def facts(joined_days_ago: float | None = 1, **kw) -> MemberFacts:
    joined = None if joined_days_ago is None else NOW - timedelta(days=joined_days_ago)
    kw.setdefault("account_created_at", OLD_ACCOUNT)
    return MemberFacts(member_id=42, joined_at=joined, **kw)


POLICY = HoldPolicy()


@pytest.mark.parametrize(("days", "new"), [(0, True), (2.99, True), (3, False), (30, False)])
def test_new_means_joined_less_than_hold_days_ago(days, new):
    assert is_new_member(facts(days), NOW, POLICY) is new


def test_hold_days_zero_holds_nobody_by_join_date():
    assert not is_new_member(facts(0), NOW, HoldPolicy(hold_days=0))


def test_unknown_join_date_counts_as_new():
    assert is_new_member(facts(None), NOW, POLICY)


def test_min_posts_keeps_an_old_member_new_until_enough_accepted_posts():
    policy = HoldPolicy(min_posts=5)
    assert is_new_member(facts(100, accepted_posts=4), NOW, policy)
    assert not is_new_member(facts(100, accepted_posts=5), NOW, policy)


def test_young_accounts_are_new_when_configured():
    policy = HoldPolicy(min_account_age_days=30)
    young = facts(100, account_created_at=NOW - timedelta(days=10))
    assert is_new_member(young, NOW, policy)
    assert not is_new_member(young, NOW, POLICY)


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"is_bot": True}, "bot"),
        ({"is_owner": True}, "owner"),
        ({"can_manage_messages": True}, "moderator"),
        ({"role_ids": frozenset({77})}, "exempt role"),
        ({"trusted": True}, "trusted"),
        ({"role_ids": frozenset({78})}, None),
    ],
)
def test_exemptions(kw, why):
    policy = HoldPolicy(exempt_roles=frozenset({77}))
    assert exemption(facts(**kw), policy) == why
    verdict = judge(facts(**kw), find_links("see spam-pills.com now"), [1], NOW, policy)
    assert verdict.held is (why is None)


def test_ignored_channels_and_their_threads_pass():
    policy = HoldPolicy(ignored_channels=frozenset({500}))
    links = find_links("https://bit.ly/abc")
    assert not judge(facts(), links, [501, 500], NOW, policy).held
    assert judge(facts(), links, [501, 502], NOW, policy).held


def test_a_disabled_policy_holds_nothing():
    assert not judge(facts(), find_links("bit.ly/x"), [1], NOW, HoldPolicy(enabled=False)).held


def test_no_links_no_hold_and_the_verdict_keeps_the_links_and_reasons():
    assert not judge(facts(), find_links("I had chemo today."), [1], NOW, POLICY).held
    verdict = judge(facts(), find_links("watch youtu.be/abc please"), [1], NOW, POLICY)
    assert verdict.held and [link.domain for link in verdict.links] == ["youtu.be"]
    assert verdict.reasons == ("joined less than 3 days ago",)


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("https://www.mayoclinic.org/diseases", False),
        ("https://news.mayoclinic.org/x", False),
        ("https://mayoclinic.org.evil.net/x", True),
        ("https://evil-mayoclinic.org/x", True),
        ("https://notmayoclinic.org/x", True),
        ("https://mаyoclinic.org/x", True),  # Cyrillic а: a look-alike, never allowlisted
    ],
)
def test_allowlist_matches_subdomains_and_nothing_else(text, held):
    links = find_links(text)
    assert links, text
    assert bool(links_to_hold(links, ["mayoclinic.org"])) is held


def test_settings_become_a_policy():
    settings = LinkHoldSettings(hold_days=7, allowlist=["cancer.gov"], exempt_roles=[5],
                                ignored_channels=[6], min_posts=2)
    policy = HoldPolicy.from_settings(settings)
    assert policy.hold_days == 7 and policy.allowlist == ("cancer.gov",)
    assert policy.exempt_roles == {5} and policy.ignored_channels == {6} and policy.min_posts == 2


def test_clearance_is_computed_from_the_join_date():
    c = clearance(facts(1), NOW, POLICY)
    assert c.at == NOW + timedelta(days=2) and c.posts_needed == 0
    assert describe_clearance(c, NOW) == "in 2 days"


def test_clearance_takes_the_latest_condition_and_counts_posts():
    policy = HoldPolicy(min_account_age_days=10, min_posts=3)
    c = clearance(facts(1, account_created_at=NOW - timedelta(days=5), accepted_posts=1),
                  NOW, policy)
    assert c.at == NOW + timedelta(days=5) and c.posts_needed == 2
    assert describe_clearance(c, NOW) == "in 5 days and after 2 more posts here"


@pytest.mark.parametrize(
    ("delta", "phrase"),
    [
        (timedelta(0), "now"),
        (timedelta(minutes=20), "within the hour"),
        (timedelta(minutes=61), "in 2 hours"),
        (timedelta(hours=23), "in 23 hours"),
        (timedelta(hours=24), "tomorrow"),
        (timedelta(days=1, hours=1), "in 2 days"),
        (timedelta(days=2, hours=23), "in 3 days"),
    ],
)
def test_describe_wait(delta, phrase):
    assert describe_wait(NOW + delta, NOW) == phrase


@given(st.text(max_size=200))
def test_duplicate_key_ignores_case_and_spacing_but_not_the_member(text):
    assert duplicate_key(1, text) == duplicate_key(1, "  " + text + "\n ")
    assert duplicate_key(1, text) != duplicate_key(2, text)


def test_duplicate_key_examples():
    assert duplicate_key(1, "Buy  NOW bit.ly/x") == duplicate_key(1, "buy now\nbit.ly/x")
    assert duplicate_key(1, "ＢＵＹ now bit.ly/x") == duplicate_key(1, "buy now bit.ly/x")
    assert duplicate_key(1, "buy now bit.ly/x") != duplicate_key(1, "buy now bit.ly/y")


def test_default_wording_is_valid_and_kind():
    values = render_values("Anna", "Hope", "#general", "in 2 days", ["youtu.be"])
    for template in (DEFAULT_HELD_DM, DEFAULT_HELD_NOTICE):
        validate(template, HELD_NAMES)
        text = render(template, values)
        assert "in 2 days" in text and "moderator" in text and len(text) <= 2000
    assert "keep the community safe" in render(DEFAULT_HELD_DM, values)


@given(st.text(max_size=300))
def test_code_span_can_never_be_escaped_or_clicked(text):
    span = code_span(text)
    assert span.startswith("`") and span.endswith("`")
    assert "`" not in span[1:-1] and "\n" not in span


# --- the established-member fast path ---------------------------------------------------------


def test_needs_check_skips_only_established_members_and_guilds_without_holds():
    default = LinkHoldSettings()
    assert not needs_check(default, NOW - timedelta(days=3), NOW)
    assert needs_check(default, NOW - timedelta(days=3) + timedelta(seconds=1), NOW)
    assert needs_check(default, None, NOW)  # no join date: the full check decides
    veteran = NOW - timedelta(days=400)
    assert needs_check(LinkHoldSettings(min_posts=1), veteran, NOW)
    assert needs_check(LinkHoldSettings(min_account_age_days=5), veteran, NOW)
    assert not needs_check(LinkHoldSettings(enabled=False), None, NOW)


@given(joined_days=st.floats(0, 30), hold_days=st.integers(0, 30))
def test_needs_check_never_skips_a_post_the_policy_would_hold(joined_days, hold_days):
    settings = LinkHoldSettings(hold_days=hold_days)
    joined = NOW - timedelta(days=joined_days)
    facts = MemberFacts(member_id=1, joined_at=joined, account_created_at=OLD_ACCOUNT)
    verdict = judge(facts, find_links("see bit.ly/x"), [10], NOW,
                    HoldPolicy.from_settings(settings))
    if not needs_check(settings, joined, NOW):
        assert not verdict.held


def test_snowflakes_round_trip_to_the_millisecond():
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert snowflake_time(snowflake_at(when)) == when
    assert snowflake_at(when, high=True) - snowflake_at(when) == (1 << 22) - 1
    assert snowflake_time(175928847299117063) == datetime(2016, 4, 30, 11, 18, 25, 796000,
                                                          tzinfo=UTC)


def test_a_held_thread_name_loses_only_its_links_and_fits_discord():
    from bot.domain.holds import HELD_LINK_MARK, held_what, without_links

    assert without_links("Help at bit.ly/x and bit.ly/x now", ["bit.ly/x"]) == (
        f"Help at {HELD_LINK_MARK} and {HELD_LINK_MARK} now")
    assert without_links("bit.ly/x", ["bit.ly/x"]) == HELD_LINK_MARK
    assert without_links("a.io/b", ["a.io/b", "a.io"]) == HELD_LINK_MARK  # longest first
    long = "word " * 40 + "bit.ly/x"
    assert len(without_links(long, ["bit.ly/x"])) <= 100
    assert held_what("thread_name") == "new thread's name" and held_what("odd") == "post"


def test_a_rename_key_is_stable_for_the_same_words_and_differs_for_others():
    from bot.domain.holds import rename_key, snowflake_at, snowflake_time

    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    a, b = rename_key("see bit.ly/a", now), rename_key("see bit.ly/b", now)
    assert a == rename_key("see bit.ly/a", now) and a != b
    assert snowflake_at(now) <= a <= snowflake_at(now, high=True)
    assert snowflake_time(a) == snowflake_time(snowflake_at(now))
