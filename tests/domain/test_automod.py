"""The AutoMod rule Steward owns: built within Discord's limits for any settings, patterns in
the regex syntax Rust and Python share, catching the corpus' obvious links; promotion time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.automod import (
    CUSTOM_MESSAGE,
    LINK_PATTERNS,
    MAX_ALLOW,
    MAX_ALLOW_LEN,
    MAX_CUSTOM_MESSAGE,
    MAX_EXEMPT_CHANNELS,
    MAX_EXEMPT_ROLES,
    MAX_NAME,
    MAX_PATTERN_LEN,
    MAX_PATTERNS,
    RULE_NAME,
    RuleFacts,
    build_rule,
    differs,
    foreign_syntax,
    is_owned,
    promotion_due,
    rule_payload,
)
from bot.domain.holds import HoldPolicy

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "links"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ids = st.integers(min_value=1, max_value=2**63 - 1)


def _blocks(text: str) -> bool:
    return any(re.search(p, text) for p in LINK_PATTERNS)


# ------------------------------------------------------------------ limits
def _assert_within_limits(payload: dict) -> None:
    meta = payload["trigger_metadata"]
    assert 1 <= len(payload["name"]) <= MAX_NAME
    assert payload["trigger_type"] == 1 and payload["event_type"] == 1
    assert len(meta["regex_patterns"]) <= MAX_PATTERNS
    assert all(len(p) <= MAX_PATTERN_LEN for p in meta["regex_patterns"])
    assert len(meta["allow_list"]) <= MAX_ALLOW
    assert all(0 < len(a) <= MAX_ALLOW_LEN for a in meta["allow_list"])
    assert len(meta["keyword_filter"]) == 0
    assert len(payload["exempt_roles"]) <= MAX_EXEMPT_ROLES
    assert len(payload["exempt_channels"]) <= MAX_EXEMPT_CHANNELS
    block = [a for a in payload["actions"] if a["type"] == 1]
    assert len(block) == 1
    assert len(block[0]["metadata"]["custom_message"]) <= MAX_CUSTOM_MESSAGE


@settings(max_examples=150, deadline=None)
@given(
    allowlist=st.lists(st.text(min_size=0, max_size=90), max_size=300),
    trusted=st.none() | ids,
    moderators=st.lists(ids, max_size=30),
    exempt=st.lists(ids, max_size=30),
    channels=st.lists(ids, max_size=120),
    queue=st.none() | ids,
)
def test_any_settings_give_a_payload_within_discords_limits(
        allowlist, trusted, moderators, exempt, channels, queue):
    spec = build_rule(RuleFacts(allowlist=allowlist, trusted_role_id=trusted,
                                moderator_role_ids=moderators, exempt_role_ids=exempt,
                                ignored_channel_ids=channels, queue_channel_id=queue))
    payload = rule_payload(spec)
    _assert_within_limits(payload)
    # nothing silently dropped: kept + reported overflow == everything asked for
    roles = {r for r in [trusted, *moderators, *exempt] if r}
    assert set(spec.exempt_roles) | set(spec.truncated.exempt_roles) == roles
    assert set(spec.exempt_channels) | set(spec.truncated.exempt_channels) == set(channels)
    wanted = {a.strip().lower() for a in allowlist if a.strip()}
    assert set(spec.allow_list) | set(spec.truncated.allow_list) == wanted
    assert bool(spec.truncated) == bool(spec.truncated.explain())
    alerts = [a for a in payload["actions"] if a["type"] == 2]
    assert [a["metadata"]["channel_id"] for a in alerts] == ([str(queue)] if queue else [])


def test_roles_order_and_overflow_is_explained():
    spec = build_rule(RuleFacts(trusted_role_id=7, moderator_role_ids=range(100, 115),
                                exempt_role_ids=[*range(200, 210), 7],
                                allowlist=[f"site{i}.org" for i in range(130)],
                                ignored_channel_ids=range(60)))
    assert spec.exempt_roles[0] == 7  # the trusted role never falls off the end
    assert len(spec.exempt_roles) == 20 and len(spec.truncated.exempt_roles) == 6
    assert len(spec.truncated.allow_list) == 30 and len(spec.truncated.exempt_channels) == 10
    text = " ".join(spec.truncated.explain())
    assert "30 allowlisted domains" in text and "becomes a hold" in text
    assert "6 roles" in text and "10 ignored channels" in text
    assert not build_rule(RuleFacts()).truncated


def test_custom_message_is_warm_and_short():
    assert len(CUSTOM_MESSAGE) <= MAX_CUSTOM_MESSAGE
    assert "links" in CUSTOM_MESSAGE and "moderator" in CUSTOM_MESSAGE


# ----------------------------------------------------------------- syncing
def test_differs_tracks_every_setting_and_ignores_discords_additions():
    spec = build_rule(RuleFacts(allowlist=["nhs.uk"], trusted_role_id=5, queue_channel_id=9))
    existing = {**rule_payload(spec), "id": "1", "guild_id": "2", "creator_id": "3"}
    existing["actions"] = list(reversed(existing["actions"]))  # order is not meaningful
    assert not differs(existing, spec)
    for changed in (RuleFacts(allowlist=["nhs.uk", "cancer.org"], trusted_role_id=5,
                              queue_channel_id=9),
                    RuleFacts(allowlist=["nhs.uk"], trusted_role_id=6, queue_channel_id=9),
                    RuleFacts(allowlist=["nhs.uk"], trusted_role_id=5, queue_channel_id=8),
                    RuleFacts(allowlist=["nhs.uk"], trusted_role_id=5, queue_channel_id=9,
                              enabled=False)):
        assert differs(existing, build_rule(changed))
    edited_by_admin = {**existing, "trigger_metadata": {
        **existing["trigger_metadata"], "regex_patterns": ["x"]}}
    assert differs(edited_by_admin, spec)


def test_only_its_own_rule_is_owned():
    assert is_owned({"name": RULE_NAME, "creator_id": "42"}, 42)
    assert not is_owned({"name": RULE_NAME, "creator_id": "41"}, 42)
    assert not is_owned({"name": "Block spam", "creator_id": "42"}, 42)


# ------------------------------------------------------------ regex syntax
@pytest.mark.parametrize("pattern", LINK_PATTERNS)
def test_every_pattern_compiles_and_stays_in_the_shared_syntax(pattern):
    re.compile(pattern)
    assert foreign_syntax(pattern) == []
    assert len(pattern) <= MAX_PATTERN_LEN


@pytest.mark.parametrize("pattern", [
    r"foo(?=bar)", r"(?!x)y", r"(?<=a)b", r"(?<!a)b", r"(a)\1", r"(?P<n>a)(?P=n)",
    r"(?>ab)", r"a*+", r"a++", r"a?+", r"a{2}+", r"x\Z", r"x\z", r"\Gx", r"\p{L}",
    r"a{,3}", r"[[:alpha:]]", r"[a-z&&[^aeiou]]", r"(?#note)x", r"(?(1)a|b)", r"(", r"\h",
    r"(?<name>x)",
])
def test_checker_refuses_what_rust_or_python_lacks(pattern):
    assert foreign_syntax(pattern)


@pytest.mark.parametrize("pattern", [
    r"(?i)https?://\S+", r"[a-z0-9-]{1,63}\.(?:com|net)\b", r"(?:^|[^\w@.-])x",
    r"\bwww\d{0,2}\.", r"[\]a]", r"\x41b", r"(?i:ab)c", r"(?P<host>[a-z]+)", r"a*?b",
])
def test_checker_accepts_the_shared_syntax(pattern):
    assert foreign_syntax(pattern) == []


# ------------------------------------------------------------- what they catch
@pytest.mark.parametrize("text", [
    "https://spam.example/x", "see HTTP://EVIL.COM", "h t t p s : / / evil.com",
    "hxxps[:]//evil.com", "www.curecancer.now", "discord.gg/free", "join .gg/abc",
    "discord.com/invite/abc", "45.77.12.9:8080", "172.16.0.1/admin", "bit.ly/abc",
    "bit . ly/abc", "herbal-cure.xyz", "evil[.]com", "evil (dot) com", "drx@gmail.com",
    "free meds at cheap-pills.ru today", "wa.me/15551234567", "free nitro discord.gift",
    "t.me", "youtu.be",
])
def test_obvious_links_are_blocked(text):
    assert _blocks(text)


@pytest.mark.parametrize("text", [
    "I'm fine.Now I rest", "B.Com grad", "sad.Fun times", "it was a dot com thing",
    "0.5mg twice a day", "version 1.2.3.4", "photo.heic", "dm me @heal.with.me",
    "pain is 7/10", "Mon.Wed.Fri", "and/or", "Ph.D. in nursing", "ASP.NET",
])
def test_ordinary_writing_is_not_blocked(text):
    assert not _blocks(text)


def _corpus() -> list[dict]:
    out = []
    for name in ("dev", "holdout"):
        with (CORPUS / f"{name}.jsonl").open(encoding="utf-8") as f:
            out += [json.loads(line) for line in f if line.strip()]
    return out


def test_corpus_obvious_links_are_caught_and_prose_is_not():
    cases = _corpus()
    obvious = ("scheme", "www", "invite", "ip", "markdown", "bare_path", "spaced_scheme",
               "lookalike_invite", "code")
    for case in cases:
        if case["label"] == "link" and case["category"] in obvious:
            assert _blocks(case["text"]), case["text"]
    clean = [c for c in cases if c["label"] == "none"]
    false_blocks = [c["text"] for c in clean if _blocks(c["text"])]
    assert len(false_blocks) <= len(clean) // 100, false_blocks
    links = [c for c in cases if c["label"] == "link"]
    assert sum(_blocks(c["text"]) for c in links) >= 0.8 * len(links)


# ---------------------------------------------------------------- promotion
def test_promotion_due_uses_the_hold_rule():
    policy = HoldPolicy(hold_days=3, min_account_age_days=30)
    joined = NOW - timedelta(days=1)
    old_account = NOW - timedelta(days=400)
    assert promotion_due(joined, old_account, 0, policy, NOW) == joined + timedelta(days=3)
    young = NOW - timedelta(days=10)
    assert promotion_due(joined, young, 0, policy, NOW) == young + timedelta(days=30)
    long_ago = NOW - timedelta(days=10)
    assert promotion_due(long_ago, old_account, 0, policy, NOW) == NOW  # already due


def test_promotion_waits_for_posts_and_a_known_join_date():
    policy = HoldPolicy(hold_days=3, min_posts=5)
    joined = NOW - timedelta(days=10)
    account = NOW - timedelta(days=400)
    assert promotion_due(joined, account, 4, policy, NOW) is None
    assert promotion_due(joined, account, 5, policy, NOW) == NOW
    assert promotion_due(None, account, 5, policy, NOW) is None


@pytest.mark.parametrize("text", [
    "https://www.nhs.uk/conditions", "HTTPS://NHS.UK/CONDITIONS", "www.nhs.uk",
    "see nhs.uk/x today", "nhs.uk", "h t t p s : / / nhs.uk",
])
def test_every_match_on_an_allowlisted_link_holds_the_domain(text):
    # an allow_list entry can only forgive a match whose text contains it
    found = [m.group(0) for p in LINK_PATTERNS for m in re.finditer(p, text)]
    assert found and all("nhs.uk" in f.lower() for f in found)


def test_facts_from_link_hold_settings():
    from config.guild import LinkHoldSettings

    settings_ = LinkHoldSettings(allowlist=["nhs.uk"], exempt_roles=[3], ignored_channels=[4],
                                 queue_channel=5, enabled=True)
    facts = RuleFacts.from_settings(settings_, moderator_role_ids=[2], trusted_role_id=1)
    spec = build_rule(facts)
    assert spec.exempt_roles == (1, 2, 3) and spec.exempt_channels == (4,)
    assert spec.allow_list == ("nhs.uk",) and spec.alert_channel_id == 5 and spec.enabled


def test_the_rule_name_and_block_message_fit_in_every_language_and_keep_the_prefix():
    from bot.domain.automod import RULE_PREFIX, is_steward_rule_name, rule_name
    from bot.i18n import PSEUDO, shipped, speaking, tr

    for language in (*shipped(), PSEUDO):
        with speaking(language):
            message, name = tr(CUSTOM_MESSAGE), rule_name()
        assert len(message) <= MAX_CUSTOM_MESSAGE, (language, len(message))
        assert name.startswith(RULE_PREFIX) and len(name) <= 100
        assert is_steward_rule_name(name)
        assert is_owned({"name": name, "creator_id": "42"}, 42)
    with speaking("es"):
        assert "enlaces" in tr(CUSTOM_MESSAGE) and "enlaces" in rule_name()
    assert not is_owned({"name": "New members' links", "creator_id": "42"}, 42)
