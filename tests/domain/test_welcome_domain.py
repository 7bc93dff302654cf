"""Pure welcome rules: templates, keywords, role safety, bursts, paging, screening."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import welcome as w
from bot.domain.templates import TemplateError

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
VALUES = w.WelcomeValues("Hope", 120, "<#1>, <#2>", "<#9>", 3)


def group(gid, name="Colorectal Cancer", channel=100, keywords=(), role=None):
    return w.GroupFacts(gid, name, channel, "", tuple(keywords), role)


# --- templates


def test_default_templates_validate_and_render_warmly():
    for link_days in (None, 0, 1, 3):
        for has_groups in (True, False):
            template = w.default_template(link_days=link_days, has_groups=has_groups)
            w.validate_template(template)
            out = w.render_welcome(template, w.member_values(VALUES, "<@5>", "Sam"))
            assert out.startswith("Welcome to Hope, <@5>!")
            assert ("<#1>" in out) is has_groups
            assert ("first 1 day," in out) is (link_days == 1)
            assert ("first 3 days" in out) is (link_days == 3)
    burst = w.default_burst_template(link_days=3)
    w.validate_template(burst, burst=True)
    out = w.render_welcome(burst, w.burst_values(VALUES, ["<@1>", "<@2>"]))
    assert "<@1>, <@2>" in out


def test_unknown_placeholder_lists_the_valid_ones():
    with pytest.raises(TemplateError) as info:
        w.validate_template("Hi {user}")
    assert "{member}" in str(info.value) and "{link_days}" in str(info.value)
    with pytest.raises(TemplateError):
        w.validate_template("Hi {member}", burst=True)  # bursts use {members}


@given(st.text(max_size=400),
       st.text(max_size=60), st.text(max_size=60))
def test_arbitrary_templates_never_raise_unexpectedly_or_mass_ping(template, name, server):
    try:
        w.validate_template(template)
    except TemplateError:
        return
    values = w.member_values(w.WelcomeValues(server, 3, "<#1>", "<#2>", 3), "<@5>", name)
    out = w.render_welcome(template, values)
    assert "@everyone" not in out and "@here" not in out
    assert "<@&" not in out
    assert len(out) <= 2000


# --- keywords


def test_keywords_are_parsed_lowercased_and_deduplicated():
    assert w.parse_keywords(" Colon Cancer, colorectal,,COLORECTAL , bowel") == (
        "colon cancer", "colorectal", "bowel")
    with pytest.raises(ValueError, match="too short"):
        w.parse_keywords("a")
    with pytest.raises(ValueError, match="at most"):
        w.parse_keywords(",".join(f"word{i}" for i in range(30)))


def test_word_boundaries_colon_does_not_match_colonoscopy():
    matcher = w.KeywordMatcher([group(1, keywords=["colon"])])
    assert matcher.match("My colonoscopy is Tuesday") == []
    assert matcher.match("they found something in my COLON.") == [1]
    assert matcher.match("semicolon; colonel") == []


def test_colonoscopy_matches_when_listed():
    matcher = w.KeywordMatcher([group(1, keywords=["colon", "colonoscopy"])])
    assert matcher.match("My colonoscopy is Tuesday") == [1]
    assert matcher.match("two colonoscopies so far") == [1]


@pytest.mark.parametrize(("keyword", "text"), [
    ("tumor", "the tumors shrank"),
    ("tumors", "one tumor left"),
    ("ostomy", "life with ostomies"),
    ("ostomies", "my ostomy bag"),
    ("scan", "scans every three months"),
    ("case", "in some cases"),
    ("crohn's", "Crohn's disease flare"),
    ("crohns", "my crohn's is acting up"),
])
def test_plural_and_singular_match_either_way(keyword, text):
    matcher = w.KeywordMatcher([group(1, keywords=w.parse_keywords(keyword))])
    assert matcher.match(text) == [1]


def test_multi_word_keywords_and_overlaps_and_order():
    groups = [group(1, keywords=["colon cancer"]), group(2, name="Grief", keywords=["cancer"]),
              group(3, name="Breast", keywords=["breast cancer"])]
    matcher = w.KeywordMatcher(groups)
    assert matcher.match("colon   cancers are hard") == [1, 2]
    assert matcher.match("colon surgery") == []
    assert matcher.match("breast cancer") == [2, 3]
    assert not w.KeywordMatcher([group(1)])
    assert w.KeywordMatcher([group(1)]).match("anything") == []


@given(st.text(max_size=300))
def test_matcher_never_raises_and_only_names_known_groups(text):
    matcher = w.KeywordMatcher([group(1, keywords=["colon", "colon cancer"]),
                                group(2, keywords=["grief"])])
    assert set(matcher.match(text)) <= {1, 2}


# --- roles


SAFE = w.RoleFacts(id=5, position=3, permissions=0)


def check(role, bot=10, actor=8, owner=False):
    return w.group_role_problem(role, bot_top_position=bot, actor_top_position=actor,
                                actor_is_owner=owner)


def test_safe_role_is_accepted():
    assert check(SAFE) is None


@pytest.mark.parametrize(("role", "kwargs", "reason"), [
    (w.RoleFacts(5, 3, 0, managed=True), {}, "managed"),
    (w.RoleFacts(5, 3, 8), {}, "permissions"),
    (w.RoleFacts(5, 3, 1 << 13), {}, "permissions"),
    (w.RoleFacts(5, 10, 0), {}, "below my highest"),
    (w.RoleFacts(5, 12, 0), {}, "below my highest"),
    (w.RoleFacts(5, 8, 0), {}, "below your highest"),
    (w.RoleFacts(0, 0, 0, is_default=True), {}, "@everyone"),
])
def test_unsafe_roles_are_refused(role, kwargs, reason):
    problem = check(role, **kwargs)
    assert problem is not None and reason in problem


def test_owner_may_set_a_role_above_their_own_top_role_but_not_above_the_bot():
    assert check(w.RoleFacts(5, 8, 0), actor=1, owner=True) is None
    assert check(w.RoleFacts(5, 10, 0), actor=1, owner=True) is not None


def test_role_plan_adds_chosen_and_removes_unchosen_shown_only():
    groups = [group(1, role=11), group(2, role=12), group(3), group(4, role=14)]
    plan = w.plan_roles(groups, chosen=[1, 3], current_roles=[12, 14, 99], shown=[1, 2, 3])
    assert plan == w.RolePlan(add=(11,), remove=(12,))
    assert w.plan_roles(groups, [1, 2], [11, 12, 14]) == w.RolePlan((), (14,))
    shared = [group(1, role=11), group(2, role=11)]
    assert w.plan_roles(shared, [2], [11]) == w.RolePlan((), ())


def test_interests_name_groups_whose_role_the_member_has():
    groups = [group(1, role=11), group(2, name="Grief", channel=200, role=12)]
    mine = w.groups_with_roles(groups, [12])
    assert w.interest_lines(mine) == ["You picked **Grief**: the group meets in <#200>."]


# --- paging


def test_picker_pages_past_25_groups():
    groups = [group(i, name=f"G{i}", channel=i) for i in range(230)]
    assert w.page_count(0) == 1 and w.page_count(100) == 1 and w.page_count(101) == 2
    first = w.picker_page(groups, 0)
    assert first.count == 3 and [len(m) for m in first.menus] == [25, 25, 25, 25]
    last = w.picker_page(groups, 99)
    assert last.index == 2 and [len(m) for m in last.menus] == [25, 5]
    assert last.menus[0][0].id == 200
    assert w.picker_page([], 0).menus == ()


def test_directory_lines_shorten_long_lists():
    groups = [group(i, channel=10**17 + i) for i in range(200)]
    text = w.directory_lines(groups, limit=300)
    assert len(text) < 330 and text.endswith("more")
    assert w.directory_lines([]) == "(none yet)"


# --- joins


def test_join_actions():
    base = w.JoinFacts(is_bot=False, pending=False, did_rejoin=False, welcomed_before=False)
    assert w.join_action(base, enabled=True) == "greet"
    assert w.join_action(base, enabled=False) == "ignore"
    assert w.join_action(w.JoinFacts(True, False, False, False), enabled=True) == "ignore"
    assert w.join_action(w.JoinFacts(False, True, False, False), enabled=True) == "wait"
    assert w.join_action(w.JoinFacts(False, False, True, False), enabled=True) == "skip_rejoin"
    assert w.join_action(w.JoinFacts(False, True, False, True), enabled=True) == "skip_rejoin"
    onboarding = w.JoinFacts(False, False, False, False, onboarding_started=True)
    assert w.join_action(onboarding, enabled=True) == "wait"
    done = w.JoinFacts(False, False, False, False, True, onboarding_completed=True)
    assert w.join_action(done, enabled=True) == "greet"


def test_screening_completion():
    assert w.screening_done(was_pending=True, pending=False, onboarding_before=False,
                            onboarding_now=False)
    assert w.screening_done(was_pending=False, pending=False, onboarding_before=False,
                            onboarding_now=True)
    assert not w.screening_done(was_pending=True, pending=True, onboarding_before=True,
                                onboarding_now=True)
    assert w.screening_deadline(T0, 10) == T0 + timedelta(minutes=10)


def test_lone_joins_are_greeted_at_once():
    tracker = w.BurstTracker(5, timedelta(seconds=10))
    for minute in range(10):
        assert tracker.record(T0 + timedelta(minutes=minute)).now


def test_burst_coalesces_after_threshold_then_recovers():
    tracker = w.BurstTracker(5, timedelta(seconds=10))
    decisions = [tracker.record(T0 + timedelta(seconds=i * 0.5)) for i in range(12)]
    assert [d.now for d in decisions[:5]] == [True] * 5
    flushes = {d.flush_at for d in decisions[5:]}
    assert flushes == {T0 + timedelta(seconds=2.5 + 10)}
    # joins keep coming after the window: a new batch, not single greetings
    late = tracker.record(T0 + timedelta(seconds=12.6))
    assert not late.now and late.flush_at == T0 + timedelta(seconds=22.6)
    # a quiet period later: greeted at once again
    assert tracker.record(T0 + timedelta(minutes=5)).now


def test_mentions_are_chunked_by_twenty():
    chunks = w.chunk_mentions(list(range(45)))
    assert [len(c) for c in chunks] == [20, 20, 5]
    assert w.chunk_mentions([]) == []


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=200),
       st.integers(min_value=1, max_value=10), st.integers(min_value=1, max_value=30))
def test_burst_tracker_never_greets_more_than_threshold_singly_per_window(offsets, threshold,
                                                                          window_s):
    window = timedelta(seconds=window_s)
    tracker = w.BurstTracker(threshold, window)
    singles = []
    for offset in sorted(offsets):
        now = T0 + timedelta(seconds=offset)
        decision = tracker.record(now)
        if decision.now:
            singles.append(now)
        else:
            assert now < decision.flush_at <= now + window
    for i, start in enumerate(singles):
        assert sum(1 for t in singles[i:] if t < start + window) <= threshold


# --- catching up on joins missed while offline


def test_catchup_first_start_greets_nobody():
    joins = [(1, T0 - timedelta(minutes=5))]
    assert w.plan_catchup(joins, last_seen=None, now=T0) == w.CatchupPlan((), 0, 0)


def test_catchup_greets_joins_after_last_seen_oldest_first():
    seen = T0 - timedelta(hours=2)
    joins = [(3, T0 - timedelta(minutes=1)), (1, seen - timedelta(seconds=1)), (2, seen),
             (4, T0 - timedelta(hours=1))]
    plan = w.plan_catchup(joins, last_seen=seen, now=T0)
    assert plan == w.CatchupPlan((4, 3), 0, 0)  # joined at or before last seen: not missed


def test_catchup_is_bounded_by_age_and_count():
    seen = T0 - timedelta(days=3)
    old = [(i, T0 - timedelta(hours=25, minutes=i)) for i in range(1, 4)]
    recent = [(100 + i, T0 - timedelta(minutes=60 - i)) for i in range(55)]
    plan = w.plan_catchup(old + recent, last_seen=seen, now=T0)
    assert plan.greet == tuple(m for m, _ in recent[5:])  # the newest 50
    assert (plan.too_old, plan.over_cap, plan.not_greeted) == (3, 5, 8)
    assert w.plan_catchup(recent, last_seen=seen, now=T0, max_members=0).over_cap == 55


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(-3000, 60)), unique_by=lambda j: j[0],
                max_size=120),
       st.integers(-3000, 0), st.integers(0, 80))
def test_catchup_plan_properties(raw, seen_minutes, cap):
    joins = [(m, T0 + timedelta(minutes=d)) for m, d in raw]
    seen = T0 + timedelta(minutes=seen_minutes)
    plan = w.plan_catchup(joins, last_seen=seen, now=T0, max_members=cap)
    when = dict(joins)
    assert len(plan.greet) <= cap and len(set(plan.greet)) == len(plan.greet)
    assert all(seen < when[m] and when[m] >= T0 - w.CATCHUP_MAX_AGE for m in plan.greet)
    missed = sum(1 for _, t in joins if t > seen)
    assert len(plan.greet) + plan.not_greeted == missed
