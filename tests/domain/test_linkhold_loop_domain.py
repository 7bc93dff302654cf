"""The held-post loop in words: when to expect a decision, how long a notice stays, the way
back after a rejection (the member's own words, where to ask)."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.holds import (
    DEFAULT_HELD_DM,
    DEFAULT_HELD_NOTICE,
    DEFAULT_REJECTED_DM,
    HELD_NAMES,
    TEMPLATE_NAMES,
    ask_phrase,
    decision_eta,
    describe_duration,
    expect_phrase,
    render_values,
    words_back,
)
from bot.domain.templates import render, validate
from config.guild import LinkHoldSettings

H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_no_history_or_too_little_gives_no_estimate():
    assert decision_eta([]) is None
    assert decision_eta([2 * H, 2 * H]) is None  # fewer than three decisions
    assert decision_eta([2 * H], minimum=1) == "usually within 2 hours"


@pytest.mark.parametrize(("waits", "words"), [
    ([10 * M, 12 * M, 14 * M], "usually within 15 minutes"),
    ([20 * M, 25 * M, 29 * M], "usually within half an hour"),
    ([40 * M, 50 * M, 55 * M], "usually within an hour"),
    ([2 * H, 150 * M, 3 * H], "usually within 3 hours"),  # 2.5 h rounds *up*, never down
    ([5 * H, 5 * H, 5 * H, 1 * M], "usually within 6 hours"),  # median of four: 5 h
    ([13 * H, 20 * H, 23 * H], "usually within a day"),
    ([30 * H, 40 * H, 47 * H], "usually within 2 days"),
    ([4 * 24 * H] * 3, "usually within a week"),
])
def test_the_median_is_rounded_up_to_a_kind_step(waits, words):
    assert decision_eta(waits) == words


def test_one_forgotten_post_does_not_move_the_promise():
    waits = [1 * H, 90 * M, 2 * H, 2 * H, 30 * 24 * H]  # one waited a month
    assert decision_eta(waits) == "usually within 2 hours"


def test_no_promise_when_decisions_take_longer_than_a_week():
    assert decision_eta([8 * 24 * H] * 5) is None


def test_negative_waits_from_clock_skew_are_ignored():
    assert decision_eta([-H, -H, 2 * H, 2 * H, 2 * H]) == "usually within 2 hours"


@given(st.lists(st.integers(min_value=0, max_value=7 * 24 * 3600), min_size=3, max_size=40))
def test_the_promise_is_never_shorter_than_the_median(seconds):
    waits = sorted(timedelta(seconds=s) for s in seconds)
    words = decision_eta(waits)
    assert words is not None and words.startswith("usually within ")


def test_expect_phrase_keeps_the_generic_wording_without_history():
    assert expect_phrase(None) == "a moderator will review your post and may post it for you"
    assert "(usually within 3 hours here)" in expect_phrase("usually within 3 hours")


def test_held_messages_say_when_to_expect_a_decision_and_how_long_the_notice_stays():
    values = render_values("Anna", "Hope", "#general", "in 2 days", ["youtu.be"],
                           eta="usually within 3 hours", lasts=timedelta(minutes=2))
    for template in (DEFAULT_HELD_DM, DEFAULT_HELD_NOTICE):
        validate(template, HELD_NAMES)
        text = render(template, values)
        assert "usually within 3 hours" in text and len(text) <= 2000
    notice = render(DEFAULT_HELD_NOTICE, values)
    assert "disappears in 2 minutes" in notice and "30 seconds" not in notice
    generic = render(DEFAULT_HELD_DM, render_values("Anna", "Hope", "#g", "soon", []))
    assert "Until then a moderator will review your post and may post it for you." in generic


def test_the_default_notice_stays_two_minutes_and_servers_can_change_it():
    assert LinkHoldSettings().notice_seconds == 120
    assert LinkHoldSettings(notice_seconds=300).notice_seconds == 300
    with pytest.raises(ValueError):
        LinkHoldSettings(notice_seconds=0)
    assert describe_duration(timedelta(seconds=120)) == "2 minutes"
    assert describe_duration(timedelta(seconds=60)) == "1 minute"
    assert describe_duration(timedelta(seconds=45)) == "45 seconds"


def test_rejection_wording_says_where_to_ask():
    validate(DEFAULT_REJECTED_DM, TEMPLATE_NAMES["rejected_template"])
    with_channel = render(DEFAULT_REJECTED_DM, {"member": "Anna", "server": "Hope",
                                                "reason": "", "ask": ask_phrase(55)})
    assert "<#55>" in with_channel and "decided not to share it" in with_channel
    without = ask_phrase(None)
    assert "moderators" in without and "<#" not in without
    # A saved template may use {ask}; an unknown name is still refused.
    LinkHoldSettings(rejected_template="Sorry {member}. {ask}")
    with pytest.raises(ValueError):
        LinkHoldSettings(rejected_template="Sorry {member}. {words}")


def test_words_back_returns_everything_unclickable_in_dm_sized_pieces():
    assert words_back(None) == [] and words_back("   ") == []
    (one,) = words_back("My story https://bit.ly/x ```sneaky```", "Title here")
    assert one.startswith("```\nTitle here\nMy story https://bit.ly/x")
    assert one.count("```") == 2  # the member's backticks can't close the block
    long = "\n".join(f"line {i} " + "word " * 30 for i in range(60))
    pieces = words_back(long)
    assert len(pieces) > 1 and all(len(p) <= 1900 for p in pieces)
    rebuilt = "\n".join(p.removeprefix("```\n").removesuffix("\n```") for p in pieces)
    assert rebuilt == long  # nothing lost


@given(st.text(min_size=1, max_size=5000).filter(lambda t: t.strip()))
def test_words_back_never_loses_or_overflows(text):
    pieces = words_back(text)
    assert pieces and all(len(p) <= 1900 for p in pieces)
    joined = "".join(p.removeprefix("```\n").removesuffix("\n```") for p in pieces)
    assert joined.replace("\n", "") == text.replace("```", "ˋˋˋ").replace("\n", "")
