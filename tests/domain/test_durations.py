"""Parsing `when:` inputs: relative durations, absolute dates in the guild's zone, bounds."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.durations import (
    ACCEPTED_FORMS,
    MAX_DELAY,
    MIN_DELAY,
    DurationError,
    describe,
    parse_duration,
    parse_when,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m", timedelta(weeks=1, days=2, hours=3, minutes=4)),
        (" 1D 12H ", timedelta(days=1, hours=12)),
        ("1m", timedelta(minutes=1)),
    ],
)
def test_relative_durations(text, expected):
    assert parse_duration(text) == expected
    assert parse_when(text, NOW) == NOW + expected


@pytest.mark.parametrize(
    "text", ["", "   ", "soon", "3", "3x", "h", "12h1d", "1d1d", "-5m", "1.5h", "3 days",
             "2026-13-01 10:00", "2026-02-30 10:00", "2026-01-06 25:00", "2026-01-06"],
)
def test_unreadable_input_lists_the_accepted_forms(text):
    with pytest.raises(DurationError) as caught:
        parse_when(text, NOW)
    assert ACCEPTED_FORMS in str(caught.value)


@pytest.mark.parametrize("text", ["0m", "59s", "0d0h"])
def test_less_than_a_minute_is_refused(text):
    with pytest.raises(DurationError) as caught:
        parse_when(text, NOW)
    assert "`30m`" in str(caught.value)


def test_exactly_a_minute_and_exactly_a_year_are_accepted():
    assert parse_when("1m", NOW) == NOW + MIN_DELAY
    assert parse_when("365d", NOW) == NOW + MAX_DELAY
    with pytest.raises(DurationError, match="more than a year"):
        parse_when("366d", NOW)
    with pytest.raises(DurationError, match="more than a year"):
        parse_when("53w", NOW)


def test_absolute_dates_are_read_in_the_guild_time_zone():
    # 15:30 in New York in January is 20:30 UTC.
    assert parse_when("2026-01-10 15:30", NOW, "America/New_York") == datetime(
        2026, 1, 10, 20, 30, tzinfo=UTC)
    assert parse_when("2026-01-10 15:30", NOW, "UTC") == datetime(2026, 1, 10, 15, 30, tzinfo=UTC)
    assert parse_when("2026-01-10T15:30", NOW) == datetime(2026, 1, 10, 15, 30, tzinfo=UTC)


def test_absolute_dates_in_the_past_or_too_far_are_refused():
    with pytest.raises(DurationError, match="in the past"):
        parse_when("2025-12-31 10:00", NOW)
    with pytest.raises(DurationError, match="less than a minute"):
        parse_when("2026-01-05 09:01", NOW.replace(second=30))
    with pytest.raises(DurationError, match="more than a year"):
        parse_when("2027-06-01 10:00", NOW)


def test_a_wall_time_skipped_by_daylight_saving_is_refused():
    with pytest.raises(DurationError, match="doesn't exist"):
        parse_when("2026-03-29 01:30", NOW, "Europe/London")


def test_describe():
    assert describe(timedelta(days=3)) == "3 days"
    assert describe(timedelta(hours=2, minutes=30)) == "2 hours 30 minutes"
    assert describe(timedelta(minutes=1)) == "1 minute"
    assert describe(timedelta(seconds=5)) == "less than a minute"


units = st.fixed_dictionaries({
    "w": st.integers(0, 60), "d": st.integers(0, 400), "h": st.integers(0, 9000),
    "m": st.integers(0, 600000),
})


@given(units)
def test_any_well_formed_duration_is_parsed_exactly_or_refused_by_bounds(parts):
    text = "".join(f"{parts[u]}{u}" for u in "wdhm" if parts[u])
    expected = (timedelta(weeks=parts["w"], days=parts["d"], hours=parts["h"],
                          minutes=parts["m"]))
    if not text:
        with pytest.raises(DurationError):
            parse_when(text, NOW)
        return
    assert parse_duration(text) == expected
    if MIN_DELAY <= expected <= MAX_DELAY:
        assert parse_when(text, NOW) == NOW + expected
    else:
        with pytest.raises(DurationError):
            parse_when(text, NOW)


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes(text):
    try:
        when = parse_when(text, NOW, "Europe/Paris")
    except DurationError as exc:
        assert ACCEPTED_FORMS in str(exc)
    else:
        assert NOW + MIN_DELAY <= when <= NOW + MAX_DELAY
        assert when.tzinfo is not None


@given(st.datetimes(min_value=datetime(2026, 1, 6), max_value=datetime(2026, 12, 31)),
       st.sampled_from(["UTC", "Europe/London", "America/Los_Angeles", "Asia/Kolkata",
                        "Australia/Sydney"]))
def test_absolute_round_trip(local, tz_name):
    from zoneinfo import ZoneInfo

    local = local.replace(second=0, microsecond=0)
    text = local.strftime("%Y-%m-%d %H:%M")
    try:
        when = parse_when(text, NOW, tz_name)
    except DurationError as exc:
        # Only a daylight-saving gap may refuse an in-range date.
        assert "doesn't exist" in str(exc)
        return
    assert when.astimezone(ZoneInfo(tz_name)).replace(tzinfo=None) == local
